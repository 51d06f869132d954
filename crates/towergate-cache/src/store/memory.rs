//! [`MemoryCacheStore`]: answers in a moka cache bounded in bytes.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use moka::{Expiry, future::Cache};

use super::{CacheStore, Nearest, PromptVector, StoreFuture, similarity};
use crate::{CacheKey, CachedAnswer, PartitionKey};

/// The memory store's size, by default: 256 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// Bytes counted for an entry besides its answer and vector.
const ENTRY_OVERHEAD: usize = 128;

/// Cached answers in this process, bounded in bytes (about the size of
/// each answer's JSON plus its vector), each expiring after its own time
/// to live. Least recently and least often used answers are evicted first
/// (moka's TinyLFU); an answer's prompt vector leaves the semantic index
/// with it.
///
/// Cheap to clone: clones share the cache.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use towergate_cache::{CacheKey, CacheStore, CachedAnswer, CachedBody, MemoryCacheStore};
/// use towergate_core::{Operation, embeddings::EmbeddingsRequest};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryCacheStore::new(64 << 20);
/// let request: EmbeddingsRequest = serde_json::from_str(r#"{"input":"hi"}"#).unwrap();
/// let key = CacheKey::of("embed", &mut Operation::Embeddings(request)).unwrap();
/// let answer: towergate_core::embeddings::EmbeddingsResponse = serde_json::from_str(
///     r#"{"object":"list","data":[],"model":"m"}"#,
/// ).unwrap();
/// let answer = Arc::new(CachedAnswer::new(CachedBody::Embeddings(answer)));
/// store.put(key, Arc::clone(&answer), Duration::from_secs(60), None).await.unwrap();
/// assert_eq!(store.get(key).await.unwrap(), Some(answer));
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryCacheStore {
    entries: Cache<CacheKey, Arc<Entry>>,
    index: Arc<Index>,
}

struct Entry {
    answer: Arc<CachedAnswer>,
    ttl: Duration,
    weight: u32,
    /// The vector this entry put in the index, if any.
    prompt: Option<PromptVector>,
}

/// The cached prompts of one partition: each answer's key and vector.
type Prompts = Vec<(CacheKey, Arc<[f32]>)>;

/// The prompt vectors of each partition.
#[derive(Default)]
struct Index {
    partitions: RwLock<HashMap<PartitionKey, Prompts>>,
}

impl Index {
    fn add(&self, partition: PartitionKey, key: CacheKey, vector: Arc<[f32]>) {
        let mut partitions = self
            .partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let prompts = partitions.entry(partition).or_default();
        match prompts.iter_mut().find(|(known, _)| *known == key) {
            Some(slot) => slot.1 = vector,
            None => prompts.push((key, vector)),
        }
    }

    /// Removes `key`'s vector from `partition`; when `only` is given, only
    /// if the index still holds that very vector.
    fn remove(&self, partition: PartitionKey, key: CacheKey, only: Option<&Arc<[f32]>>) {
        let mut partitions = self
            .partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(prompts) = partitions.get_mut(&partition) {
            prompts.retain(|(known, vector)| {
                *known != key || only.is_some_and(|only| !Arc::ptr_eq(vector, only))
            });
            if prompts.is_empty() {
                partitions.remove(&partition);
            }
        }
    }

    /// The prompts of `partition` at least `threshold` similar to
    /// `vector`, nearest first.
    fn near(&self, partition: PartitionKey, vector: &[f32], threshold: f32) -> Vec<Nearest> {
        let partitions = self
            .partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(prompts) = partitions.get(&partition) else {
            return Vec::new();
        };
        let mut near: Vec<Nearest> = prompts
            .iter()
            .map(|(key, known)| Nearest {
                key: *key,
                similarity: similarity(known, vector),
            })
            .filter(|nearest| nearest.similarity >= threshold)
            .collect();
        near.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        near
    }

    fn len(&self) -> usize {
        let partitions = self
            .partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        partitions.values().map(Vec::len).sum()
    }
}

/// Each entry lives for its own time to live.
struct PerEntryTtl;

impl Expiry<CacheKey, Arc<Entry>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        entry: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &CacheKey,
        entry: &Arc<Entry>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

impl MemoryCacheStore {
    /// A store of at most about `max_bytes` of answers and vectors.
    pub fn new(max_bytes: u64) -> MemoryCacheStore {
        let index = Arc::new(Index::default());
        let evicted = Arc::clone(&index);
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key, entry: &Arc<Entry>| entry.weight)
            .expire_after(PerEntryTtl)
            .eviction_listener(move |key: Arc<CacheKey>, entry: Arc<Entry>, _cause| {
                // The vector leaves with the entry that brought it, however
                // it leaves, unless a newer answer under the key (a replacing
                // one) brought a vector of its own since. A replacing answer
                // stored with no vector (a `no-cache` bypass) does not take
                // over the old one's.
                if let Some(prompt) = &entry.prompt {
                    evicted.remove(prompt.partition, *key, Some(&prompt.vector));
                }
            })
            .build();
        MemoryCacheStore { entries, index }
    }

    /// How many answers are cached (after pending evictions are applied).
    pub async fn len(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.entry_count()
    }

    /// Whether no answer is cached.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    /// How many prompt vectors the semantic index holds (after pending
    /// evictions are applied).
    pub async fn vectors(&self) -> usize {
        self.entries.run_pending_tasks().await;
        self.index.len()
    }

    /// About how many bytes the cached answers and vectors take.
    pub async fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.weighted_size()
    }
}

impl Default for MemoryCacheStore {
    fn default() -> Self {
        MemoryCacheStore::new(DEFAULT_MAX_BYTES)
    }
}

impl std::fmt::Debug for MemoryCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCacheStore")
            .field("entries", &self.entries.entry_count())
            .field("weighted_size", &self.entries.weighted_size())
            .finish()
    }
}

impl CacheStore for MemoryCacheStore {
    fn get(&self, key: CacheKey) -> StoreFuture<'_, Option<Arc<CachedAnswer>>> {
        Box::pin(async move {
            Ok(self
                .entries
                .get(&key)
                .await
                .map(|entry| Arc::clone(&entry.answer)))
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
            let vector_bytes = vector
                .as_ref()
                .map_or(0, |prompt| std::mem::size_of_val(&*prompt.vector));
            let weight = answer
                .weight()
                .saturating_add(vector_bytes)
                .saturating_add(ENTRY_OVERHEAD);
            // The vector goes in first: an eviction of this entry, however
            // soon, then finds it to remove.
            if let Some(prompt) = &vector {
                self.index
                    .add(prompt.partition, key, Arc::clone(&prompt.vector));
            }
            let entry = Entry {
                answer,
                ttl,
                weight: u32::try_from(weight).unwrap_or(u32::MAX),
                prompt: vector,
            };
            self.entries.insert(key, Arc::new(entry)).await;
            Ok(())
        })
    }

    fn nearest(
        &self,
        partition: PartitionKey,
        vector: Arc<[f32]>,
        threshold: f32,
    ) -> StoreFuture<'_, Option<Nearest>> {
        Box::pin(async move {
            // An answer that expired may keep its vector until moka tells
            // the index; the next nearest may still be there. (Nothing is
            // removed here: a vector can be seen just before its answer is
            // inserted.)
            let near = self.index.near(partition, &vector, threshold);
            Ok(near
                .into_iter()
                .find(|nearest| self.entries.contains_key(&nearest.key)))
        })
    }
}
