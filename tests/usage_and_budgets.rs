//! Usage, cost, budgets and context fitting end to end: a gateway on
//! loopback in front of the mock upstream, usage records in a JSON-lines
//! file, budgets in memory and in a real `redis-server`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{post_json, start, start_with_env};
use futures_util::future::join_all;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use towergate_testkit::redis::RedisServer;

/// One endpoint at a dollar per token, so that costs are whole dollars.
fn config(extra_endpoint: &str, rest: &str) -> String {
    format!(
        r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config: {{openai_api_key: sk-upstream, openai_api_base: "{{upstream}}"}}
    pricing: {{input_per_million: 1000000, output_per_million: 1000000}}
{extra_endpoint}
{rest}
"#
    )
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A chat the mock answers with `reply`: one prompt word and as many
/// completion tokens as `reply` has words.
fn chat(reply: &str) -> Value {
    json!({"model": "chat", "max_tokens": 5,
           "messages": [{"role": "user", "content": "hi"}],
           "mock": {"reply": reply}})
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_carry_usage_and_cost_and_every_request_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.jsonl");
    let yaml = config("", &format!("usage: {{jsonl: '{}'}}", usage.display()));
    let gateway = start(&yaml).await;
    let url = gateway.url("/v1/chat/completions");

    // A complete answer: usage and cost in headers.
    let reply = post_json(&url, &[], chat("one two three")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-towergate-prompt-tokens"), Some("1"));
    assert_eq!(reply.header("x-towergate-completion-tokens"), Some("3"));
    assert_eq!(reply.header("x-towergate-cost-usd"), Some("4.000000"));

    // A stream read to its end, with usage asked for.
    let mut body = chat("a b");
    body["stream"] = true.into();
    body["stream_options"] = json!({"include_usage": true});
    let reply = post_json(&url, &[], body).await;
    let last = reply.chunks().pop().unwrap();
    assert_eq!(last["usage"]["completion_tokens"], 2);

    // A stream the client drops after its first chunk.
    let mut body = chat("w1 w2 w3 w4 w5 w6 w7 w8");
    body["stream"] = true.into();
    body["mock"]["chunks"] = 8.into();
    body["mock"]["chunk_interval_ms"] = 200.into();
    let request = http::Request::post(&url)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            serde_json::to_vec(&body).unwrap(),
        )))
        .unwrap();
    let response = common::client().request(request).await.unwrap();
    let mut stream = response.into_body();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("w1") {
        let frame = stream.frame().await.unwrap().unwrap();
        seen.extend_from_slice(frame.data_ref().unwrap());
    }
    drop(stream);
    assert!(
        common::eventually(|| records(&usage).iter().any(|r| r["outcome"] == "dropped")).await,
        "the dropped stream is recorded: {:?}",
        records(&usage)
    );

    // An upstream error.
    let mut body = chat("x");
    body["mock"]["fault"] = "status:500".into();
    assert_eq!(post_json(&url, &[], body).await.status, 500);

    gateway.stop().await;
    let records = records(&usage);
    let outcomes: Vec<_> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 4, "{records:?}");
    for outcome in ["ok", "dropped", "error"] {
        assert!(outcomes.contains(&outcome), "{outcomes:?}");
    }
    let complete = &records[0];
    assert_eq!(complete["endpoint"], "chat");
    assert_eq!(complete["provider"], "openai");
    assert_eq!(complete["prompt_tokens"], 1);
    assert_eq!(complete["completion_tokens"], 3);
    assert_eq!(complete["cost_usd"], 4.0);
    assert_eq!(complete["usage_source"], "upstream");
    let streamed = records
        .iter()
        .find(|r| r["stream"] == true && r["outcome"] == "ok")
        .unwrap();
    assert_eq!(streamed["completion_tokens"], 2);
    assert_eq!(
        streamed["usage_source"], "upstream",
        "the gateway asked the upstream for usage"
    );
    let dropped = records.iter().find(|r| r["outcome"] == "dropped").unwrap();
    assert!(dropped["completion_tokens"].as_u64().unwrap() >= 1);
    assert_eq!(dropped["usage_source"], "counted");
    let failed = records.iter().find(|r| r["outcome"] == "error").unwrap();
    assert_eq!(failed["status"], 500);
    assert_eq!(failed["cost_usd"], 0.0);
}

const BUDGET_AUTH: &str = "
auth:
  keys:
    - {name: team-a, key: $TEAM_A_KEY, endpoints: ['*'], budget: {usd: BUDGET, period: month}}
    - {name: team-b, key: $TEAM_B_KEY, endpoints: ['*']}
";

fn env(name: &str) -> Option<String> {
    match name {
        "TEAM_A_KEY" => Some("key-a".into()),
        "TEAM_B_KEY" => Some("key-b".into()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spent_budget_refuses_with_429_budget_exceeded() {
    let yaml = config("", &BUDGET_AUTH.replace("BUDGET", "30"));
    let gateway = start_with_env(&yaml, env).await;
    let url = gateway.url("/v1/chat/completions");
    let key_a = [("authorization", "Bearer key-a")];
    // Each request reserves its worst case (prompt and max_tokens, at a
    // dollar a token) and settles at 4 dollars.
    let mut admitted = 0;
    let refusal = loop {
        let reply = post_json(&url, &key_a, chat("one two three")).await;
        if reply.status != 200 {
            break reply;
        }
        admitted += 1;
        assert!(admitted <= 7, "the budget never refused");
    };
    assert!((2..=7).contains(&admitted), "{admitted} admitted");
    assert_eq!(refusal.status, 429, "{}", refusal.text());
    let error = &refusal.json()["error"];
    assert_eq!(error["type"], "budget_exceeded");
    assert!(
        error["message"].as_str().unwrap().contains("team-a"),
        "{error}"
    );
    let wait: u64 = refusal.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 31 * 24 * 3600);

    // A caller without a budget is not held back.
    let reply = post_json(&url, &[("authorization", "Bearer key-b")], chat("x")).await;
    assert_eq!(reply.status, 200);
}

/// `n` concurrent requests as team-a to `urls` in turn; returns how many
/// were admitted and refused.
async fn burst(urls: &[String], n: usize) -> (usize, usize) {
    let replies = join_all((0..n).map(|i| {
        let url = urls[i % urls.len()].clone();
        async move { post_json(&url, &[("x-api-key", "key-a")], chat("one two three")).await }
    }))
    .await;
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 429 && r.json()["error"]["type"] == "budget_exceeded")
        .count();
    assert_eq!(
        admitted + refused,
        n,
        "every request is admitted or refused for the budget"
    );
    (admitted, refused)
}

/// Total cost of what was admitted, from the usage records.
fn spent(paths: &[&Path]) -> f64 {
    paths
        .iter()
        .flat_map(|path| records(path))
        .filter(|r| r["caller"] == "team-a")
        .map(|r| r["cost_usd"].as_f64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_never_overspend_a_budget_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.jsonl");
    let rest = format!(
        "{}\nusage: {{jsonl: '{}'}}\n",
        BUDGET_AUTH.replace("BUDGET", "100"),
        usage.display()
    );
    let gateway = start_with_env(&config("", &rest), env).await;
    let (admitted, refused) = burst(&[gateway.url("/v1/chat/completions")], 200).await;
    gateway.stop().await;
    assert!(
        admitted > 0 && refused > 0,
        "{admitted} admitted, {refused} refused"
    );
    let spent = spent(&[&usage]);
    assert_eq!(spent, 4.0 * admitted as f64);
    assert!(spent <= 100.0, "spent {spent} of a 100 dollar budget");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_sharing_redis_never_overspend_a_budget_together() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (usage_a, usage_b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let rest = |usage: &Path| {
        format!(
            "{}\nstate: {{redis: '{}'}}\nusage: {{jsonl: '{}'}}\n",
            BUDGET_AUTH.replace("BUDGET", "100"),
            redis.url(),
            usage.display()
        )
    };
    let first = start_with_env(&config("", &rest(&usage_a)), env).await;
    let second = start_with_env(&config("", &rest(&usage_b)), env).await;
    let urls = [
        first.url("/v1/chat/completions"),
        second.url("/v1/chat/completions"),
    ];
    let (admitted, refused) = burst(&urls, 200).await;
    first.stop().await;
    second.stop().await;
    assert!(
        admitted > 0 && refused > 0,
        "{admitted} admitted, {refused} refused"
    );
    let spent = spent(&[&usage_a, &usage_b]);
    assert_eq!(spent, 4.0 * admitted as f64);
    assert!(
        spent <= 100.0,
        "spent {spent} of a 100 dollar budget across two instances"
    );

    // The spend lives in Redis: a third instance sees the budget spent.
    let third = start_with_env(&config("", &rest(&dir.path().join("c.jsonl"))), env).await;
    let reply = post_json(
        &third.url("/v1/chat/completions"),
        &[("x-api-key", "key-a")],
        json!({"model": "chat", "max_tokens": 100,
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(reply.status, 429, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn long_chats_are_fitted_into_the_context_window() {
    let fitted = r#"
  - name: small
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config: {openai_api_key: sk-upstream, openai_api_base: "{upstream}"}
    context_window: 60
"#;
    let gateway = start(&config(fitted, "")).await;
    let url = gateway.url("/v1/chat/completions");
    let turn = |role: &str, n: usize| json!({"role": role, "content": format!("turn {n} says a few more words here")});
    let mut messages = vec![json!({"role": "system", "content": "Be brief."})];
    for n in 0..6 {
        messages.push(turn("user", n));
        messages.push(turn("assistant", n));
    }
    messages.push(json!({"role": "user", "content": "And now?"}));
    let reply = post_json(
        &url,
        &[],
        json!({"model": "small", "max_tokens": 10, "messages": messages}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = gateway.upstream.requests().pop().unwrap().body;
    let sent = sent["messages"].as_array().unwrap();
    assert!(sent.len() < messages.len(), "nothing was dropped");
    assert_eq!(sent[0]["content"], "Be brief.");
    assert_eq!(sent.last().unwrap()["content"], "And now?");

    // What cannot fit is refused, naming both sizes.
    let huge = "word ".repeat(200);
    let reply = post_json(
        &url,
        &[],
        json!({"model": "small", "max_tokens": 10,
               "messages": [{"role": "user", "content": huge}]}),
    )
    .await;
    assert_eq!(reply.status, 400);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("60"), "{message}");
    assert!(message.contains("max_tokens 10"), "{message}");
}
