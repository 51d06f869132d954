//! [`RedisCacheStore`]: answers in Redis, shared by every gateway instance
//! that uses the same server.
//!
//! An answer is one key, `{prefix}:cache:{key}`, holding its JSON and
//! expiring after its time to live (`SET … PX`). Redis' own vector search
//! is a module (RediSearch) that a stock `redis-server` does not have, so
//! the semantic index is searched in process over a bounded candidate set:
//! each partition is one list, `{prefix}:cache-vectors:{partition}`, of
//! its most recent prompt vectors (at most `candidates`, trimmed on every
//! write, expiring with the newest answer). A lookup reads the list, one
//! round trip, compares in process, and checks that the nearest answers
//! are still there (a second round trip). A list of 1000 vectors of 384
//! floats is about 1.6 MB to read; with larger embeddings (1536 floats),
//! keep `candidates` lower.

use std::{future::Future, sync::Arc, time::Duration};

use ::redis::{RedisError, aio::ConnectionManager};

use super::{CacheStore, Nearest, PromptVector, StoreError, StoreFuture};
use crate::{CacheKey, CachedAnswer, PartitionKey};

/// How many recent prompt vectors a partition keeps, by default.
pub const DEFAULT_CANDIDATES: usize = 1000;

/// How many of the nearest prompts a lookup checks for a live answer.
const CHECKED_NEAREST: usize = 4;

/// Cached answers in Redis, for several gateway instances.
///
/// Cheap to clone: clones share one connection, which reconnects by itself
/// after the server drops it. Every call is bounded by a timeout; a server
/// that is down or slow makes calls fail, and the cache layer goes on as
/// if it had missed.
///
/// ```no_run
/// use towergate_cache::RedisCacheStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), towergate_cache::StoreError> {
/// let store = RedisCacheStore::builder("redis://127.0.0.1:6379")
///     .candidates(500)
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisCacheStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    address: String,
    prefix: String,
    timeout: Duration,
    candidates: usize,
}

/// Builds a [`RedisCacheStore`]; see [`RedisCacheStore::builder`].
#[derive(Debug)]
pub struct RedisCacheStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    candidates: usize,
}

impl RedisCacheStore {
    /// A builder for a store on the server at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisCacheStoreBuilder {
        RedisCacheStoreBuilder {
            url: url.into(),
            prefix: towergate_state::DEFAULT_PREFIX.to_owned(),
            timeout: towergate_state::DEFAULT_TIMEOUT,
            candidates: DEFAULT_CANDIDATES,
        }
    }

    fn answer_key(&self, key: CacheKey) -> String {
        format!("{}:cache:{}", self.inner.prefix, key.to_hex())
    }

    fn vectors_key(&self, partition: PartitionKey) -> String {
        format!("{}:cache-vectors:{}", self.inner.prefix, partition.to_hex())
    }

    /// Runs one Redis call, failing when it takes too long.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        let address = &self.inner.address;
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError::new(format!("Redis at {address}: {error}"))),
            Err(_) => Err(StoreError::new(format!(
                "Redis at {address} did not answer within {:?}",
                self.inner.timeout
            ))),
        }
    }
}

impl RedisCacheStoreBuilder {
    /// The prefix of every key (`towergate` by default).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one call may take (500 ms by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many recent prompt vectors each partition keeps and a semantic
    /// lookup compares (1000 by default, at least 1).
    pub fn candidates(mut self, candidates: usize) -> Self {
        self.candidates = candidates.max(1);
        self
    }

    /// The store. The connection is made on first use.
    ///
    /// # Errors
    ///
    /// Outside a Tokio runtime, or for a URL that is not a Redis URL.
    pub fn build(self) -> Result<RedisCacheStore, StoreError> {
        let (connection, address) = towergate_state::connect_lazily(&self.url, self.timeout)
            .map_err(|error| StoreError::new(error.to_string()))?;
        Ok(RedisCacheStore {
            inner: Arc::new(Inner {
                connection,
                address,
                prefix: self.prefix,
                timeout: self.timeout,
                candidates: self.candidates,
            }),
        })
    }
}

impl std::fmt::Debug for RedisCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCacheStore")
            .field("address", &self.inner.address)
            .field("prefix", &self.inner.prefix)
            .field("candidates", &self.inner.candidates)
            .finish()
    }
}

/// A candidate as the list holds it: the answer's key, then the vector's
/// floats in little-endian order.
fn encode_candidate(key: CacheKey, vector: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32 + vector.len() * 4);
    bytes.extend_from_slice(key.as_bytes());
    for value in vector {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// The key and similarity of one candidate; `None` for bytes no store wrote.
fn score_candidate(bytes: &[u8], vector: &[f32]) -> Option<Nearest> {
    let (key, floats) = bytes.split_first_chunk::<32>()?;
    if floats.len() != vector.len() * 4 {
        return None;
    }
    let similarity = floats
        .chunks_exact(4)
        .zip(vector)
        .map(|(bytes, y)| {
            let x = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            x * y
        })
        .sum();
    Some(Nearest {
        key: CacheKey::from_bytes(*key),
        similarity,
    })
}

/// Milliseconds of `ttl`, at least 1 (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl CacheStore for RedisCacheStore {
    fn get(&self, key: CacheKey) -> StoreFuture<'_, Option<Arc<CachedAnswer>>> {
        Box::pin(async move {
            let mut connection = self.inner.connection.clone();
            let name = self.answer_key(key);
            let json: Option<Vec<u8>> = self
                .bounded(::redis::cmd("GET").arg(&name).query_async(&mut connection))
                .await?;
            let Some(json) = json else {
                return Ok(None);
            };
            match serde_json::from_slice::<CachedAnswer>(&json) {
                Ok(answer) => Ok(Some(Arc::new(answer))),
                Err(error) => Err(StoreError::new(format!(
                    "Redis at {}: `{name}` is not a cached answer: {error}",
                    self.inner.address
                ))),
            }
        })
    }

    fn put(
        &self,
        key: CacheKey,
        answer: Arc<CachedAnswer>,
        ttl: Duration,
        vector: Option<PromptVector>,
    ) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let json = serde_json::to_vec(&*answer)
                .map_err(|error| StoreError::new(format!("cannot encode an answer: {error}")))?;
            let ttl = millis(ttl);
            let mut pipe = ::redis::pipe();
            pipe.atomic()
                .cmd("SET")
                .arg(self.answer_key(key))
                .arg(json)
                .arg("PX")
                .arg(ttl)
                .ignore();
            if let Some(prompt) = vector {
                let list = self.vectors_key(prompt.partition);
                let candidate = encode_candidate(key, &prompt.vector);
                let last = self.inner.candidates.saturating_sub(1);
                pipe.cmd("LREM").arg(&list).arg(0).arg(&candidate).ignore();
                pipe.cmd("LPUSH").arg(&list).arg(candidate).ignore();
                pipe.cmd("LTRIM").arg(&list).arg(0).arg(last).ignore();
                pipe.cmd("PEXPIRE").arg(&list).arg(ttl).ignore();
            }
            let mut connection = self.inner.connection.clone();
            self.bounded(pipe.query_async::<()>(&mut connection)).await
        })
    }

    fn nearest(
        &self,
        partition: PartitionKey,
        vector: Arc<[f32]>,
        threshold: f32,
    ) -> StoreFuture<'_, Option<Nearest>> {
        Box::pin(async move {
            let mut connection = self.inner.connection.clone();
            let last = self.inner.candidates.saturating_sub(1);
            let candidates: Vec<Vec<u8>> = self
                .bounded(
                    ::redis::cmd("LRANGE")
                        .arg(self.vectors_key(partition))
                        .arg(0)
                        .arg(last)
                        .query_async(&mut connection),
                )
                .await?;
            let mut near: Vec<Nearest> = candidates
                .iter()
                .filter_map(|bytes| score_candidate(bytes, &vector))
                .filter(|nearest| nearest.similarity >= threshold)
                .collect();
            if near.is_empty() {
                return Ok(None);
            }
            near.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
            near.truncate(CHECKED_NEAREST);
            // The nearest whose answer is still there (answers expire on
            // their own; the list keeps their vectors until trimmed).
            let mut pipe = ::redis::pipe();
            for nearest in &near {
                pipe.cmd("EXISTS").arg(self.answer_key(nearest.key));
            }
            let present: Vec<bool> = self.bounded(pipe.query_async(&mut connection)).await?;
            Ok(near
                .into_iter()
                .zip(present)
                .find_map(|(nearest, present)| present.then_some(nearest)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candidate_reads_back_as_written() {
        let key = CacheKey::from_bytes([7; 32]);
        let vector = [0.6_f32, 0.8];
        let bytes = encode_candidate(key, &vector);
        let nearest = score_candidate(&bytes, &vector).unwrap();
        assert_eq!(nearest.key, key);
        assert!((nearest.similarity - 1.0).abs() < 1e-6);
        assert_eq!(score_candidate(&bytes[..36], &vector), None);
        assert_eq!(score_candidate(&bytes, &[1.0]), None);
    }
}
