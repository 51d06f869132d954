//! MLflow's `limit`: exact under concurrency, refilled evenly, kept across rebuilds.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use governor::clock::FakeRelativeClock;
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
};
use towergate_ratelimit::{CallLimit, CallLimitLayer, LimitStore, RenewalPeriod};

type Answer = Result<GatewayResponse, GatewayError>;

fn request() -> GatewayRequest {
    GatewayRequest::new("chat", Operation::ListEndpoints)
}

fn counting(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<
    GatewayRequest,
    Response = GatewayResponse,
    Error = GatewayError,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    service_fn(move |_request: GatewayRequest| {
        let calls = Arc::clone(&calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admits_exactly_the_limit_under_200_concurrent_requests() {
    let calls = Arc::new(AtomicUsize::new(0));
    let store = LimitStore::new();
    let service = store
        .layer("chat", CallLimit::new(50, RenewalPeriod::Day).unwrap())
        .layer(counting(Arc::clone(&calls)));
    let barrier = Arc::new(tokio::sync::Barrier::new(200));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let service = service.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                service.oneshot(request()).await
            })
        })
        .collect();
    let mut admitted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::RateLimited);
                refused += 1;
            }
        }
    }
    assert_eq!(admitted, 50);
    assert_eq!(refused, 150);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        50,
        "a refused call reached the inner service"
    );
}

#[tokio::test]
async fn capacity_comes_back_evenly_over_the_period() {
    let clock = FakeRelativeClock::default();
    let limit = CallLimit::new(4, RenewalPeriod::Second).unwrap();
    let service = CallLimitLayer::with_clock(limit, clock.clone())
        .layer(counting(Arc::new(AtomicUsize::new(0))));
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        outcomes.push(service.clone().oneshot(request()).await.is_ok());
    }
    assert_eq!(outcomes, [true, true, true, true, false]);

    let refused: Answer = service.clone().oneshot(request()).await;
    let wait = refused.unwrap_err().retry_after().unwrap();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_millis(250),
        "{wait:?}"
    );

    // A quarter of the period brings back one call, not the whole burst.
    clock.advance(Duration::from_millis(250));
    assert!(service.clone().oneshot(request()).await.is_ok());
    assert!(service.clone().oneshot(request()).await.is_err());

    // A whole period brings back the whole burst.
    clock.advance(Duration::from_secs(1));
    for _ in 0..4 {
        assert!(service.clone().oneshot(request()).await.is_ok());
    }
    assert!(service.clone().oneshot(request()).await.is_err());
}

#[tokio::test]
async fn the_refusal_speaks_mlflows_words() {
    let service = LimitStore::new()
        .layer("chat", CallLimit::new(1, RenewalPeriod::Hour).unwrap())
        .layer(counting(Arc::new(AtomicUsize::new(0))));
    service.clone().oneshot(request()).await.unwrap();
    let error = service.oneshot(request()).await.unwrap_err();
    assert_eq!(error.status().as_u16(), 429);
    assert_eq!(error.message(), "Rate limit exceeded: 1 per 1 hour");
    let wait = error.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_rebuilt_layer_keeps_what_was_spent_and_a_new_limit_starts_afresh() {
    let store = LimitStore::new();
    let limit = CallLimit::new(2, RenewalPeriod::Day).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let first = store
        .layer("chat", limit)
        .layer(counting(Arc::clone(&calls)));
    first.clone().oneshot(request()).await.unwrap();
    first.oneshot(request()).await.unwrap();

    let rebuilt = store
        .layer("chat", limit)
        .layer(counting(Arc::clone(&calls)));
    assert!(
        rebuilt.oneshot(request()).await.is_err(),
        "a reload reset the limit"
    );

    let other = store
        .layer("other", limit)
        .layer(counting(Arc::clone(&calls)));
    assert!(
        other.oneshot(request()).await.is_ok(),
        "endpoints share a limiter"
    );

    let raised = CallLimit::new(3, RenewalPeriod::Day).unwrap();
    let changed = store
        .layer("chat", raised)
        .layer(counting(Arc::clone(&calls)));
    assert!(changed.oneshot(request()).await.is_ok());

    store.retain([("chat", raised)]);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn inner_errors_pass_through_untouched() {
    let failing = service_fn(|_request: GatewayRequest| async {
        Err::<GatewayResponse, _>(GatewayError::bad_gateway("upstream down"))
    });
    let service = LimitStore::new()
        .layer("chat", CallLimit::new(5, RenewalPeriod::Minute).unwrap())
        .layer(failing);
    let error = service.oneshot(request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.message(), "upstream down");
}

#[test]
fn zero_calls_is_refused() {
    assert!(CallLimit::new(0, RenewalPeriod::Minute).is_err());
    assert!(CallLimit::new(u64::from(u32::MAX) + 1, RenewalPeriod::Minute).is_err());
}
