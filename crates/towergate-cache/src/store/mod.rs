//! Where cached answers live: [`CacheStore`], in memory ([`MemoryCacheStore`])
//! or in Redis ([`RedisCacheStore`]).
//!
//! A store keeps answers under their [`CacheKey`] for a time to live, and,
//! for the semantic cache, the unit vector of each cached prompt in its
//! [`PartitionKey`]. A vector never outlives its answer: the memory store
//! drops it when the answer is evicted or expires; the Redis store keeps a
//! bounded list per partition and checks that the answer is still there.

mod memory;
mod redis;

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

pub use self::{
    memory::{DEFAULT_MAX_BYTES, MemoryCacheStore},
    redis::{DEFAULT_CANDIDATES, RedisCacheStore, RedisCacheStoreBuilder},
};
use crate::{CacheKey, CachedAnswer, PartitionKey};

/// The future a store answers with.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A prompt's place in the semantic index: its partition and its unit
/// vector.
#[derive(Debug, Clone)]
pub struct PromptVector {
    /// The requests this prompt may answer.
    pub partition: PartitionKey,
    /// The prompt's embedding, scaled to length 1.
    pub vector: Arc<[f32]>,
}

/// The cached prompt nearest to a question.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// The key its answer is stored under.
    pub key: CacheKey,
    /// Its cosine similarity to the question.
    pub similarity: f32,
}

/// A store of cached answers, shared by every endpoint's cache layer.
///
/// Vectors given to a store are unit vectors, so that cosine similarity
/// is their dot product.
pub trait CacheStore: Send + Sync + 'static {
    /// The answer stored under `key`, if it is there and has not expired.
    fn get(&self, key: CacheKey) -> StoreFuture<'_, Option<Arc<CachedAnswer>>>;

    /// Stores `answer` under `key` for `ttl`, with its prompt's vector when
    /// the semantic cache is on.
    fn put(
        &self,
        key: CacheKey,
        answer: Arc<CachedAnswer>,
        ttl: Duration,
        vector: Option<PromptVector>,
    ) -> StoreFuture<'_, ()>;

    /// The cached prompt of `partition` most similar to `vector`, if one
    /// is at least `threshold` similar.
    fn nearest(
        &self,
        partition: PartitionKey,
        vector: Arc<[f32]>,
        threshold: f32,
    ) -> StoreFuture<'_, Option<Nearest>>;
}

impl<T: CacheStore + ?Sized> CacheStore for Arc<T> {
    fn get(&self, key: CacheKey) -> StoreFuture<'_, Option<Arc<CachedAnswer>>> {
        (**self).get(key)
    }

    fn put(
        &self,
        key: CacheKey,
        answer: Arc<CachedAnswer>,
        ttl: Duration,
        vector: Option<PromptVector>,
    ) -> StoreFuture<'_, ()> {
        (**self).put(key, answer, ttl, vector)
    }

    fn nearest(
        &self,
        partition: PartitionKey,
        vector: Arc<[f32]>,
        threshold: f32,
    ) -> StoreFuture<'_, Option<Nearest>> {
        (**self).nearest(partition, vector, threshold)
    }
}

/// A store that failed. The cache layer logs it and goes on as a miss: a
/// cache that is down costs upstream calls, never refusals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(String);

impl StoreError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> StoreError {
        StoreError(message.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// The dot product of two vectors of the same length (cosine similarity
/// for unit vectors); 0 when their lengths differ, as vectors from two
/// different models never match.
pub(crate) fn similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
