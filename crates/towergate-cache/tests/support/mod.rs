//! Helpers shared by the cache's tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::StreamExt;
use http::{HeaderValue, header::CACHE_CONTROL};
use tower::ServiceExt;
use tower_service::Service;
use towergate_cache::{CacheLayer, Cached, Embed, EmbedFuture, MemoryCacheStore};
use towergate_core::{
    CacheVerdict, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatChunk, ChatRequest, ChatResponse},
    completion::{CompletionChunk, CompletionRequest},
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

/// A chat request with its own system prompt and temperature.
pub fn chat_with(system: &str, question: &str, temperature: f64, stream: bool) -> GatewayRequest {
    let chat: ChatRequest = serde_json::from_value(serde_json::json!({
        "model": "chat",
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": question}
        ],
        "temperature": temperature,
        "stream": stream,
    }))
    .unwrap();
    GatewayRequest::new("chat", Operation::Chat(chat))
}

/// A text completion request for `prompt`, streamed or not.
pub fn completion(prompt: &str, stream: bool) -> GatewayRequest {
    let completion: CompletionRequest = serde_json::from_value(serde_json::json!({
        "model": "text",
        "prompt": prompt,
        "max_tokens": 32,
        "stream": stream,
    }))
    .unwrap();
    GatewayRequest::new("text", Operation::Completion(completion))
}

/// Every item of a streamed chat answer, errors included.
pub async fn items(response: GatewayResponse) -> Vec<Result<ChatChunk, GatewayError>> {
    match response.payload {
        Payload::ChatStream(stream) => stream.collect().await,
        other => panic!("expected a chat stream, got {other:?}"),
    }
}

/// Every chunk of a streamed completion; panics on an error item.
pub async fn completion_chunks(response: GatewayResponse) -> Vec<CompletionChunk> {
    match response.payload {
        Payload::CompletionStream(stream) => stream.map(|chunk| chunk.unwrap()).collect().await,
        other => panic!("expected a completion stream, got {other:?}"),
    }
}

/// The text of the first choice that `chunks` add up to.
pub fn streamed_text(chunks: &[ChatChunk]) -> String {
    text(&ChatResponse::from_chunks(chunks).expect("the chunks carry a choice"))
}

/// Words that say nothing about the question, left out by [`WordEmbedder`].
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "is", "are", "what", "tell", "me", "please", "how", "do", "i", "to",
];

/// The dimensions of a [`WordEmbedder`] vector.
pub const DIMENSIONS: usize = 256;

/// A deterministic embedder for tests: the bag of a text's lower-cased
/// words, stop words left out, each word counted in one of 256 dimensions
/// chosen by its FNV-1a hash. Texts with the same words (in any order, in
/// any case, with any punctuation) embed the same; texts with no word in
/// common are (barring a hash collision) orthogonal.
#[derive(Debug, Default)]
pub struct WordEmbedder {
    calls: AtomicUsize,
}

impl WordEmbedder {
    /// A shared embedder, and a handle on it to count calls.
    pub fn shared() -> Arc<WordEmbedder> {
        Arc::new(WordEmbedder::default())
    }

    /// How many texts it embedded.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The vector of `text`.
    pub fn vector(text: &str) -> Vec<f32> {
        let mut vector = vec![0.0; DIMENSIONS];
        let words = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|word| !word.is_empty())
            .map(str::to_lowercase)
            .filter(|word| !STOP_WORDS.contains(&word.as_str()));
        for word in words {
            let hash = word.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
            vector[(hash % DIMENSIONS as u64) as usize] += 1.0;
        }
        vector
    }
}

impl Embed for WordEmbedder {
    fn embed(&self, text: String) -> EmbedFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(WordEmbedder::vector(&text)) })
    }
}

/// A layer over `store` that also answers paraphrases, by `embedder`, at
/// `threshold`.
pub fn semantic_cache(
    store: Arc<dyn towergate_cache::CacheStore>,
    ttl: Duration,
    embedder: &Arc<WordEmbedder>,
    threshold: f32,
) -> CacheLayer {
    let embedder: Arc<dyn Embed> = Arc::clone(embedder) as Arc<dyn Embed>;
    CacheLayer::new(store, ttl).semantic(embedder, threshold)
}
