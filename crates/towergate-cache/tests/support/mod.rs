//! Helpers shared by the cache's tests.
#![allow(dead_code, unreachable_pub)]

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use http::{HeaderValue, header::CACHE_CONTROL};
use tower::ServiceExt;
use tower_service::Service;
use towergate_cache::{CacheLayer, Cached, MemoryCacheStore};
use towergate_core::{
    CacheVerdict, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatChunk, ChatRequest, ChatResponse},
};

/// A chat request asking `question`, streamed or not.
pub fn chat(question: &str, stream: bool) -> GatewayRequest {
    let chat: ChatRequest = serde_json::from_value(serde_json::json!({
        "model": "chat",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": question}
        ],
        "temperature": 0,
        "stream": stream,
    }))
    .unwrap();
    GatewayRequest::new("chat", Operation::Chat(chat))
}

/// `request` with a `Cache-Control` header.
pub fn with_cache_control(mut request: GatewayRequest, value: &'static str) -> GatewayRequest {
    request
        .headers
        .insert(CACHE_CONTROL, HeaderValue::from_static(value));
    request
}

/// A memory-cached service over `inner`, kept for ten minutes.
pub fn cached<S>(inner: S) -> Cached<S> {
    tower_layer::Layer::layer(&memory_cache(), inner)
}

/// A cache layer over a fresh memory store.
pub fn memory_cache() -> CacheLayer {
    CacheLayer::new(
        Arc::new(MemoryCacheStore::new(64 << 20)),
        Duration::from_secs(600),
    )
}

/// Calls `service` once with `request`.
pub async fn call<S>(service: &S, request: GatewayRequest) -> Result<GatewayResponse, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
{
    service.clone().oneshot(request).await
}

/// The complete chat answer of `response`.
pub fn complete(response: GatewayResponse) -> ChatResponse {
    match response.payload {
        Payload::Chat(chat) => chat,
        other => panic!("expected a complete chat answer, got {other:?}"),
    }
}

/// Every chunk of a streamed chat answer; panics on an error item.
pub async fn chunks(response: GatewayResponse) -> Vec<ChatChunk> {
    match response.payload {
        Payload::ChatStream(stream) => stream.map(|chunk| chunk.unwrap()).collect().await,
        other => panic!("expected a chat stream, got {other:?}"),
    }
}

/// The verdict of an answer.
pub fn verdict(response: &GatewayResponse) -> Option<CacheVerdict> {
    response.meta.cache
}

/// The text of a complete chat answer's first choice.
pub fn text(chat: &ChatResponse) -> String {
    chat.choices[0].message.text_content().unwrap_or_default()
}
