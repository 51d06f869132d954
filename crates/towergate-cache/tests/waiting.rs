//! How long and for what a miss waits on an identical call in flight, and
//! hits that need nothing of a busy upstream.
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures_util::{future::join_all, stream};
use support::*;
use tower_layer::Layer;
use tower_service::Service;
use towergate_core::{CacheVerdict, GatewayError, GatewayRequest, GatewayResponse, Payload};
use towergate_testkit::MockProvider;

/// Long enough for a test that waits on the cache to fail rather than hang.
const NEVER_HANGS: Duration = Duration::from_secs(10);

/// Counts streams open at once, and the most ever open.
#[derive(Clone, Default)]
struct Gauge {
    open: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

/// One open stream of a [`Gauge`]; closes when dropped.
struct Open(Gauge);

impl Gauge {
    fn open(&self) -> Open {
        let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        Open(self.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn followers_of_a_stream_that_cannot_be_kept_call_at_once_not_in_turn() {
    // Every call streams one chunk slowly and ends without a finish reason.
    let calls = Arc::new(AtomicUsize::new(0));
    let gauge = Gauge::default();
    let upstream = {
        let (calls, gauge) = (Arc::clone(&calls), gauge.clone());
        tower::service_fn(move |_request: GatewayRequest| {
            calls.fetch_add(1, Ordering::SeqCst);
            let open = gauge.open();
            async move {
                let chunk = serde_json::from_value(serde_json::json!({
                    "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "cut"}, "finish_reason": null}]
                }))
                .unwrap();
                let slow = stream::unfold((Some(chunk), open), |(chunk, open)| async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    chunk.map(|chunk| (Ok(chunk), (None, open)))
                });
                Ok::<_, GatewayError>(GatewayResponse::new(Payload::ChatStream(Box::pin(slow))))
            }
        })
    };
    let service = cached(upstream);
    let leader = call(&service, chat("Q", true)).await.unwrap();
    let followers: Vec<_> = (0..5)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move {
                let answer = call(&service, chat("Q", true)).await?;
                Ok::<_, GatewayError>(chunks(answer).await.len())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "followers wait for the leader"
    );
    assert_eq!(chunks(leader).await.len(), 1);
    let answers = tokio::time::timeout(NEVER_HANGS, join_all(followers))
        .await
        .unwrap();
    assert!(
        answers
            .into_iter()
            .all(|answer| answer.unwrap().unwrap() == 1)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    // The five followers streamed side by side, not one after another.
    assert_eq!(gauge.most.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_follower_waits_at_most_max_wait_then_calls_itself() {
    let upstream = MockProvider::new().latency(Duration::from_millis(600));
    let service = memory_cache()
        .max_wait(Duration::from_millis(50))
        .layer(upstream.clone());
    let leader = tokio::spawn({
        let service = service.clone();
        async move { call(&service, chat("Slow", false)).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let follower = call(&service, chat("Slow", false)).await.unwrap();
    assert_eq!(verdict(&follower), Some(CacheVerdict::Miss));
    assert_eq!(
        upstream.calls(),
        2,
        "the follower did not wait for the leader"
    );
    assert_eq!(
        verdict(&leader.await.unwrap().unwrap()),
        Some(CacheVerdict::Miss)
    );
}

/// An upstream that can be made unready.
#[derive(Clone)]
struct Gate {
    inner: MockProvider,
    open: Arc<AtomicBool>,
}

impl Service<GatewayRequest> for Gate {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = <MockProvider as Service<GatewayRequest>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), GatewayError>> {
        if self.open.load(Ordering::SeqCst) {
            self.inner.poll_ready(cx)
        } else {
            // Never woken: a test that needs it ready would hang.
            Poll::Pending
        }
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        self.inner.call(request)
    }
}

#[tokio::test]
async fn a_hit_needs_nothing_of_an_upstream_that_is_not_ready() {
    let open = Arc::new(AtomicBool::new(true));
    let upstream = MockProvider::new();
    let mut service = cached(Gate {
        inner: upstream.clone(),
        open: Arc::clone(&open),
    });
    call(&service, chat("Q", false)).await.unwrap();
    open.store(false, Ordering::SeqCst);
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .unwrap();
    let hit = tokio::time::timeout(NEVER_HANGS, service.call(chat("Q", false)))
        .await
        .expect("a hit does not wait for the upstream")
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    assert_eq!(upstream.calls(), 1);
}
