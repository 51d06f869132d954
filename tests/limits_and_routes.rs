//! MLflow's `limit` and `routes` end to end, over both fronts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::{post_json, start};
use serde_json::json;

fn endpoint(name: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    endpoint_type: llm/v1/chat\n    model:\n      provider: openai\n      name: {name}-model\n      config:\n        openai_api_key: sk-test\n        openai_api_base: {{upstream}}\n{extra}"
    )
}

fn chat(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_admits_exactly_its_calls_across_both_fronts() {
    let limit = "    limit:\n      renewal_period: day\n      calls: 30\n";
    let gateway = start(&format!("endpoints:\n{}", endpoint("chat", limit))).await;
    let openai = gateway.url("/v1/chat/completions");
    let mlflow = gateway.url("/endpoints/chat/invocations");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(200));
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let (openai, mlflow, barrier) = (openai.clone(), mlflow.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                if i % 2 == 0 {
                    post_json(&openai, &[], chat("chat")).await
                } else {
                    let body = json!({"messages": [{"role": "user", "content": "hi"}]});
                    post_json(&mlflow, &[], body).await
                }
            })
        })
        .collect();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let mut refusals = Vec::new();
    for task in tasks {
        let reply = task.await.unwrap();
        *statuses.entry(reply.status.as_u16()).or_default() += 1;
        if reply.status == 429 {
            refusals.push(reply);
        }
    }
    assert_eq!(statuses.get(&200), Some(&30), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&170), "{statuses:?}");
    assert_eq!(gateway.upstream.request_count(), 30);
    for reply in &refusals {
        let seconds: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&seconds));
        let body = reply.json();
        let message = body["error"]["message"]
            .as_str()
            .or_else(|| body["error"].as_str())
            .unwrap();
        assert_eq!(message, "Rate limit exceeded: 30 per 1 day");
    }
    // The MLflow front answers in MLflow's words: {"error": "..."}.
    assert!(refusals.iter().any(|r| r.json()["error"].is_string()));
    // The OpenAI front in OpenAI's: {"error": {"message", "type", ...}}.
    assert!(
        refusals
            .iter()
            .any(|r| r.json()["error"]["type"] == "rate_limit_exceeded")
    );
}

#[tokio::test]
async fn a_route_splits_traffic_and_names_the_endpoint_chosen() {
    let yaml = format!(
        "endpoints:\n{}{}routes:\n  - name: chat-split\n    task_type: llm/v1/chat\n    destinations:\n      - {{name: chat-a, traffic_percentage: 70}}\n      - {{name: chat-b, traffic_percentage: 30}}\n    routing_strategy: TRAFFIC_SPLIT\n",
        endpoint("chat-a", ""),
        endpoint("chat-b", "")
    );
    let gateway = start(&yaml).await;
    let mut chosen: HashMap<String, usize> = HashMap::new();
    for _ in 0..400 {
        let reply = post_json(
            &gateway.url("/v1/chat/completions"),
            &[],
            chat("chat-split"),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let endpoint = reply.header("x-towergate-endpoint").unwrap().to_owned();
        // The answer came from the endpoint the header names.
        assert_eq!(reply.json()["model"], format!("{endpoint}-model"));
        *chosen.entry(endpoint).or_default() += 1;
    }
    let to_a = chosen.get("chat-a").copied().unwrap_or(0);
    // 70% of 400 = 280, with room for 6 standard deviations (about 9 each).
    assert!((226..=334).contains(&to_a), "{chosen:?}");

    let reply = post_json(
        &gateway.url("/gateway/chat-split/invocations"),
        &[],
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply
            .header("x-towergate-endpoint")
            .unwrap()
            .starts_with("chat-")
    );
}
