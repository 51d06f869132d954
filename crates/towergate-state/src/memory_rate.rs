//! Rate buckets in this process's memory, kept in governor's keyed state.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use governor::{
    nanos::Nanos,
    state::{
        NotKeyed, StateStore,
        keyed::{DashMapStateStore, ShrinkableKeyedStateStore},
    },
};

use crate::{
    clock::{Clock, SystemClock},
    rate::{Rate, RateDecision, RateState},
    rate_store::RateStore,
    store::StoreFuture,
};

/// How often, in clock time, drained buckets are dropped, by default.
pub const DEFAULT_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The buckets of one rate: governor's concurrent keyed state, one atomic
/// word a key.
type Buckets = DashMapStateStore<String>;

/// A [`RateStore`] in memory, for one process.
///
/// Each bucket is one atomic word in governor's keyed state (a `DashMap`),
/// updated by compare-and-swap, so concurrent acquisitions are exact
/// without a lock. The word holds the bucket's theoretical arrival time
/// (GCRA's TAT) in the scaled units of [`Rate`]; the arithmetic is shared
/// with the Redis store, so both decide alike.
///
/// A bucket that has drained is indistinguishable from no bucket, so it is
/// dropped: at most once per [`prune_every`](Self::prune_every) of clock
/// time, by whichever call comes next. Memory stays bounded by the keys
/// used within one period, whatever the number of distinct callers.
///
/// ```
/// use towergate_state::{MemoryRateStore, Rate, RateStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryRateStore::new();
/// let rate = Rate::per_minute(2).unwrap();
/// assert!(store.acquire("alice", rate, 1).await.unwrap().admitted);
/// assert!(store.acquire("alice", rate, 1).await.unwrap().admitted);
/// let refused = store.acquire("alice", rate, 1).await.unwrap();
/// assert!(!refused.admitted);
/// // One request comes back every 30 seconds.
/// assert_eq!(refused.retry_after, Some(std::time::Duration::from_secs(30)));
/// // Other keys have buckets of their own.
/// assert!(store.acquire("bob", rate, 1).await.unwrap().admitted);
/// # }
/// ```
pub struct MemoryRateStore {
    clock: Arc<dyn Clock>,
    start: SystemTime,
    buckets: RwLock<HashMap<Rate, Arc<Buckets>>>,
    prune_every_ms: u64,
    next_prune_ms: AtomicU64,
}

impl MemoryRateStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// An empty store reading the time from `clock` (a
    /// [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(clock: impl Clock) -> Self {
        let start = clock.now();
        let prune_every_ms = millis(DEFAULT_PRUNE_EVERY);
        Self {
            clock: Arc::new(clock),
            start,
            buckets: RwLock::new(HashMap::new()),
            prune_every_ms,
            next_prune_ms: AtomicU64::new(prune_every_ms),
        }
    }

    /// Drops drained buckets at most once per `every` of clock time
    /// (default [`DEFAULT_PRUNE_EVERY`]).
    pub fn prune_every(mut self, every: Duration) -> Self {
        self.prune_every_ms = millis(every).max(1);
        self.next_prune_ms = AtomicU64::new(self.prune_every_ms);
        self
    }

    /// How many buckets the store holds (drained ones not yet pruned
    /// included).
    pub fn len(&self) -> usize {
        self.read().values().map(|buckets| buckets.len()).sum()
    }

    /// Whether the store holds no bucket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every bucket that has drained, now.
    pub fn prune(&self) {
        let now = self.now_ms();
        for (rate, buckets) in self.read().iter() {
            buckets.retain_recent(Nanos::new(rate.drain(now)));
            buckets.shrink_to_fit();
        }
    }

    /// Milliseconds since the store was made, on its clock.
    fn now_ms(&self) -> u64 {
        let elapsed = self
            .clock
            .now()
            .duration_since(self.start)
            .unwrap_or_default();
        millis(elapsed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Rate, Arc<Buckets>>> {
        self.buckets.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The buckets of `rate`, made on first use.
    fn buckets(&self, rate: Rate) -> Arc<Buckets> {
        if let Some(buckets) = self.read().get(&rate) {
            return Arc::clone(buckets);
        }
        let mut all = self.buckets.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(all.entry(rate).or_default())
    }

    /// Prunes when a pruning is due; one caller does it.
    fn prune_if_due(&self, now: u64) {
        let due = self.next_prune_ms.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        let next = now.saturating_add(self.prune_every_ms);
        if self
            .next_prune_ms
            .compare_exchange(due, next, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            self.prune();
        }
    }

    /// Runs `step` on `key`'s bucket of `rate` atomically: it gets the
    /// level now and answers the new level, or `Err` to change nothing.
    fn update<T>(
        &self,
        key: &str,
        rate: Rate,
        step: impl Fn(u64) -> Result<(T, u64), T>,
    ) -> Result<T, T> {
        let now_ms = self.now_ms();
        self.prune_if_due(now_ms);
        let now = rate.drain(now_ms);
        let buckets = self.buckets(rate);
        let measure = |tat: Option<Nanos>| {
            let level = tat.map_or(0, Nanos::as_u64).saturating_sub(now);
            let (answer, level) = step(level)?;
            Ok((answer, Nanos::new(now.saturating_add(level))))
        };
        // A key seen before is found by `&str`, with no allocation; only a
        // new one is copied into the map.
        if let Some(bucket) = buckets.get(key) {
            return bucket.measure_and_replace(&NotKeyed::NonKey, measure);
        }
        buckets.measure_and_replace(&key.to_owned(), measure)
    }

    fn acquire_now(&self, key: &str, rate: Rate, cost: u64) -> RateDecision {
        let decided = self.update(key, rate, |level| match rate.admit(level, cost) {
            Some(after) => Ok((rate.decision(level, cost, Some(after)), after)),
            None => Err(rate.decision(level, cost, None)),
        });
        decided.unwrap_or_else(|refused| refused)
    }

    fn adjust_now(&self, key: &str, rate: Rate, delta: i64) -> RateState {
        let adjusted = self.update(key, rate, |level| {
            let after = rate.adjusted(level, delta);
            Ok((rate.state(after), after))
        });
        adjusted.unwrap_or_else(|state| state)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Default for MemoryRateStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryRateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRateStore")
            .field("clock", &self.clock)
            .field("buckets", &self.len())
            .finish()
    }
}

impl RateStore for MemoryRateStore {
    fn acquire<'a>(&'a self, key: &'a str, rate: Rate, cost: u64) -> StoreFuture<'a, RateDecision> {
        let decision = self.acquire_now(key, rate, cost);
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn adjust<'a>(&'a self, key: &'a str, rate: Rate, delta: i64) -> StoreFuture<'a, RateState> {
        let state = self.adjust_now(key, rate, delta);
        Box::pin(std::future::ready(Ok(state)))
    }
}
