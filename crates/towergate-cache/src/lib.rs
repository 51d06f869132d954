//! Response caching for towergate: repeated questions answered without a
//! second upstream call.
//!
//! [`CacheLayer`] wraps an endpoint's service. Each chat, completion and
//! embeddings request gets a [`CacheKey`]: a hash of the endpoint and the
//! canonical request (field order, whitespace, `user`, `stream` and the
//! request id do not matter; temperature, seed, tools and every other
//! parameter do). Then:
//!
//! - **Hit**: the answer stored under the key answers, as a stream when the
//!   request asks for one (a stored stream is replayed chunk for chunk, a
//!   stored complete answer is cut into chunks), and no upstream is called.
//! - **Miss**: the upstream answers and the answer is stored for the
//!   layer's time to live: a complete answer before it is returned, a
//!   stream once it has ended with every choice finished. Errors and cut
//!   streams are never stored. Concurrent misses of one key share one
//!   upstream call: the first leads, the others wait for its answer.
//! - **Bypass**: the caller sent `Cache-Control: no-cache` (the upstream
//!   answers, and the answer is stored) or `no-store` (nothing is read or
//!   stored).
//!
//! The verdict goes in the answer's [`ResponseMeta::cache`], so the HTTP
//! front sends it as `x-towergate-cache` and the usage record keeps it. A
//! store that fails is logged and treated as a miss: the cache never
//! refuses a request.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use tower::{Layer, ServiceExt};
//! use towergate_cache::{CacheLayer, MemoryCacheStore};
//! use towergate_core::{CacheVerdict, GatewayRequest, Operation, chat::ChatRequest};
//! use towergate_testkit::MockProvider;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let upstream = MockProvider::new().reply("Paris");
//! let cache = CacheLayer::new(Arc::new(MemoryCacheStore::new(64 << 20)), Duration::from_secs(600));
//! let service = cache.layer(upstream.clone());
//! let ask = || {
//!     let chat: ChatRequest = serde_json::from_str(
//!         r#"{"messages":[{"role":"user","content":"Capital of France?"}]}"#,
//!     ).unwrap();
//!     GatewayRequest::new("chat", Operation::Chat(chat))
//! };
//! let first = service.clone().oneshot(ask()).await.unwrap();
//! let second = service.clone().oneshot(ask()).await.unwrap();
//! assert_eq!(first.meta.cache, Some(CacheVerdict::Miss));
//! assert_eq!(second.meta.cache, Some(CacheVerdict::Hit));
//! assert_eq!(upstream.calls(), 1);
//! # }
//! ```
//!
//! # Semantic cache
//!
//! With [`CacheLayer::semantic`], a request that misses the exact cache is
//! embedded (a chat's last user message, a completion's prompt) and
//! compared, by cosine similarity, with the cached prompts of its
//! [`PartitionKey`]: the same endpoint, the same earlier messages and the
//! same parameters. The nearest one at or above the threshold answers
//! (`x-towergate-cache-similarity` says how near it was).
//!
//! **When to use it**: many callers asking the same few things in
//! different words (FAQ bots, support deflection, documentation search),
//! with answers that do not depend on details a paraphrase could change.
//!
//! **Its risk is a wrong answer**: a hit is only as right as the embedding
//! model's idea of "the same question". "How do I cancel my order?" and
//! "How do I cancel my subscription?" may be 0.9 similar and want
//! different answers; negations and numbers ("over 18" / "under 18") are
//! classic misses of similarity. Keep the threshold high (0.95 and up for
//! a small sentence model), keep it off for endpoints whose answers depend
//! on exact wording (code, arithmetic, legal or medical text), and watch
//! the hit rate and similarities in the usage records before lowering it.
//! Each miss also costs one embedding call.
//!
//! # Stores
//!
//! [`MemoryCacheStore`] keeps answers in this process (moka, bounded in
//! bytes, the index of prompt vectors evicted with their answers);
//! [`RedisCacheStore`] shares them between gateway instances (answers
//! under a Redis TTL; prompt vectors in a bounded list per partition,
//! compared in process, as a stock Redis has no vector search).
//!
//! [`ResponseMeta::cache`]: towergate_core::ResponseMeta::cache

mod answer;
mod control;
mod future;
mod inflight;
mod key;
mod layer;
mod record;
pub mod semantic;
mod store;

pub use answer::{CachedAnswer, CachedBody};
pub use control::CallerControl;
pub use future::ResponseFuture;
pub use key::{CacheKey, PartitionKey};
pub use layer::{CacheLayer, Cached, DEFAULT_MAX_WAIT, SIMILARITY_HEADER};
pub use record::{CachedChunk, Recording};
pub use semantic::{Embed, EmbedFuture, EndpointEmbedder};
pub use store::{
    CacheStore, DEFAULT_CANDIDATES, DEFAULT_MAX_BYTES, MemoryCacheStore, Nearest, PromptVector,
    RedisCacheStore, RedisCacheStoreBuilder, StoreError, StoreFuture,
};
