//! The memory and Redis rate stores: exactness, resets, pruning, outages.
#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use towergate_state::{ManualClock, MemoryRateStore, Rate, RateStore, RedisQuotaStore, StoreError};
use towergate_testkit::redis::RedisServer;

/// A hang guard for calls that must come back; it is not a latency assertion.
const NEVER_HANGS: Duration = Duration::from_secs(10);

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_543_600))
}

fn redis_store(server: &RedisServer, clock: &ManualClock) -> Arc<dyn RateStore> {
    Arc::new(
        RedisQuotaStore::builder(server.url())
            .clock(clock.clone())
            .build()
            .unwrap(),
    )
}

/// Fires `attempts` acquisitions of one unit at once over `stores` in
/// turn, and counts the admitted ones.
async fn admitted_under_contention(
    stores: &[Arc<dyn RateStore>],
    rate: Rate,
    attempts: usize,
) -> usize {
    let tasks: Vec<_> = (0..attempts)
        .map(|index| {
            let store = Arc::clone(&stores[index % stores.len()]);
            tokio::spawn(async move { store.acquire("shared", rate, 1).await.unwrap().admitted })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap());
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_acquisitions_admit_exactly_the_limit_in_memory() {
    let store: Arc<dyn RateStore> = Arc::new(MemoryRateStore::with_clock(clock()));
    let rate = Rate::per_minute(50).unwrap();
    assert_eq!(admitted_under_contention(&[store], rate, 200).await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_sharing_one_redis_admit_exactly_the_limit() {
    let server = RedisServer::start();
    let clock = clock();
    let stores = [redis_store(&server, &clock), redis_store(&server, &clock)];
    let rate = Rate::per_minute(50).unwrap();
    assert_eq!(admitted_under_contention(&stores, rate, 200).await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_on_its_own_clock_is_exact_too() {
    let server = RedisServer::start();
    let store: Arc<dyn RateStore> = Arc::new(RedisQuotaStore::open(&server.url()).unwrap());
    // A day's rate drains too slowly for the test's real seconds to matter.
    let rate = Rate::per_day(30).unwrap();
    assert_eq!(admitted_under_contention(&[store], rate, 100).await, 30);
}

/// Plays the same steps on a store, moving `clock`; answers what it saw.
async fn story(store: &dyn RateStore, clock: &ManualClock) -> Vec<String> {
    let rate = Rate::per_minute(6).unwrap();
    let mut seen = Vec::new();
    let mut acquire = async |cost: u64| {
        let decision = store.acquire("alice", rate, cost).await.unwrap();
        seen.push(format!("{decision:?}"));
        decision
    };
    for _ in 0..6 {
        assert!(acquire(1).await.admitted);
    }
    let refused = acquire(1).await;
    assert!(!refused.admitted);
    assert_eq!(refused.state.remaining, 0);
    assert_eq!(refused.state.reset_after, Duration::from_secs(60));
    assert_eq!(refused.retry_after, Some(Duration::from_secs(10)));
    // One request comes back every ten seconds.
    clock.advance(Duration::from_secs(10));
    assert!(acquire(1).await.admitted);
    assert!(!acquire(1).await.admitted);
    // After a whole period the bucket is full again.
    clock.advance(Duration::from_secs(60));
    let fresh = acquire(6).await;
    assert!(fresh.admitted);
    assert_eq!(fresh.state.remaining, 0);
    // More than the limit never fits, so there is nothing to wait for.
    clock.advance(Duration::from_secs(60));
    let too_big = acquire(7).await;
    assert!(!too_big.admitted);
    assert_eq!(too_big.retry_after, None);
    // Giving back and charging more.
    assert!(acquire(5).await.admitted);
    let state = store.adjust("alice", rate, -3).await.unwrap();
    assert_eq!(state.remaining, 4);
    seen.push(format!("{state:?}"));
    let state = store.adjust("alice", rate, 100).await.unwrap();
    assert_eq!(state.remaining, 0, "overage fills the bucket, no more");
    assert_eq!(state.reset_after, Duration::from_secs(60));
    seen.push(format!("{state:?}"));
    let state = store.adjust("alice", rate, -100).await.unwrap();
    assert_eq!(state.remaining, 6);
    seen
}

#[tokio::test]
async fn memory_and_redis_tell_the_same_story_on_a_fake_clock() {
    let clock = clock();
    let memory = MemoryRateStore::with_clock(clock.clone());
    let in_memory = story(&memory, &clock).await;

    let server = RedisServer::start();
    let clock = self::clock();
    let redis = RedisQuotaStore::builder(server.url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let in_redis = story(&redis, &clock).await;
    assert_eq!(in_memory, in_redis);
}

#[tokio::test]
async fn a_changed_rate_is_a_fresh_bucket() {
    let store = MemoryRateStore::with_clock(clock());
    let two = Rate::per_minute(2).unwrap();
    let three = Rate::per_minute(3).unwrap();
    for _ in 0..2 {
        assert!(store.acquire("bob", two, 1).await.unwrap().admitted);
    }
    assert!(!store.acquire("bob", two, 1).await.unwrap().admitted);
    assert!(store.acquire("bob", three, 1).await.unwrap().admitted);
}

#[tokio::test]
async fn a_million_callers_leave_no_buckets_behind() {
    let clock = clock();
    let store = MemoryRateStore::with_clock(clock.clone()).prune_every(Duration::from_secs(1));
    let rate = Rate::per_second(10).unwrap();
    for caller in 0..1_000_000_u32 {
        let decision = store.acquire(&caller.to_string(), rate, 1).await.unwrap();
        assert!(decision.admitted);
    }
    assert_eq!(store.len(), 1_000_000);
    // A second later every bucket has drained: the next call prunes them.
    clock.advance(Duration::from_secs(1));
    assert!(store.acquire("late", rate, 1).await.unwrap().admitted);
    assert!(store.len() <= 1, "{} buckets left", store.len());
}

#[tokio::test]
async fn buckets_still_filling_are_kept() {
    let clock = clock();
    let store = MemoryRateStore::with_clock(clock.clone());
    let rate = Rate::per_minute(2).unwrap();
    store.acquire("carol", rate, 2).await.unwrap();
    clock.advance(Duration::from_secs(30));
    store.prune();
    assert_eq!(store.len(), 1, "carol's bucket has 30s left to drain");
    assert!(store.acquire("carol", rate, 1).await.unwrap().admitted);
    assert!(!store.acquire("carol", rate, 1).await.unwrap().admitted);
}

#[tokio::test]
async fn a_redis_that_is_down_fails_fast_and_comes_back() {
    let mut server = RedisServer::start();
    let store = RedisQuotaStore::builder(server.url())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let rate = Rate::per_minute(5).unwrap();
    assert!(store.acquire("dave", rate, 1).await.unwrap().admitted);
    server.stop();
    let failed = tokio::time::timeout(NEVER_HANGS, store.acquire("dave", rate, 1))
        .await
        .expect("a call to a stopped Redis hangs");
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "{failed:?}"
    );
    let failed = tokio::time::timeout(NEVER_HANGS, store.adjust("dave", rate, -1))
        .await
        .expect("a call to a stopped Redis hangs");
    assert!(
        matches!(failed, Err(StoreError::Unavailable(_))),
        "{failed:?}"
    );
    server.restart().unwrap();
    let mut back = None;
    for _ in 0..50 {
        if let Ok(decision) = store.acquire("dave", rate, 1).await {
            back = Some(decision);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back.expect("Redis came back").admitted);
}
