//! The memory and Redis stores, run through the same scenarios.
#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime},
};

use towergate_state::{
    Decision, ManualClock, MemoryQuotaStore, QuotaStore, RedisQuotaStore, StoreError, Window,
};
use towergate_testkit::redis::RedisServer;

/// 2025-11-30T23:00:00Z: an hour before December.
const LATE_NOVEMBER: u64 = 1_764_543_600;

/// A hang guard for calls that must come back; it is not a latency assertion.
const NEVER_HANGS: Duration = Duration::from_secs(10);

struct Fixture {
    name: &'static str,
    clock: ManualClock,
    store: Arc<dyn QuotaStore>,
}

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(LATE_NOVEMBER))
}

fn memory() -> Fixture {
    let clock = clock();
    Fixture {
        name: "memory",
        store: Arc::new(MemoryQuotaStore::with_clock(clock.clone())),
        clock,
    }
}

/// A Redis store on `server`, with a clock of its own.
fn redis(server: &RedisServer) -> Fixture {
    let clock = clock();
    let store = RedisQuotaStore::builder(server.url())
        .clock(clock.clone())
        .build()
        .unwrap();
    Fixture {
        name: "redis",
        store: Arc::new(store),
        clock,
    }
}

/// Runs `scenario` over a memory store and a Redis store, and checks that
/// both tell the same story.
async fn on_both<F, Fut>(scenario: F) -> Vec<String>
where
    F: Fn(Fixture) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let from_memory = scenario(memory()).await;
    let server = RedisServer::start();
    let from_redis = scenario(redis(&server)).await;
    assert_eq!(from_memory, from_redis, "memory and Redis disagree");
    from_memory
}

fn show(decision: Decision) -> String {
    match decision {
        Decision::Admitted(reservation) => format!(
            "admitted {} in {}, used {}",
            reservation.amount,
            reservation.span.id(),
            reservation.used
        ),
        Decision::Refused(refusal) => format!(
            "refused in {}, used {}, retry after {:?}",
            refusal.span.id(),
            refusal.used,
            refusal.retry_after
        ),
    }
}

#[tokio::test]
async fn reserve_refuse_settle_and_read_back() {
    let story = on_both(|fixture| async move {
        let store = fixture.store;
        let mut story = Vec::new();
        let first = store
            .reserve("team-a", Window::Month, 600, 1000)
            .await
            .unwrap();
        story.push(show(first));
        story.push(show(
            store
                .reserve("team-a", Window::Month, 600, 1000)
                .await
                .unwrap(),
        ));
        // Another key and another window count apart.
        story.push(show(
            store
                .reserve("team-b", Window::Month, 600, 1000)
                .await
                .unwrap(),
        ));
        story.push(show(
            store
                .reserve("team-a", Window::Day, 600, 1000)
                .await
                .unwrap(),
        ));
        // Give back 500: 100 remain, so 600 fits again, up to 700.
        let span = first.span();
        story.push(format!(
            "after -500: {}",
            store.adjust("team-a", span, -500).await.unwrap()
        ));
        story.push(show(
            store
                .reserve("team-a", Window::Month, 600, 1000)
                .await
                .unwrap(),
        ));
        // Real use beyond the reservation counts too, and may pass the limit.
        story.push(format!(
            "after +400: {}",
            store.adjust("team-a", span, 400).await.unwrap()
        ));
        // A spent quota refuses even a reservation of zero.
        story.push(show(
            store
                .reserve("team-a", Window::Month, 0, 1000)
                .await
                .unwrap(),
        ));
        // Never below zero.
        story.push(format!(
            "after -5000: {}",
            store.adjust("team-a", span, -5000).await.unwrap()
        ));
        story.push(show(
            store
                .reserve("team-a", Window::Month, 0, 1000)
                .await
                .unwrap(),
        ));
        story.push(format!(
            "used: {}",
            store.used("team-a", Window::Month).await.unwrap()
        ));
        story.push(format!(
            "unknown: {}",
            store.used("nobody", Window::Month).await.unwrap()
        ));
        // Settling a key that reserved nothing records the real use.
        let fresh = Window::Month.span_at(store.now());
        story.push(format!(
            "fresh +300: {}",
            store.adjust("team-c", fresh, 300).await.unwrap()
        ));
        story
    })
    .await;
    assert_eq!(
        story,
        [
            "admitted 600 in 2025-11, used 600",
            "refused in 2025-11, used 600, retry after Some(3600s)",
            "admitted 600 in 2025-11, used 600",
            "admitted 600 in 2025-11-30, used 600",
            "after -500: 100",
            "admitted 600 in 2025-11, used 700",
            "after +400: 1100",
            "refused in 2025-11, used 1100, retry after Some(3600s)",
            "after -5000: 0",
            "admitted 0 in 2025-11, used 0",
            "used: 0",
            "unknown: 0",
            "fresh +300: 300",
        ]
    );
}

#[tokio::test]
async fn counters_reset_when_the_window_ends() {
    let story = on_both(|fixture| async move {
        let (store, clock) = (fixture.store, fixture.clock);
        let mut story = Vec::new();
        let november = store
            .reserve("team-a", Window::Month, 900, 1000)
            .await
            .unwrap();
        story.push(show(
            store
                .reserve("team-a", Window::Month, 200, 1000)
                .await
                .unwrap(),
        ));
        story.push(show(
            store
                .reserve("total", Window::Total, 900, 1000)
                .await
                .unwrap(),
        ));

        clock.advance(Duration::from_secs(3600));
        story.push(format!(
            "used: {}",
            store.used("team-a", Window::Month).await.unwrap()
        ));
        story.push(show(
            store
                .reserve("team-a", Window::Month, 200, 1000)
                .await
                .unwrap(),
        ));
        // Settling November's reservation in December leaves December alone.
        story.push(format!(
            "late settle: {}",
            store.adjust("team-a", november.span(), 5000).await.unwrap()
        ));
        story.push(format!(
            "used: {}",
            store.used("team-a", Window::Month).await.unwrap()
        ));
        // Total never resets.
        story.push(show(
            store
                .reserve("total", Window::Total, 200, 1000)
                .await
                .unwrap(),
        ));
        // Slices of a minute.
        let minute = Window::every(Duration::from_secs(60)).unwrap();
        story.push(show(store.reserve("calls", minute, 1, 1).await.unwrap()));
        story.push(show(store.reserve("calls", minute, 1, 1).await.unwrap()));
        clock.advance(Duration::from_secs(60));
        story.push(show(store.reserve("calls", minute, 1, 1).await.unwrap()));
        story
    })
    .await;
    let minute = (LATE_NOVEMBER + 3600) / 60;
    assert_eq!(
        story,
        [
            "refused in 2025-11, used 900, retry after Some(3600s)".to_owned(),
            "admitted 900 in total, used 900".to_owned(),
            "used: 0".to_owned(),
            "admitted 200 in 2025-12, used 200".to_owned(),
            "late settle: 0".to_owned(),
            "used: 200".to_owned(),
            "refused in total, used 900, retry after None".to_owned(),
            format!("admitted 1 in 60s-{minute}, used 1"),
            format!("refused in 60s-{minute}, used 1, retry after Some(60s)"),
            format!("admitted 1 in 60s-{}, used 1", minute + 1),
        ]
    );
}

/// Fires `count` reservations of `amount` at once over `stores` in turn and
/// counts the admitted ones.
async fn admitted_together(
    stores: &[Arc<dyn QuotaStore>],
    count: usize,
    amount: u64,
    limit: u64,
) -> usize {
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            tokio::spawn(async move {
                store
                    .reserve("shared", Window::Day, amount, limit)
                    .await
                    .unwrap()
                    .is_admitted()
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap() {
            admitted += 1;
        }
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_admit_exactly_what_fits() {
    on_both(|fixture| async move {
        let admitted = admitted_together(&[Arc::clone(&fixture.store)], 500, 7, 1000).await;
        assert_eq!(admitted, 1000 / 7, "{}", fixture.name);
        let used = fixture.store.used("shared", Window::Day).await.unwrap();
        assert_eq!(used, 1000 / 7 * 7, "{}", fixture.name);
        vec![admitted.to_string()]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_admit_exactly_the_limit() {
    let server = RedisServer::start();
    let instances: Vec<Arc<dyn QuotaStore>> = (0..2)
        .map(|_| Arc::new(RedisQuotaStore::open(&server.url()).unwrap()) as Arc<dyn QuotaStore>)
        .collect();
    let admitted = admitted_together(&instances, 500, 3, 100).await;
    assert_eq!(admitted, 33);
    for instance in &instances {
        assert_eq!(instance.used("shared", Window::Day).await.unwrap(), 99);
    }
}

#[tokio::test]
async fn redis_keys_are_named_and_expire_after_their_span() {
    let server = RedisServer::start();
    let fixture = redis(&server);
    fixture
        .store
        .reserve("budget:team-a", Window::Month, 5, 10)
        .await
        .unwrap();
    fixture
        .store
        .reserve("budget:team-a", Window::Total, 5, 10)
        .await
        .unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let month_ttl: i64 = redis::cmd("PTTL")
        .arg("towergate:budget:team-a:2025-11")
        .query_async(&mut connection)
        .await
        .unwrap();
    // The span ends in an hour; the key lives a little longer.
    assert!(
        month_ttl > 3_600_000 && month_ttl <= 3_610_000,
        "{month_ttl}"
    );
    let total_ttl: i64 = redis::cmd("PTTL")
        .arg("towergate:budget:team-a:total")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(total_ttl, -1, "a total never expires");
}

#[tokio::test]
async fn a_counter_that_is_not_a_number_is_corrupt() {
    let server = RedisServer::start();
    let fixture = redis(&server);
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SET")
        .arg("towergate:garbled:2025-11")
        .arg("not a number")
        .query_async(&mut connection)
        .await
        .unwrap();
    let error = fixture
        .store
        .reserve("garbled", Window::Month, 1, 10)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[tokio::test]
async fn a_prefix_keeps_two_deployments_apart() {
    let server = RedisServer::start();
    let blue = RedisQuotaStore::builder(server.url())
        .prefix("blue")
        .build()
        .unwrap();
    let green = RedisQuotaStore::builder(server.url())
        .prefix("green")
        .build()
        .unwrap();
    assert!(
        blue.reserve("k", Window::Day, 10, 10)
            .await
            .unwrap()
            .is_admitted()
    );
    assert!(
        green
            .reserve("k", Window::Day, 10, 10)
            .await
            .unwrap()
            .is_admitted()
    );
    assert_eq!(blue.used("k", Window::Day).await.unwrap(), 10);
}

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(message.contains("127.0.0.1"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redis_that_goes_down_makes_calls_fail_not_hang() {
    let mut server = RedisServer::start();
    let store = RedisQuotaStore::open(&server.url()).unwrap();
    let decision = store.reserve("k", Window::Day, 1, 10).await.unwrap();
    server.stop();
    tokio::time::timeout(NEVER_HANGS, async {
        assert_unavailable(store.reserve("k", Window::Day, 1, 10).await);
        assert_unavailable(store.adjust("k", decision.span(), -1).await);
        assert_unavailable(store.used("k", Window::Day).await);
        assert_unavailable(store.ping().await);
    })
    .await
    .unwrap();

    // The connection comes back with the server.
    server.restart().unwrap();
    tokio::time::timeout(NEVER_HANGS, async {
        while store.ping().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert!(
        store
            .reserve("k", Window::Day, 1, 10)
            .await
            .unwrap()
            .is_admitted()
    );
}

#[tokio::test]
async fn an_unreachable_redis_builds_at_once_and_fails_calls() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = RedisQuotaStore::builder(format!("redis://127.0.0.1:{port}"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    tokio::time::timeout(NEVER_HANGS, async {
        assert_unavailable(store.reserve("k", Window::Day, 1, 10).await);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn memory_drops_counters_of_ended_spans() {
    let clock = clock();
    let store = MemoryQuotaStore::with_clock(clock.clone());
    let minute = Window::every(Duration::from_secs(60)).unwrap();
    for caller in 0..1000 {
        store
            .reserve(&format!("caller-{caller}"), minute, 1, 10)
            .await
            .unwrap();
    }
    store
        .reserve("forever", Window::Total, 1, 10)
        .await
        .unwrap();
    assert_eq!(store.len(), 1001);
    clock.advance(Duration::from_secs(120));
    store.reserve("caller-0", minute, 1, 10).await.unwrap();
    assert_eq!(store.len(), 2, "only the fresh minute and the total remain");
}
