//! The exact cache over an in-process provider: hit, miss, bypass,
//! coalescing, errors, time to live.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use support::*;
use tower_layer::Layer;
use towergate_cache::CacheLayer;
use towergate_core::{CacheVerdict, ErrorKind, GatewayError, Operation};
use towergate_testkit::MockProvider;

#[tokio::test]
async fn a_repeated_question_is_a_hit_and_calls_no_upstream() {
    let upstream = MockProvider::new().reply("Paris.");
    let service = cached(upstream.clone());

    let first = call(&service, chat("Capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&first), Some(CacheVerdict::Miss));
    let second = call(&service, chat("Capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&second), Some(CacheVerdict::Hit));
    assert_eq!(upstream.calls(), 1);
    // The very answer, id and usage included.
    assert_eq!(second.meta.usage, first.meta.usage);
    assert_eq!(complete(second), complete(first));

    let other = call(&service, chat("Capital of Spain?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&other), Some(CacheVerdict::Miss));
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn the_user_field_does_not_split_the_cache_but_parameters_do() {
    let upstream = MockProvider::new();
    let service = cached(upstream.clone());
    let mut request = chat("Hello", false);
    call(&service, chat("Hello", false)).await.unwrap();

    let Operation::Chat(body) = &mut request.operation else {
        unreachable!()
    };
    body.user = Some("another-user".into());
    assert_eq!(
        verdict(&call(&service, request).await.unwrap()),
        Some(CacheVerdict::Hit)
    );

    let mut warmer = chat("Hello", false);
    let Operation::Chat(body) = &mut warmer.operation else {
        unreachable!()
    };
    body.temperature = Some(0.9);
    assert_eq!(
        verdict(&call(&service, warmer).await.unwrap()),
        Some(CacheVerdict::Miss)
    );
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn no_cache_calls_the_upstream_and_refreshes_the_entry() {
    let upstream = MockProvider::new();
    let service = cached(upstream.clone());
    let first = complete(call(&service, chat("Hi", false)).await.unwrap());

    let fresh = call(&service, with_cache_control(chat("Hi", false), "no-cache"))
        .await
        .unwrap();
    assert_eq!(verdict(&fresh), Some(CacheVerdict::Bypass));
    assert_eq!(upstream.calls(), 2);
    let fresh = complete(fresh);
    assert_ne!(fresh.id, first.id, "the upstream answered anew");

    // The fresh answer replaced the cached one.
    let again = call(&service, chat("Hi", false)).await.unwrap();
    assert_eq!(verdict(&again), Some(CacheVerdict::Hit));
    assert_eq!(complete(again).id, fresh.id);
}

#[tokio::test]
async fn no_store_neither_reads_nor_writes() {
    let upstream = MockProvider::new();
    let service = cached(upstream.clone());
    let bypass = call(&service, with_cache_control(chat("Hi", false), "no-store"))
        .await
        .unwrap();
    assert_eq!(verdict(&bypass), Some(CacheVerdict::Bypass));
    // Nothing was stored: the next plain request misses.
    let next = call(&service, chat("Hi", false)).await.unwrap();
    assert_eq!(verdict(&next), Some(CacheVerdict::Miss));
    // And a cached answer is not read under no-store.
    let bypass = call(&service, with_cache_control(chat("Hi", false), "no-store"))
        .await
        .unwrap();
    assert_eq!(verdict(&bypass), Some(CacheVerdict::Bypass));
    assert_eq!(upstream.calls(), 3);
}

#[tokio::test]
async fn a_hundred_concurrent_identical_misses_make_one_upstream_call() {
    let upstream = MockProvider::new().latency(Duration::from_millis(200));
    let service = cached(upstream.clone());
    let answers = join_all((0..100).map(|_| call(&service, chat("Same question", false)))).await;
    assert_eq!(upstream.calls(), 1);
    let verdicts: Vec<_> = answers
        .iter()
        .map(|a| verdict(a.as_ref().unwrap()))
        .collect();
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == Some(CacheVerdict::Miss))
            .count(),
        1
    );
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == Some(CacheVerdict::Hit))
            .count(),
        99
    );
    let ids: std::collections::HashSet<_> = answers
        .into_iter()
        .map(|a| complete(a.unwrap()).id)
        .collect();
    assert_eq!(ids.len(), 1, "every caller got the one answer");
}

#[tokio::test]
async fn concurrent_misses_share_the_leaders_error_and_errors_are_never_stored() {
    let upstream = MockProvider::new()
        .latency(Duration::from_millis(100))
        .fail_with(GatewayError::new(
            ErrorKind::Upstream(http::StatusCode::SERVICE_UNAVAILABLE),
            "overloaded",
        ));
    let service = cached(upstream.clone());
    let answers = join_all((0..10).map(|_| call(&service, chat("Q", false)))).await;
    assert_eq!(upstream.calls(), 1);
    for answer in answers {
        let error = answer.unwrap_err();
        assert_eq!(error.status().as_u16(), 503);
        assert_eq!(error.message(), "overloaded");
    }
    // The error was not cached: the next request calls the upstream again.
    assert!(call(&service, chat("Q", false)).await.is_err());
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn a_leader_that_goes_away_lets_a_waiting_miss_call_the_upstream() {
    let upstream = MockProvider::new().latency(Duration::from_millis(300));
    let service = cached(upstream.clone());
    let leader = tokio::spawn({
        let service = service.clone();
        async move { call(&service, chat("Q", false)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let follower = tokio::spawn({
        let service = service.clone();
        async move { call(&service, chat("Q", false)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    leader.abort();
    let answer = follower.await.unwrap().unwrap();
    assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn answers_expire_after_the_ttl() {
    let upstream = MockProvider::new();
    let store = std::sync::Arc::new(towergate_cache::MemoryCacheStore::new(1 << 20));
    let service = CacheLayer::new(store, Duration::from_millis(100)).layer(upstream.clone());
    call(&service, chat("Q", false)).await.unwrap();
    assert_eq!(
        verdict(&call(&service, chat("Q", false)).await.unwrap()),
        Some(CacheVerdict::Hit)
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        verdict(&call(&service, chat("Q", false)).await.unwrap()),
        Some(CacheVerdict::Miss)
    );
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn embeddings_are_cached() {
    let upstream = MockProvider::new();
    let service = cached(upstream.clone());
    let embed = || {
        let request = serde_json::from_value(serde_json::json!({"input": ["a", "b"]})).unwrap();
        towergate_core::GatewayRequest::new("embed", Operation::Embeddings(request))
    };
    call(&service, embed()).await.unwrap();
    let hit = call(&service, embed()).await.unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_namespace_keeps_answers_apart_in_one_store() {
    let store = std::sync::Arc::new(towergate_cache::MemoryCacheStore::new(1 << 20));
    let ttl = Duration::from_secs(60);
    let old_model = MockProvider::new().reply("old");
    let new_model = MockProvider::new().reply("new");
    let before = CacheLayer::new(store.clone(), ttl)
        .namespace("chat/openai/gpt-4o-mini")
        .layer(old_model.clone());
    let after = CacheLayer::new(store.clone(), ttl)
        .namespace("chat/anthropic/claude")
        .layer(new_model.clone());
    call(&before, chat("Q", false)).await.unwrap();
    let answer = call(&after, chat("Q", false)).await.unwrap();
    assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
    assert_eq!(text(&complete(answer)), "new");
    // The same namespace shares the store's answers.
    let again = CacheLayer::new(store, ttl)
        .namespace("chat/openai/gpt-4o-mini")
        .layer(MockProvider::new());
    let answer = call(&again, chat("Q", false)).await.unwrap();
    assert_eq!(verdict(&answer), Some(CacheVerdict::Hit));
    assert_eq!(text(&complete(answer)), "old");
}
