//! Azure OpenAI and the OpenAI-compatible providers: URLs and auth headers.

#![allow(clippy::unwrap_used)]

mod common;

use common::{call, call_boxed, chat, client, embeddings};
use serde_json::{Map, Value, json};
use towergate_core::Payload;
use towergate_providers::{from_mlflow, openai::OpenAi};
use towergate_testkit::MockUpstream;

fn hello() -> Value {
    json!({"model": "e", "messages": [{"role": "user", "content": "hello"}]})
}

fn config(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn azure_uses_the_deployment_url_api_version_and_api_key() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("azure-key"));
    let azure = OpenAi::builder("gpt-4o")
        .api_base(format!("{}/", upstream.url()))
        .azure("my-deployment", "2024-06-01")
        .api_key("azure-key")
        .build(&client())
        .unwrap();

    let response = call(&azure, chat(hello())).await.unwrap();
    assert!(matches!(response.payload, Payload::Chat(_)));
    call(&azure, embeddings(json!({"input": "x"})))
        .await
        .unwrap();

    let requests = upstream.requests();
    let received = &requests[0];
    assert_eq!(
        received.path,
        "/openai/deployments/my-deployment/chat/completions"
    );
    assert_eq!(received.query.as_deref(), Some("api-version=2024-06-01"));
    assert_eq!(received.headers["api-key"], "azure-key");
    assert!(received.headers.get("authorization").is_none());
    assert_eq!(received.body["model"], "my-deployment");
    assert_eq!(
        requests[1].path,
        "/openai/deployments/my-deployment/embeddings"
    );
}

#[tokio::test]
async fn azure_ad_sends_a_bearer_token() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("entra-token"));
    let provider = from_mlflow(
        "openai",
        "gpt-4o",
        &config(json!({
            "openai_api_key": "entra-token",
            "openai_api_type": "AzureAD",
            "openai_api_base": upstream.url(),
            "openai_api_version": "2024-02-01",
            "openai_deployment_name": "dep-1"
        })),
        &client(),
    )
    .unwrap();

    call_boxed(&provider, chat(hello())).await.unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/openai/deployments/dep-1/chat/completions");
    assert_eq!(received.query.as_deref(), Some("api-version=2024-02-01"));
    assert_eq!(received.headers["authorization"], "Bearer entra-token");
    assert!(received.headers.get("api-key").is_none());
}

#[tokio::test]
async fn groq_with_an_api_base_override() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("gsk-1"));
    let groq = from_mlflow(
        "groq",
        "llama-3.1-8b-instant",
        &config(json!({"api_key": "gsk-1", "api_base": upstream.base_url()})),
        &client(),
    )
    .unwrap();

    let response = call_boxed(&groq, chat(hello())).await.unwrap();

    assert_eq!(response.meta.provider.as_deref(), Some("groq"));
    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/v1/chat/completions");
    assert_eq!(received.headers["authorization"], "Bearer gsk-1");
    assert_eq!(received.body["model"], "llama-3.1-8b-instant");
}

#[tokio::test]
async fn ollama_sends_no_key() {
    let upstream = MockUpstream::start().await;
    let ollama = from_mlflow(
        "ollama",
        "llama3.2",
        &config(json!({"api_base": upstream.base_url()})),
        &client(),
    )
    .unwrap();

    call_boxed(&ollama, chat(hello())).await.unwrap();

    assert!(
        upstream.requests()[0]
            .headers
            .get("authorization")
            .is_none()
    );
}

#[tokio::test]
async fn databricks_calls_the_workspace_serving_endpoints() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("dapi-1"));
    let databricks = from_mlflow(
        "databricks",
        "databricks-meta-llama-3-3-70b-instruct",
        &config(json!({"host": upstream.url(), "token": "dapi-1"})),
        &client(),
    )
    .unwrap();

    call_boxed(&databricks, chat(hello())).await.unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/serving-endpoints/chat/completions");
    assert_eq!(received.headers["authorization"], "Bearer dapi-1");
}

#[tokio::test]
async fn togetherai_uses_its_own_key_name() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("tg-1"));
    let together = from_mlflow(
        "togetherai",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        &config(json!({"togetherai_api_key": "tg-1", "api_base": upstream.base_url()})),
        &client(),
    )
    .unwrap();

    let response = call_boxed(&together, chat(hello())).await.unwrap();

    assert_eq!(response.meta.provider.as_deref(), Some("togetherai"));
}
