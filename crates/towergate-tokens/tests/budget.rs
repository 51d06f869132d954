//! BudgetLayer over a `service_fn`, on the memory store and on a real Redis.
#![allow(missing_docs, clippy::unwrap_used)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    Caller, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, Usage,
    settle::{Settlements, Spent},
};
use towergate_state::{
    ManualClock, MemoryQuotaStore, QuotaStore, RedisQuotaStore, StoreError, StoreFuture, Window,
};
use towergate_testkit::redis::RedisServer;
use towergate_tokens::budget::{Budget, BudgetLayer, BudgetPeriod, OnStoreError};

/// 2025-11-30T23:00:00Z: an hour before December.
const LATE_NOVEMBER: u64 = 1_764_543_600;

/// A hang guard for waits that must end; not a latency assertion.
const NEVER_HANGS: Duration = Duration::from_secs(10);

fn request_from(caller: Option<&str>) -> GatewayRequest {
    let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
    if let Some(caller) = caller {
        request.extensions.insert(Caller::new(caller));
    }
    request
}

fn answer() -> GatewayResponse {
    GatewayResponse::new(Payload::Endpoints(Vec::new()))
}

fn spent(cost_usd: f64) -> Spent {
    Spent::new(Usage::new(10, 5), cost_usd)
}

/// Waits until `key`'s spend this month is `expected` micro-dollars (settlement
/// runs in the background).
async fn spend_becomes(store: &dyn QuotaStore, expected: u64) {
    let key = "budget:team-a";
    let waited = tokio::time::timeout(NEVER_HANGS, async {
        loop {
            if store.used(key, Window::Month).await.unwrap() == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let used = store.used(key, Window::Month).await.unwrap();
    assert!(waited.is_ok(), "spend stayed {used}, expected {expected}");
}

fn memory_store() -> (Arc<dyn QuotaStore>, ManualClock) {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(LATE_NOVEMBER));
    (Arc::new(MemoryQuotaStore::with_clock(clock.clone())), clock)
}

#[tokio::test]
async fn a_refusal_is_429_budget_exceeded_with_retry_after() {
    let (store, _clock) = memory_store();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let service = BudgetLayer::new(store)
        .budget("team-a", Budget::new(25.0, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(20.0))
        .layer(service_fn(move |_request: GatewayRequest| {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, GatewayError>(answer()) }
        }));

    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    let refused = service
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap_err();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a refusal never calls the inner service"
    );
    assert_eq!(refused.kind(), ErrorKind::BudgetExceeded);
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.kind().type_name(), "budget_exceeded");
    assert_eq!(refused.code(), Some("budget_exceeded"));
    assert_eq!(
        refused.message(),
        "budget of team-a exceeded: $25.00 per month, $20.00 spent or reserved, \
         and this request may cost up to $20.00"
    );
    // November ends in an hour.
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_total_budget_has_no_retry_after() {
    let (store, _clock) = memory_store();
    let service = BudgetLayer::new(store)
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Total))
        .estimate(|_: &GatewayRequest| Some(1.5))
        .layer(service_fn(|_request: GatewayRequest| async {
            Ok::<_, GatewayError>(answer())
        }));
    let refused = service
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::BudgetExceeded);
    assert_eq!(refused.retry_after(), None);
    assert!(
        refused.message().contains("$1.00 in total"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn the_budget_resets_with_its_period() {
    let (store, clock) = memory_store();
    let service = BudgetLayer::new(store)
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(1.0))
        .layer(service_fn(|_request: GatewayRequest| async {
            Ok::<_, GatewayError>(answer())
        }));
    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    let refused = service.clone().oneshot(request_from(Some("team-a"))).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::BudgetExceeded);
    clock.advance(Duration::from_secs(3600));
    service.oneshot(request_from(Some("team-a"))).await.unwrap();
}

#[tokio::test]
async fn settling_gives_back_what_was_not_used() {
    let (store, _clock) = memory_store();
    let service = BudgetLayer::new(Arc::clone(&store))
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(0.6))
        .layer(service_fn(|request: GatewayRequest| async move {
            let settlements = request.extensions.get::<Settlements>().unwrap();
            settlements.settle(&spent(0.1));
            Ok::<_, GatewayError>(answer())
        }));
    // Without the give-back the second request ($0.60 + $0.60) would not fit.
    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    spend_becomes(store.as_ref(), 100_000).await;
    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    spend_becomes(store.as_ref(), 200_000).await;
}

#[tokio::test]
async fn a_reservation_never_settled_stays_spent() {
    let (store, _clock) = memory_store();
    let service = BudgetLayer::new(Arc::clone(&store))
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(0.6))
        // No accounting layer: nobody settles.
        .layer(service_fn(|_request: GatewayRequest| async {
            Ok::<_, GatewayError>(answer())
        }));
    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    tokio::task::yield_now().await;
    assert_eq!(
        store.used("budget:team-a", Window::Month).await.unwrap(),
        600_000
    );
    let refused = service.oneshot(request_from(Some("team-a"))).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::BudgetExceeded);
}

#[tokio::test]
async fn an_unknown_price_reserves_nothing_until_the_budget_is_spent() {
    let (store, _clock) = memory_store();
    let service = BudgetLayer::new(Arc::clone(&store))
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .layer(service_fn(|request: GatewayRequest| async move {
            request
                .extensions
                .get::<Settlements>()
                .unwrap()
                .settle(&spent(0.7));
            Ok::<_, GatewayError>(answer())
        }));
    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    spend_becomes(store.as_ref(), 700_000).await;
    // $0.30 left: still admitted, and its real cost passes the budget.
    service
        .clone()
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap();
    spend_becomes(store.as_ref(), 1_400_000).await;
    let refused = service
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::BudgetExceeded);
    assert_eq!(
        refused.message(),
        "budget of team-a exceeded: $1.00 per month, $1.40 spent or reserved"
    );
}

#[tokio::test]
async fn callers_without_a_budget_pass_untouched() {
    let store = Arc::new(MemoryQuotaStore::new());
    let settlements_seen = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&settlements_seen);
    let service = BudgetLayer::new(Arc::clone(&store) as Arc<dyn QuotaStore>)
        .budget("team-a", Budget::new(0.0, BudgetPeriod::Day))
        .estimate(|_: &GatewayRequest| Some(1.0))
        .layer(service_fn(move |request: GatewayRequest| {
            if request.extensions.get::<Settlements>().is_some() {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            async { Ok::<_, GatewayError>(answer()) }
        }));
    service.clone().oneshot(request_from(None)).await.unwrap();
    service
        .clone()
        .oneshot(request_from(Some("team-b")))
        .await
        .unwrap();
    assert_eq!(settlements_seen.load(Ordering::SeqCst), 0);
    assert!(store.is_empty(), "nothing was counted");
    // A budget of zero refuses its caller.
    let refused = service.oneshot(request_from(Some("team-a"))).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::BudgetExceeded);
}

#[tokio::test]
async fn the_inner_error_comes_back_unchanged() {
    let (store, _clock) = memory_store();
    let service = BudgetLayer::new(store)
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .layer(service_fn(|_request: GatewayRequest| async {
            Err::<GatewayResponse, _>(GatewayError::bad_gateway("upstream reset"))
        }));
    let error = service
        .oneshot(request_from(Some("team-a")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.message(), "upstream reset");
}

/// A store that is always down.
#[derive(Debug)]
struct DownStore;

impl QuotaStore for DownStore {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn reserve<'a>(
        &'a self,
        _key: &'a str,
        _window: Window,
        _amount: u64,
        _limit: u64,
    ) -> StoreFuture<'a, towergate_state::Decision> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }

    fn adjust<'a>(
        &'a self,
        _key: &'a str,
        _span: towergate_state::Span,
        _delta: i64,
    ) -> StoreFuture<'a, u64> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }

    fn used<'a>(&'a self, _key: &'a str, _window: Window) -> StoreFuture<'a, u64> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }
}

async fn store_down_outcome(
    store: Arc<dyn QuotaStore>,
    policy: OnStoreError,
) -> (Result<GatewayResponse, GatewayError>, usize, u64) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let layer = BudgetLayer::new(store)
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(0.1))
        .on_store_error(policy);
    let service = layer.layer(service_fn(move |request: GatewayRequest| {
        seen.fetch_add(1, Ordering::SeqCst);
        if let Some(settlements) = request.extensions.get::<Settlements>() {
            settlements.settle(&spent(0.05));
        }
        async { Ok::<_, GatewayError>(answer()) }
    }));
    let outcome = tokio::time::timeout(NEVER_HANGS, service.oneshot(request_from(Some("team-a"))))
        .await
        .expect("a store that is down must not hang the request");
    (outcome, calls.load(Ordering::SeqCst), layer.store_errors())
}

fn assert_closed(outcome: (Result<GatewayResponse, GatewayError>, usize, u64)) {
    let (result, calls, errors) = outcome;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert_eq!(error.status().as_u16(), 503);
    assert!(
        error.message().contains("budget of team-a"),
        "{}",
        error.message()
    );
    assert!(
        !error.message().contains("127.0.0.1"),
        "{}",
        error.message()
    );
    assert_eq!(calls, 0);
    assert_eq!(errors, 1);
}

fn assert_open(outcome: (Result<GatewayResponse, GatewayError>, usize, u64)) {
    let (result, calls, errors) = outcome;
    assert!(result.is_ok());
    assert_eq!(calls, 1);
    assert_eq!(errors, 1);
}

#[tokio::test]
async fn a_store_that_is_down_refuses_or_admits_as_configured() {
    assert_closed(store_down_outcome(Arc::new(DownStore), OnStoreError::Closed).await);
    assert_open(store_down_outcome(Arc::new(DownStore), OnStoreError::Open).await);
}

#[tokio::test]
async fn a_redis_that_is_down_refuses_or_admits_as_configured() {
    let mut server = RedisServer::start();
    let store: Arc<dyn QuotaStore> = Arc::new(
        RedisQuotaStore::builder(server.url())
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    );
    server.stop();
    assert_closed(store_down_outcome(Arc::clone(&store), OnStoreError::Closed).await);
    assert_open(store_down_outcome(store, OnStoreError::Open).await);
}

/// Budget $0.01; each request is estimated at $0.0005 at worst: 20 fit.
const BUDGET_USD: f64 = 0.01;
const ESTIMATE_USD: f64 = 0.0005;
const REQUESTS: usize = 500;

/// Fires 500 requests at once at a $0.01 budget; each really costs
/// `real_usd`, settled at once by the inner service or, when `hold` is set,
/// only after every request has been decided. Returns how many were admitted.
async fn burst(store: Arc<dyn QuotaStore>, real_usd: f64, hold: bool) -> usize {
    let held: Arc<Mutex<Vec<Settlements>>> = Arc::default();
    let keep = Arc::clone(&held);
    let service = BudgetLayer::new(store)
        .budget("team-a", Budget::new(BUDGET_USD, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(ESTIMATE_USD))
        .layer(service_fn(move |request: GatewayRequest| {
            let settlements = request.extensions.get::<Settlements>().cloned().unwrap();
            if hold {
                keep.lock().unwrap().push(settlements);
            } else {
                settlements.settle(&spent(real_usd));
            }
            async { Ok::<_, GatewayError>(answer()) }
        }));
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|_| tokio::spawn(service.clone().oneshot(request_from(Some("team-a")))))
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(error) => assert_eq!(error.kind(), ErrorKind::BudgetExceeded, "{error}"),
        }
    }
    for settlements in held.lock().unwrap().drain(..) {
        settlements.settle(&spent(real_usd));
    }
    admitted
}

async fn never_overspends(store: Arc<dyn QuotaStore>) {
    // Each request costs exactly its estimate: exactly 20 fit, spending all.
    let admitted = burst(Arc::clone(&store), ESTIMATE_USD, false).await;
    assert_eq!(admitted, 20);
    spend_becomes(store.as_ref(), 10_000).await;
}

async fn gives_back_under_load(store: Arc<dyn QuotaStore>) {
    // Each costs $0.0003 of its $0.0005, settled after all were decided:
    // 20 fit, $0.006 is spent, and $0.004 is free again for 8 more.
    let admitted = burst(Arc::clone(&store), 0.0003, true).await;
    assert_eq!(admitted, 20);
    spend_becomes(store.as_ref(), 6_000).await;
    let admitted = burst(Arc::clone(&store), ESTIMATE_USD, false).await;
    assert_eq!(admitted, 8);
    spend_becomes(store.as_ref(), 10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_overspend_in_memory() {
    never_overspends(Arc::new(MemoryQuotaStore::new())).await;
    gives_back_under_load(Arc::new(MemoryQuotaStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_overspend_on_redis() {
    let server = RedisServer::start();
    never_overspends(Arc::new(
        RedisQuotaStore::builder(server.url())
            .prefix("first")
            .build()
            .unwrap(),
    ))
    .await;
    gives_back_under_load(Arc::new(
        RedisQuotaStore::builder(server.url())
            .prefix("second")
            .build()
            .unwrap(),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateway_instances_share_one_budget_on_redis() {
    let server = RedisServer::start();
    let layers: Vec<_> = (0..2)
        .map(|_| {
            let store: Arc<dyn QuotaStore> =
                Arc::new(RedisQuotaStore::open(&server.url()).unwrap());
            BudgetLayer::new(store)
                .budget("team-a", Budget::new(BUDGET_USD, BudgetPeriod::Month))
                .estimate(|_: &GatewayRequest| Some(ESTIMATE_USD))
        })
        .collect();
    let services: Vec<_> = layers
        .iter()
        .map(|layer| {
            layer.layer(service_fn(|_request: GatewayRequest| async {
                Ok::<_, GatewayError>(answer())
            }))
        })
        .collect();
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let service = services[i % 2].clone();
            tokio::spawn(service.oneshot(request_from(Some("team-a"))))
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_from_a_thread_off_the_runtime_still_lands() {
    let server = RedisServer::start();
    let store: Arc<dyn QuotaStore> = Arc::new(RedisQuotaStore::open(&server.url()).unwrap());
    let held: Arc<Mutex<Option<Settlements>>> = Arc::default();
    let keep = Arc::clone(&held);
    let service = BudgetLayer::new(Arc::clone(&store))
        .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(0.5))
        .layer(service_fn(move |request: GatewayRequest| {
            *keep.lock().unwrap() = request.extensions.get::<Settlements>().cloned();
            async { Ok::<_, GatewayError>(answer()) }
        }));
    service.oneshot(request_from(Some("team-a"))).await.unwrap();
    let settlements = held.lock().unwrap().take().unwrap();
    std::thread::spawn(move || settlements.settle(&spent(0.2)))
        .join()
        .unwrap();
    spend_becomes(store.as_ref(), 200_000).await;
}
