//! [`CachedAnswer`]: what the cache keeps of an answer, and how it answers
//! again, complete or as a stream.

use std::io;

use futures_util::stream;
use serde::{Deserialize, Serialize};
use towergate_core::{
    CacheVerdict, GatewayResponse, Operation, Payload, ResponseMeta, Usage,
    chat::{ChatChunk, ChatResponse},
    completion::{CompletionChunk, CompletionResponse},
    embeddings::EmbeddingsResponse,
};

/// The body of a cached answer, in the form it arrived.
///
/// A streamed answer is kept chunk by chunk, so that replaying it to a
/// streamed request gives the very chunks the first caller saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum CachedBody {
    /// A complete chat completion.
    Chat(ChatResponse),
    /// A finished chat stream.
    ChatStream(Vec<ChatChunk>),
    /// A complete text completion.
    Completion(CompletionResponse),
    /// A finished completion stream.
    CompletionStream(Vec<CompletionChunk>),
    /// Embeddings.
    Embeddings(EmbeddingsResponse),
}

/// A successful answer as the cache keeps it: its body and who gave it.
///
/// ```
/// use towergate_cache::{CachedAnswer, CachedBody};
/// use towergate_core::{CacheVerdict, Operation, Payload, chat::ChatRequest};
///
/// let response: towergate_core::chat::ChatResponse = serde_json::from_value(serde_json::json!({
///     "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
///     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"},
///                  "finish_reason": "stop"}]
/// })).unwrap();
/// let cached = CachedAnswer::new(CachedBody::Chat(response));
///
/// // A streamed request gets the same answer as chunks.
/// let request: ChatRequest = serde_json::from_str(
///     r#"{"messages":[{"role":"user","content":"Capital of France?"}],"stream":true}"#,
/// ).unwrap();
/// let replayed = cached.respond(&Operation::Chat(request)).unwrap();
/// assert!(matches!(replayed.payload, Payload::ChatStream(_)));
/// assert_eq!(replayed.meta.cache, Some(CacheVerdict::Hit));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedAnswer {
    /// The body.
    pub body: CachedBody,
    /// The provider that answered first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The upstream model that answered first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The endpoint that answered first (after a traffic split, the chosen one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The tokens the first answer used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

impl CachedAnswer {
    /// An answer with this body and nothing known about who gave it.
    pub fn new(body: CachedBody) -> CachedAnswer {
        CachedAnswer {
            body,
            provider: None,
            model: None,
            endpoint: None,
            usage: None,
        }
    }

    /// What the cache keeps of a complete answer; `None` for a stream or a
    /// listing.
    pub fn of_complete(response: &GatewayResponse) -> Option<CachedAnswer> {
        let body = match &response.payload {
            Payload::Chat(chat) => CachedBody::Chat(chat.clone()),
            Payload::Completion(completion) => CachedBody::Completion(completion.clone()),
            Payload::Embeddings(embeddings) => CachedBody::Embeddings(embeddings.clone()),
            Payload::ChatStream(_) | Payload::CompletionStream(_) | Payload::Endpoints(_) => {
                return None;
            }
        };
        Some(CachedAnswer::with_meta(body, &response.meta))
    }

    /// An answer with `body`, naming who gave it as `meta` does.
    pub fn with_meta(body: CachedBody, meta: &ResponseMeta) -> CachedAnswer {
        CachedAnswer {
            body,
            provider: meta.provider.clone(),
            model: meta.model.clone(),
            endpoint: meta.endpoint.clone(),
            usage: meta.usage.clone(),
        }
    }

    /// Answers `operation` from this answer, as a stream if it asks for one,
    /// with the verdict [`CacheVerdict::Hit`]; `None` when the operation is
    /// not the kind this answer is for.
    pub fn respond(&self, operation: &Operation) -> Option<GatewayResponse> {
        let payload = match (operation, &self.body) {
            (Operation::Chat(chat), body) if chat.is_stream() => {
                let chunks = match body {
                    CachedBody::ChatStream(chunks) => chunks.clone(),
                    CachedBody::Chat(response) => response.to_chunks(true),
                    _ => return None,
                };
                Payload::ChatStream(Box::pin(stream::iter(chunks.into_iter().map(Ok))))
            }
            (Operation::Chat(_), CachedBody::Chat(response)) => Payload::Chat(response.clone()),
            (Operation::Chat(_), CachedBody::ChatStream(chunks)) => {
                Payload::Chat(ChatResponse::from_chunks(chunks)?)
            }
            (Operation::Completion(completion), body) if completion.is_stream() => {
                let chunks = match body {
                    CachedBody::CompletionStream(chunks) => chunks.clone(),
                    CachedBody::Completion(response) => response.to_chunks(true),
                    _ => return None,
                };
                Payload::CompletionStream(Box::pin(stream::iter(chunks.into_iter().map(Ok))))
            }
            (Operation::Completion(_), CachedBody::Completion(response)) => {
                Payload::Completion(response.clone())
            }
            (Operation::Completion(_), CachedBody::CompletionStream(chunks)) => {
                Payload::Completion(CompletionResponse::from_chunks(chunks)?)
            }
            (Operation::Embeddings(_), CachedBody::Embeddings(embeddings)) => {
                Payload::Embeddings(embeddings.clone())
            }
            _ => return None,
        };
        let mut response = GatewayResponse::new(payload);
        response.meta.provider = self.provider.clone();
        response.meta.model = self.model.clone();
        response.meta.endpoint = self.endpoint.clone();
        response.meta.usage = self.usage.clone();
        response.meta.cache = Some(CacheVerdict::Hit);
        Some(response)
    }

    /// About how many bytes the answer takes: the length of its JSON.
    pub fn weight(&self) -> usize {
        struct Counter(usize);
        impl io::Write for Counter {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0 += bytes.len();
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut counter = Counter(0);
        match serde_json::to_writer(&mut counter, self) {
            Ok(()) => counter.0,
            Err(_) => usize::MAX,
        }
    }
}
