//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tower::ServiceExt;
use towergate_core::{
    ChunkStream, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
};
use towergate_providers::{BoxProvider, HttpClient, openai::OpenAi};

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

pub async fn call(
    service: &OpenAi,
    request: GatewayRequest,
) -> Result<GatewayResponse, GatewayError> {
    service.clone().oneshot(request).await
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
