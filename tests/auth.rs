//! API keys end to end: 401 without or with a wrong key, 403 outside a key's
//! endpoints, and listings filtered per key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{THREE_ENDPOINTS, get, post_json, start_with_env};
use serde_json::json;

fn auth_config() -> String {
    format!(
        "{THREE_ENDPOINTS}auth:\n  keys:\n    - name: team-a\n      key: $TEAM_A_KEY\n      endpoints: [\"*\"]\n    - name: team-b\n      key_sha256: {}\n      endpoints: [embed]\n",
        sha256_hex("team-b-secret")
    )
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn chat() -> serde_json::Value {
    json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]})
}

async fn gateway() -> common::TestGateway {
    start_with_env(&auth_config(), |name| {
        (name == "TEAM_A_KEY").then(|| "team-a-secret".to_owned())
    })
    .await
}

#[tokio::test]
async fn a_missing_key_is_401_saying_how_to_send_one() {
    let gateway = gateway().await;
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], chat()).await;
    assert_eq!(reply.status, 401);
    let error = &reply.json()["error"];
    assert_eq!(error["type"], "authentication_error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    assert_eq!(gateway.upstream.request_count(), 0);
}

#[tokio::test]
async fn a_wrong_key_is_401_and_never_echoed() {
    let gateway = gateway().await;
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[("authorization", "Bearer not-a-real-key")],
        chat(),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert!(!reply.text().contains("not-a-real-key"));
}

#[tokio::test]
async fn bearer_and_x_api_key_both_work() {
    let gateway = gateway().await;
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[("authorization", "Bearer team-a-secret")],
        chat(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = post_json(
        &gateway.url("/v1/embeddings"),
        &[("x-api-key", "team-b-secret")],
        json!({"model": "embed", "input": "x"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn an_endpoint_outside_the_keys_list_is_403() {
    let gateway = gateway().await;
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[("x-api-key", "team-b-secret")],
        chat(),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"]["type"], "permission_error");
    assert!(reply.text().contains("team-b"));
}

#[tokio::test]
async fn models_are_filtered_per_key_and_health_needs_no_key() {
    let gateway = gateway().await;
    let reply = get(
        &gateway.url("/v1/models"),
        &[("x-api-key", "team-b-secret")],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"].as_array().unwrap().len(), 1);
    assert_eq!(reply.json()["data"][0]["id"], "embed");

    assert_eq!(get(&gateway.url("/v1/models"), &[]).await.status, 401);
    assert_eq!(get(&gateway.url("/health"), &[]).await.status, 200);
}
