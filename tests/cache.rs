//! Response caching end to end: a gateway on loopback in front of the mock
//! upstream, answers cached in memory and shared by two instances through a
//! real `redis-server`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{path::Path, time::Duration};

use common::{post_json, start};
use futures_util::future::join_all;
use serde_json::{Value, json};
use towergate_testkit::{Behavior, Fault, redis::RedisServer};

/// A chat endpoint on the mock upstream whose answers are kept `ttl`.
fn config(ttl: &str, rest: &str) -> String {
    format!(
        r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config: {{openai_api_key: sk-upstream, openai_api_base: "{{upstream}}"}}
    cache: {{ttl: {ttl}}}
  - name: uncached
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config: {{openai_api_key: sk-upstream, openai_api_base: "{{upstream}}"}}
{rest}
"#
    )
}

fn question(text: &str) -> Value {
    json!({"model": "chat", "temperature": 0,
           "messages": [{"role": "user", "content": text}]})
}

fn streamed(text: &str) -> Value {
    let mut body = question(text);
    body["stream"] = true.into();
    body
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn hit_miss_and_bypass_show_in_the_header_and_the_usage_record() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.jsonl");
    let gateway = start(&config(
        "10m",
        &format!("usage: {{jsonl: '{}'}}", usage.display()),
    ))
    .await;
    let url = gateway.url("/v1/chat/completions");

    let miss = post_json(&url, &[], question("Capital of France?")).await;
    assert_eq!(miss.status, 200, "{}", miss.text());
    assert_eq!(miss.header("x-towergate-cache"), Some("miss"));
    // Field order, whitespace and `user` do not matter.
    let reordered = json!({"messages": [{"content": "Capital of France?", "role": "user"}],
                           "user": "someone", "temperature": 0.0, "model": "chat"});
    let hit = post_json(&url, &[], reordered).await;
    assert_eq!(hit.header("x-towergate-cache"), Some("hit"));
    assert_eq!(hit.json(), miss.json(), "the cached answer, id and all");
    assert_eq!(
        hit.header("x-towergate-prompt-tokens"),
        miss.header("x-towergate-prompt-tokens")
    );
    assert_eq!(hit.header("x-towergate-cost-usd"), Some("0.000000"));
    assert_eq!(gateway.upstream.request_count(), 1);

    let bypass = post_json(
        &url,
        &[("cache-control", "no-store")],
        question("Capital of France?"),
    )
    .await;
    assert_eq!(bypass.header("x-towergate-cache"), Some("bypass"));
    assert_eq!(gateway.upstream.request_count(), 2);

    // An endpoint without `cache` has no verdict and always calls.
    let mut body = question("Capital of France?");
    body["model"] = "uncached".into();
    let plain = post_json(&url, &[], body.clone()).await;
    assert_eq!(plain.header("x-towergate-cache"), None);
    post_json(&url, &[], body).await;
    assert_eq!(gateway.upstream.request_count(), 4);

    // MLflow's front shares the cache.
    let mlflow = post_json(
        &gateway.url("/endpoints/chat/invocations"),
        &[],
        json!({"messages": [{"role": "user", "content": "Capital of France?"}], "temperature": 0}),
    )
    .await;
    assert_eq!(mlflow.status, 200, "{}", mlflow.text());
    assert_eq!(mlflow.header("x-towergate-cache"), Some("hit"));
    assert_eq!(gateway.upstream.request_count(), 4);

    gateway.stop().await;
    let verdicts: Vec<_> = records(&usage)
        .iter()
        .map(|record| (record["cache"].clone(), record["cost_usd"].as_f64()))
        .collect();
    assert_eq!(verdicts.len(), 6, "{verdicts:?}");
    assert_eq!(verdicts[0].0, "miss");
    assert_eq!(verdicts[1], (json!("hit"), Some(0.0)));
    assert_eq!(verdicts[2].0, "bypass");
    assert_eq!(verdicts[3].0, Value::Null);
    assert_eq!(verdicts[5].0, "hit");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_concurrent_identical_requests_make_one_upstream_call() {
    let gateway = start(&config("10m", "")).await;
    gateway
        .upstream
        .set_behavior(Behavior::new().latency(Duration::from_millis(300)));
    let url = gateway.url("/v1/chat/completions");
    let replies = join_all((0..100).map(|_| post_json(&url, &[], question("Same for all")))).await;
    assert!(replies.iter().all(|reply| reply.status == 200));
    assert_eq!(gateway.upstream.request_count(), 1);
    let misses = replies
        .iter()
        .filter(|reply| reply.header("x-towergate-cache") == Some("miss"))
        .count();
    assert_eq!(misses, 1);
    assert!(
        replies
            .iter()
            .all(|reply| reply.json() == replies[0].json())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_stream_equals_the_original_and_answers_complete_requests_too() {
    let gateway = start(&config("10m", "")).await;
    let url = gateway.url("/v1/chat/completions");
    let original = post_json(&url, &[], streamed("Tell me a story")).await;
    assert_eq!(original.header("x-towergate-cache"), Some("miss"));
    let replayed = post_json(&url, &[], streamed("Tell me a story")).await;
    assert_eq!(replayed.header("x-towergate-cache"), Some("hit"));
    assert_eq!(replayed.text(), original.text(), "byte for byte");
    assert!(replayed.chunks().len() > 2);

    let complete = post_json(&url, &[], question("Tell me a story")).await;
    assert_eq!(complete.header("x-towergate-cache"), Some("hit"));
    let streamed_text: String = original
        .chunks()
        .iter()
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        complete.json()["choices"][0]["message"]["content"],
        streamed_text.as_str()
    );
    assert_eq!(gateway.upstream.request_count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_and_truncated_streams_are_never_cached() {
    let gateway = start(&config("10m", "")).await;
    let url = gateway.url("/v1/chat/completions");

    gateway
        .upstream
        .set_behavior(Behavior::new().fault(Fault::Status(500)));
    let failed = post_json(&url, &[], question("Q")).await;
    assert_eq!(failed.status, 500);
    gateway.upstream.set_behavior(Behavior::new());
    let answered = post_json(&url, &[], question("Q")).await;
    assert_eq!(answered.status, 200);
    assert_eq!(answered.header("x-towergate-cache"), Some("miss"));
    assert_eq!(gateway.upstream.request_count(), 2);

    gateway
        .upstream
        .set_behavior(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 2 }));
    let cut = post_json(&url, &[], streamed("Stream me")).await;
    assert!(cut.text().contains("error"), "{}", cut.text());
    gateway.upstream.set_behavior(Behavior::new());
    let whole = post_json(&url, &[], streamed("Stream me")).await;
    assert_eq!(whole.header("x-towergate-cache"), Some("miss"));
    assert_eq!(whole.events().last().map(String::as_str), Some("[DONE]"));
    assert_eq!(gateway.upstream.request_count(), 4);
    let again = post_json(&url, &[], streamed("Stream me")).await;
    assert_eq!(again.header("x-towergate-cache"), Some("hit"));
    assert_eq!(gateway.upstream.request_count(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_expire_after_the_endpoints_ttl() {
    let gateway = start(&config("300ms", "")).await;
    let url = gateway.url("/v1/chat/completions");
    post_json(&url, &[], question("Q")).await;
    let hit = post_json(&url, &[], question("Q")).await;
    assert_eq!(hit.header("x-towergate-cache"), Some("hit"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let expired = post_json(&url, &[], question("Q")).await;
    assert_eq!(expired.header("x-towergate-cache"), Some("miss"));
    assert_eq!(gateway.upstream.request_count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_sharing_redis_share_answers() {
    let redis = RedisServer::start();
    let yaml = config("10m", &format!("state: {{redis: '{}'}}", redis.url()));
    let a = start(&yaml).await;
    // Both instances run one config: the same upstream (the model's server
    // is part of the cache's namespace).
    let b = start(&yaml.replace("{upstream}", &a.upstream.base_url())).await;

    let miss = post_json(&a.url("/v1/chat/completions"), &[], question("Shared?")).await;
    assert_eq!(miss.header("x-towergate-cache"), Some("miss"));
    let hit = post_json(&b.url("/v1/chat/completions"), &[], question("Shared?")).await;
    assert_eq!(hit.header("x-towergate-cache"), Some("hit"));
    assert_eq!(hit.json(), miss.json());

    let original = post_json(&b.url("/v1/chat/completions"), &[], streamed("Stream it")).await;
    assert_eq!(original.header("x-towergate-cache"), Some("miss"));
    let replayed = post_json(&a.url("/v1/chat/completions"), &[], streamed("Stream it")).await;
    assert_eq!(replayed.header("x-towergate-cache"), Some("hit"));
    assert_eq!(replayed.text(), original.text());

    // One upstream call per question, from whichever instance missed.
    assert_eq!(a.upstream.request_count(), 2);
    assert_eq!(b.upstream.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_store_can_stay_in_memory_beside_redis_state() {
    let redis = RedisServer::start();
    let yaml = config(
        "10m",
        &format!(
            "state: {{redis: '{}'}}\ncache: {{store: memory}}",
            redis.url()
        ),
    );
    let a = start(&yaml).await;
    let b = start(&yaml.replace("{upstream}", &a.upstream.base_url())).await;
    post_json(&a.url("/v1/chat/completions"), &[], question("Mine")).await;
    let other = post_json(&b.url("/v1/chat/completions"), &[], question("Mine")).await;
    assert_eq!(other.header("x-towergate-cache"), Some("miss"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hits_spend_no_tokens_of_a_token_limit() {
    // Each request reserves its prompt plus `max_tokens` (10); a miss then
    // spends what the answer used, a hit gives everything back.
    let yaml = config("10m", "").replace(
        "    cache: {ttl: 10m}\n",
        "    cache: {ttl: 10m}\n    limits: {tokens_per_minute: 100}\n",
    );
    let gateway = start(&yaml).await;
    let url = gateway.url("/v1/chat/completions");
    let mut body = question("Short question");
    body["max_tokens"] = 10.into();
    for attempt in 0..30 {
        let reply = post_json(&url, &[], body.clone()).await;
        assert_eq!(reply.status, 200, "request {attempt}: {}", reply.text());
    }
    assert_eq!(gateway.upstream.request_count(), 1);
    // Distinct questions miss, spend, and soon meet the limit.
    let mut refused = false;
    for attempt in 0..30 {
        let mut body = question(&format!("Question number {attempt}"));
        body["max_tokens"] = 10.into();
        if post_json(&url, &[], body).await.status == 429 {
            refused = true;
            break;
        }
    }
    assert!(refused, "misses spend tokens");
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_survive_a_reload_but_not_a_change_of_model() {
    let gateway = start(&config("10m", "")).await;
    let url = gateway.url("/v1/chat/completions");
    let yaml = |model: &str| {
        let yaml = config("10m", "")
            .replacen("name: gpt-4o-mini", &format!("name: {model}"), 1)
            .replace("{upstream}", &gateway.upstream.base_url());
        towergate::config::Config::from_str_with_env(&yaml, "test.yaml", |_| None).unwrap()
    };
    post_json(&url, &[], question("Q")).await;

    gateway.gateway.reload(&yaml("gpt-4o-mini")).unwrap();
    let kept = post_json(&url, &[], question("Q")).await;
    assert_eq!(kept.header("x-towergate-cache"), Some("hit"));

    // A rotated key is the same model: the answers stay.
    let rotated = config("10m", "")
        .replace("sk-upstream", "sk-rotated")
        .replace("{upstream}", &gateway.upstream.base_url());
    let rotated =
        towergate::config::Config::from_str_with_env(&rotated, "test.yaml", |_| None).unwrap();
    gateway.gateway.reload(&rotated).unwrap();
    let kept = post_json(&url, &[], question("Q")).await;
    assert_eq!(kept.header("x-towergate-cache"), Some("hit"));

    gateway.gateway.reload(&yaml("gpt-4.1-mini")).unwrap();
    let repointed = post_json(&url, &[], question("Q")).await;
    assert_eq!(repointed.header("x-towergate-cache"), Some("miss"));
    assert_eq!(repointed.json()["model"], "gpt-4.1-mini");
    assert_eq!(gateway.upstream.request_count(), 2);
}
