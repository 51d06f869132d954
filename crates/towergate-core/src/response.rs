//! The answer every layer returns.

use std::{fmt, pin::Pin, time::Duration};

use futures_core::Stream;
use http::{Extensions, HeaderMap};

use crate::{
    EndpointInfo, GatewayError, Usage,
    chat::{ChatChunk, ChatResponse},
    completion::{CompletionChunk, CompletionResponse},
    embeddings::EmbeddingsResponse,
};

/// A stream of chunks, ending at the upstream's end of stream.
pub type ChunkStream<T> = Pin<Box<dyn Stream<Item = Result<T, GatewayError>> + Send + 'static>>;

/// The body of an answer.
pub enum Payload {
    /// A complete chat completion.
    Chat(ChatResponse),
    /// A streamed chat completion.
    ChatStream(ChunkStream<ChatChunk>),
    /// A complete text completion.
    Completion(CompletionResponse),
    /// A streamed text completion.
    CompletionStream(ChunkStream<CompletionChunk>),
    /// Embeddings.
    Embeddings(EmbeddingsResponse),
    /// The endpoints the caller may use.
    Endpoints(Vec<EndpointInfo>),
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Chat(chat) => f.debug_tuple("Chat").field(chat).finish(),
            Payload::ChatStream(_) => f.write_str("ChatStream(..)"),
            Payload::Completion(c) => f.debug_tuple("Completion").field(c).finish(),
            Payload::CompletionStream(_) => f.write_str("CompletionStream(..)"),
            Payload::Embeddings(e) => f.debug_tuple("Embeddings").field(e).finish(),
            Payload::Endpoints(e) => f.debug_tuple("Endpoints").field(e).finish(),
        }
    }
}

/// Whether a cache answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheVerdict {
    /// Answered from the cache.
    Hit,
    /// Not in the cache; the upstream answered.
    Miss,
    /// The cache was skipped.
    Bypass,
}

impl CacheVerdict {
    /// `hit`, `miss` or `bypass`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheVerdict::Hit => "hit",
            CacheVerdict::Miss => "miss",
            CacheVerdict::Bypass => "bypass",
        }
    }
}

/// What the gateway knows about an answer besides its body.
#[derive(Debug, Default)]
pub struct ResponseMeta {
    /// The provider that answered (MLflow's name).
    pub provider: Option<String>,
    /// The upstream model that answered.
    pub model: Option<String>,
    /// The endpoint that answered (after a traffic split, the chosen one).
    pub endpoint: Option<String>,
    /// Tokens used, once known.
    pub usage: Option<Usage>,
    /// Cost in USD, once known.
    pub cost_usd: Option<f64>,
    /// The cache's verdict, if a cache ran.
    pub cache: Option<CacheVerdict>,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Time until the upstream's answer (or first chunk) arrived.
    pub upstream_latency: Option<Duration>,
    /// Headers a layer wants on the HTTP answer (`x-ratelimit-*`, say).
    pub headers: HeaderMap,
    /// Facts layers hand back up to each other.
    pub extensions: Extensions,
}

/// An answer: its body and what is known about it.
///
/// ```
/// use towergate_core::{GatewayResponse, Payload};
/// let response = GatewayResponse::new(Payload::Endpoints(Vec::new()));
/// assert!(!response.is_stream());
/// ```
#[derive(Debug)]
pub struct GatewayResponse {
    /// The body.
    pub payload: Payload,
    /// What is known about it.
    pub meta: ResponseMeta,
}

impl GatewayResponse {
    /// An answer with empty metadata.
    pub fn new(payload: Payload) -> Self {
        Self {
            payload,
            meta: ResponseMeta::default(),
        }
    }

    /// Whether the body is a stream.
    pub fn is_stream(&self) -> bool {
        matches!(
            self.payload,
            Payload::ChatStream(_) | Payload::CompletionStream(_)
        )
    }
}
