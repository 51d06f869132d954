//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};
use towergate_core::{
    ChunkStream, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatChunk, ToolCallDelta},
};
use towergate_providers::{BoxProvider, HttpClient, ProviderConfigError, from_mlflow};
use towergate_testkit::{Behavior, Fault, MockUpstream};

pub fn client() -> HttpClient {
    HttpClient::new().unwrap()
}

pub fn chat(body: Value) -> GatewayRequest {
    GatewayRequest::new(
        "my-endpoint",
        Operation::Chat(serde_json::from_value(body).unwrap()),
    )
}

pub fn completion(body: Value) -> GatewayRequest {
    GatewayRequest::new(
        "my-endpoint",
        Operation::Completion(serde_json::from_value(body).unwrap()),
    )
}

pub fn embeddings(body: Value) -> GatewayRequest {
    GatewayRequest::new(
        "my-endpoint",
        Operation::Embeddings(serde_json::from_value(body).unwrap()),
    )
}

/// A chat of one user message, `text`.
pub fn says(text: &str) -> GatewayRequest {
    chat(json!({"messages": [{"role": "user", "content": text}]}))
}

/// A streamed chat of one user message, `text`.
pub fn streams(text: &str) -> GatewayRequest {
    chat(json!({"messages": [{"role": "user", "content": text}], "stream": true}))
}

/// One call to (a clone of) `service`.
pub async fn call<S>(service: &S, request: GatewayRequest) -> Result<GatewayResponse, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    service.clone().oneshot(request).await
}

/// The error one call to `service` fails with.
pub async fn failure<S>(service: &S, request: GatewayRequest) -> GatewayError
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    call(service, request).await.unwrap_err()
}

/// Every chunk of the streamed answer to `request`, each a success.
pub async fn chunks_of<S>(service: &S, request: GatewayRequest) -> Vec<ChatChunk>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    let response = call(service, request).await.unwrap();
    drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// Every tool-call fragment `chunks` carry, in order.
pub fn tool_call_fragments(chunks: &[ChatChunk]) -> Vec<&ToolCallDelta> {
    chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .filter_map(|choice| choice.delta.tool_calls.as_ref())
        .flatten()
        .collect()
}

/// Streams "a b c d" from `service`, whose upstream breaks the stream: the
/// stream ends with a bad gateway (502) whose message holds each of
/// `fragments`. Returns what came before it.
pub async fn stream_ends_in_bad_gateway<S>(
    service: &S,
    fragments: &[&str],
) -> Vec<Result<ChatChunk, GatewayError>>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    let response = call(service, streams("a b c d")).await.unwrap();
    let mut items = drain(chat_stream(response)).await;
    let last = items.pop().unwrap().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::BadGateway);
    assert_eq!(last.status().as_u16(), 502);
    for fragment in fragments {
        assert!(last.message().contains(fragment), "{}", last.message());
    }
    items
}

/// The upstream fails with `status`, then refuses the key `service` sends:
/// both errors keep the upstream's status and message, `refused` for the
/// key. Returns the key's error.
pub async fn status_and_key_errors_survive<S>(
    upstream: &MockUpstream,
    service: &S,
    status: u16,
    refused: &str,
) -> GatewayError
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    upstream.set_behavior(Behavior::new().fault(Fault::Status(status)));
    let error = failure(service, says("x")).await;
    assert_eq!(error.status().as_u16(), status);
    assert_eq!(
        error.message(),
        format!("mock upstream fault: status {status}")
    );

    upstream.set_behavior(Behavior::new());
    upstream.require_key(Some("another-key"));
    let error = failure(service, says("x")).await;
    assert_eq!(error.status().as_u16(), 401);
    assert_eq!(error.message(), refused);
    error
}

/// The provider MLflow's block `{provider, model, config}` describes.
pub fn from_mlflow_block(provider: &str, model: &str, config: &Value) -> BoxProvider {
    from_mlflow(provider, model, config.as_object().unwrap(), &client()).unwrap()
}

/// Why MLflow's block `{provider, "m", config}` cannot be built.
pub fn mlflow_refusal(provider: &str, config: &Value) -> ProviderConfigError {
    from_mlflow(provider, "m", config.as_object().unwrap(), &client())
        .map(drop)
        .unwrap_err()
}

/// The answer to "hi" as a completion from MLflow's block.
pub async fn mlflow_completes(provider: &str, model: &str, config: &Value) -> GatewayResponse {
    let provider = from_mlflow_block(provider, model, config);
    call(&provider, completion(json!({"prompt": "hi"})))
        .await
        .unwrap()
}

pub async fn call_boxed(
    service: &BoxProvider,
    request: GatewayRequest,
) -> Result<GatewayResponse, GatewayError> {
    service.clone().oneshot(request).await
}

/// Every item of a stream, until it ends.
pub async fn drain<T>(mut stream: ChunkStream<T>) -> Vec<Result<T, GatewayError>> {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    items
}

pub fn chat_stream(response: GatewayResponse) -> ChunkStream<towergate_core::chat::ChatChunk> {
    match response.payload {
        Payload::ChatStream(stream) => stream,
        other => panic!("expected a chat stream, got {other:?}"),
    }
}

/// Polls `probe` until it holds, for up to five seconds.
pub async fn eventually(mut probe: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if probe() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    probe()
}

/// The complete chat answer of `response`.
pub fn answer(response: GatewayResponse) -> towergate_core::chat::ChatResponse {
    match response.payload {
        Payload::Chat(chat) => chat,
        other => panic!("expected a chat answer, got {other:?}"),
    }
}

/// The text content that `chunks` spell, in order.
pub fn text_of(chunks: &[towergate_core::chat::ChatChunk]) -> String {
    chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .filter_map(|choice| choice.delta.content.as_deref())
        .collect()
}

/// The arguments `fragments` spell, joined in order.
pub fn joined_arguments(fragments: &[&ToolCallDelta]) -> String {
    fragments
        .iter()
        .filter_map(|fragment| fragment.function.as_ref()?.arguments.as_deref())
        .collect()
}
