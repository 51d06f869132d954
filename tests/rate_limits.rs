//! Request and token limits end to end: a gateway on loopback in front of
//! the mock upstream, buckets in memory and in a real `redis-server`
//! shared by two gateway instances.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Reply, post_json, start};
use futures_util::future::join_all;
use serde_json::{Value, json};
use towergate_testkit::redis::RedisServer;

fn config(limits: &str, rest: &str) -> String {
    format!(
        r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config: {{openai_api_key: sk-upstream, openai_api_base: "{{upstream}}"}}
{limits}
{rest}
"#
    )
}

const AUTH: &str = "
auth:
  keys:
    - name: alice
      key: key-alice
      endpoints: ['*']
      limits: LIMITS
    - name: bob
      key: key-bob
      endpoints: ['*']
";

fn chat(reply: &str) -> Value {
    json!({"model": "chat", "max_tokens": 20,
           "messages": [{"role": "user", "content": "hi"}],
           "mock": {"reply": reply}})
}

/// Sends `attempts` chats at once, spread over `urls`, as `key`; answers
/// the admitted count and checks every refusal says why, with headers.
async fn admitted_under_contention(urls: &[String], key: Option<&str>, attempts: usize) -> usize {
    let auth = key.map(|key| format!("Bearer {key}"));
    let replies: Vec<Reply> = join_all((0..attempts).map(|index| {
        let url = urls[index % urls.len()].clone();
        let auth = auth.clone();
        async move {
            let headers: Vec<(&str, &str)> = auth
                .iter()
                .map(|auth| ("authorization", auth.as_str()))
                .collect();
            post_json(&url, &headers, chat("ok")).await
        }
    }))
    .await;
    let mut admitted = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            200 => admitted += 1,
            429 => {
                let error = &reply.json()["error"];
                assert_eq!(error["code"], "rate_limit_exceeded", "{}", reply.text());
                assert!(reply.header("retry-after").is_some());
                assert_eq!(reply.header("x-ratelimit-remaining-requests"), Some("0"));
            }
            status => panic!("unexpected {status}: {}", reply.text()),
        }
    }
    admitted
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_limit_admits_exactly_its_requests_under_200_concurrent() {
    // No auth: the endpoint's `limits` count for the endpoint.
    let yaml = config("    limits: {requests_per_day: 50}", "");
    let gateway = start(&yaml).await;
    let url = gateway.url("/v1/chat/completions");
    assert_eq!(admitted_under_contention(&[url], None, 200).await, 50);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_sharing_redis_admit_exactly_a_callers_limit_together() {
    let redis = RedisServer::start();
    let rest = format!(
        "{}\nstate: {{redis: '{}'}}\n",
        AUTH.replace("LIMITS", "{requests_per_day: 50}"),
        redis.url()
    );
    let yaml = config("", &rest);
    let (a, b) = (start(&yaml).await, start(&yaml).await);
    let urls = [a.url("/v1/chat/completions"), b.url("/v1/chat/completions")];
    assert_eq!(
        admitted_under_contention(&urls, Some("key-alice"), 200).await,
        50
    );
    // A third instance finds the bucket spent; another caller is not limited.
    let c = start(&yaml).await;
    let url = c.url("/v1/chat/completions");
    let refused = post_json(&url, &[("authorization", "Bearer key-alice")], chat("ok")).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    let other = post_json(&url, &[("authorization", "Bearer key-bob")], chat("ok")).await;
    assert_eq!(other.status, 200, "{}", other.text());
    assert_eq!(other.header("x-ratelimit-limit-requests"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn token_limits_reserve_the_worst_case_and_settle_what_was_used() {
    let rest = AUTH.replace("LIMITS", "{tokens_per_day: 1000}");
    let gateway = start(&config("", &rest)).await;
    let url = gateway.url("/v1/chat/completions");
    let alice = [("authorization", "Bearer key-alice")];

    let first = post_json(&url, &alice, chat("one two three")).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-ratelimit-limit-tokens"), Some("1000"));
    let remaining: u64 = first
        .header("x-ratelimit-remaining-tokens")
        .unwrap()
        .parse()
        .unwrap();
    let reserved = 1000 - remaining;
    assert!(reserved > 20, "the prompt plus max_tokens: {reserved}");
    let used: u64 = ["x-towergate-prompt-tokens", "x-towergate-completion-tokens"]
        .iter()
        .map(|name| first.header(name).unwrap().parse::<u64>().unwrap())
        .sum();

    // A stream the client reads to its end is settled too.
    let mut body = chat("a b c d");
    body["stream"] = true.into();
    body["stream_options"] = json!({"include_usage": true});
    let streamed = post_json(&url, &alice, body).await;
    assert_eq!(streamed.status, 200, "{}", streamed.text());
    let usage = streamed.chunks().pop().unwrap()["usage"].clone();
    let streamed_used = usage["total_tokens"].as_u64().unwrap();

    // The third request sees what the first two really used.
    let third = post_json(&url, &alice, chat("ok")).await;
    let left: u64 = third
        .header("x-ratelimit-remaining-tokens")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(left, 1000 - used - streamed_used - reserved);

    // More than the limit can ever hold is refused for good: no Retry-After.
    let mut huge = chat("ok");
    huge["max_tokens"] = 5000.into();
    let refused = post_json(&url, &alice, huge).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert!(refused.header("retry-after").is_none());
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.starts_with("Request too large for tokens per day (caller `alice`)"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_refusal_in_the_mlflow_front_carries_the_headers() {
    let yaml = config("    limits: {requests_per_minute: 1}", "");
    let gateway = start(&yaml).await;
    let url = gateway.url("/endpoints/chat/invocations");
    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
    let first = post_json(&url, &[], body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-ratelimit-reset-requests"), Some("1m0s"));
    let refused = post_json(&url, &[], body).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert_eq!(refused.header("x-ratelimit-remaining-requests"), Some("0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_is_down_fails_closed_with_503_or_open_as_configured() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    redis.stop();
    for (policy, expected) in [("closed", 503), ("open", 200)] {
        let rest = format!(
            "{}\nstate: {{redis: '{url}', on_redis_error: {policy}}}\n",
            AUTH.replace("LIMITS", "{requests_per_minute: 5}")
        );
        let gateway = start(&config("", &rest)).await;
        let reply = post_json(
            &gateway.url("/v1/chat/completions"),
            &[("authorization", "Bearer key-alice")],
            chat("ok"),
        )
        .await;
        assert_eq!(reply.status, expected, "{policy}: {}", reply.text());
    }
}
