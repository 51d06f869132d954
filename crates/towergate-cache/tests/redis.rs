//! The Redis store shared by two gateway instances (each with its own
//! cache layer and upstream) on one real `redis-server`: answers, streams
//! and paraphrases cached by one answer the other; answers expire; a Redis
//! that goes down costs upstream calls, never refusals; each partition
//! keeps a bounded list of prompt vectors.

#![allow(clippy::unwrap_used)]

mod support;

use std::{sync::Arc, time::Duration};

use redis::AsyncCommands;
use support::*;
use tower_layer::Layer;
use towergate_cache::{CacheLayer, Cached, RedisCacheStore, SIMILARITY_HEADER};
use towergate_core::CacheVerdict;
use towergate_testkit::{MockProvider, redis::RedisServer};

const TEN_MINUTES: Duration = Duration::from_secs(600);
const THRESHOLD: f32 = 0.9;

/// Long enough for a test that waits on Redis to fail rather than hang.
const NEVER_HANGS: Duration = Duration::from_secs(20);

/// One gateway instance: its own store connection, cache layer and upstream.
struct Instance {
    upstream: MockProvider,
    service: Cached<MockProvider>,
}

/// The store of an instance on `server`, keeping `candidates` vectors a partition.
fn store(server: &RedisServer, candidates: usize) -> Arc<RedisCacheStore> {
    Arc::new(
        RedisCacheStore::builder(server.url())
            .candidates(candidates)
            .build()
            .unwrap(),
    )
}

/// An instance caching exactly on `server` for `ttl`.
fn exact(server: &RedisServer, ttl: Duration) -> Instance {
    let upstream = MockProvider::new();
    let layer = CacheLayer::new(store(server, 1000), ttl);
    Instance {
        service: layer.layer(upstream.clone()),
        upstream,
    }
}

/// An instance also caching by meaning on `server`, with a store keeping
/// `candidates` vectors a partition.
fn semantic(server: &RedisServer, embedder: &Arc<WordEmbedder>, candidates: usize) -> Instance {
    let upstream = MockProvider::new();
    let layer = semantic_cache(store(server, candidates), TEN_MINUTES, embedder, THRESHOLD);
    Instance {
        service: layer.layer(upstream.clone()),
        upstream,
    }
}

/// A plain connection to `server`, to look at what the stores wrote.
async fn connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_miss_on_one_instance_is_a_hit_on_the_other() {
    let server = RedisServer::start();
    let (a, b) = (exact(&server, TEN_MINUTES), exact(&server, TEN_MINUTES));

    let miss = call(&a.service, chat("Capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&miss), Some(CacheVerdict::Miss));
    let usage = miss.meta.usage.clone();
    let original = complete(miss);

    let hit = call(&b.service, chat("Capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    assert_eq!(hit.meta.usage, usage);
    assert_eq!(hit.meta.provider.as_deref(), Some("mock"));
    assert_eq!(same_json(complete(hit)), same_json(original));
    assert_eq!(a.upstream.calls(), 1);
    assert_eq!(b.upstream.calls(), 0);
}

/// `value` as it reads back from JSON. The mock upstream sends
/// `"logprobs": null`, which towergate-core's types read back as no
/// `logprobs` at all: an answer that went through Redis is compared with
/// the first after the same trip.
fn same_json<T: serde::Serialize + serde::de::DeserializeOwned>(value: T) -> T {
    serde_json::from_value(serde_json::to_value(value).unwrap()).unwrap()
}

#[tokio::test]
async fn a_stream_recorded_on_one_instance_replays_on_the_other() {
    let server = RedisServer::start();
    let (a, b) = (exact(&server, TEN_MINUTES), exact(&server, TEN_MINUTES));

    let miss = call(&a.service, chat("Capital of France?", true))
        .await
        .unwrap();
    assert_eq!(verdict(&miss), Some(CacheVerdict::Miss));
    let original = chunks(miss).await;
    assert!(original.len() > 3);

    let hit = call(&b.service, chat("Capital of France?", true))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    let replayed = chunks(hit).await;
    assert_eq!(replayed.len(), original.len());
    for (replayed, original) in replayed.into_iter().zip(original) {
        assert_eq!(replayed, same_json(original));
    }
    assert_eq!(b.upstream.calls(), 0);

    // And completions, kept in the same store.
    let original = completion_chunks(
        call(&a.service, completion("Once upon a time", true))
            .await
            .unwrap(),
    )
    .await;
    let hit = call(&b.service, completion("Once upon a time", true))
        .await
        .unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    assert_eq!(completion_chunks(hit).await, same_json(original));
    assert_eq!(b.upstream.calls(), 0);
}

#[tokio::test]
async fn answers_expire_for_every_instance_after_the_ttl() {
    let server = RedisServer::start();
    let ttl = Duration::from_millis(300);
    let (a, b) = (exact(&server, ttl), exact(&server, ttl));

    call(&a.service, chat("Q", false)).await.unwrap();
    let hit = call(&b.service, chat("Q", false)).await.unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));

    tokio::time::sleep(Duration::from_millis(600)).await;
    let expired = call(&b.service, chat("Q", false)).await.unwrap();
    assert_eq!(verdict(&expired), Some(CacheVerdict::Miss));
    assert_eq!((a.upstream.calls(), b.upstream.calls()), (1, 1));
}

#[tokio::test]
async fn a_paraphrase_on_one_instance_hits_the_answer_of_the_other() {
    let server = RedisServer::start();
    let embedder = WordEmbedder::shared();
    let a = semantic(&server, &embedder, 1000);
    let b = semantic(&server, &embedder, 1000);

    let original = complete(
        call(&a.service, chat("What is the capital of France?", false))
            .await
            .unwrap(),
    );
    let paraphrase = call(&b.service, chat("Tell me the capital of France", false))
        .await
        .unwrap();
    assert_eq!(verdict(&paraphrase), Some(CacheVerdict::Hit));
    assert!(paraphrase.meta.headers.contains_key(SIMILARITY_HEADER));
    assert_eq!(same_json(complete(paraphrase)), same_json(original));

    let unrelated = call(&b.service, chat("How do I bake bread?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&unrelated), Some(CacheVerdict::Miss));
    assert_eq!((a.upstream.calls(), b.upstream.calls()), (1, 1));
}

#[tokio::test]
async fn a_redis_that_goes_down_costs_upstream_calls_never_refusals() {
    let mut server = RedisServer::start();
    let a = exact(&server, TEN_MINUTES);
    call(&a.service, chat("Q", false)).await.unwrap();
    assert_eq!(
        verdict(&call(&a.service, chat("Q", false)).await.unwrap()),
        Some(CacheVerdict::Hit)
    );

    server.stop();
    tokio::time::timeout(NEVER_HANGS, async {
        for calls in 2..=3 {
            let answer = call(&a.service, chat("Q", false)).await.unwrap();
            assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
            assert_eq!(text(&complete(answer)), "echo: Q");
            assert_eq!(a.upstream.calls(), calls);
        }
        // A stream is passed on whole, though it cannot be stored.
        let answer = call(&a.service, chat("Q", true)).await.unwrap();
        assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
        assert_eq!(streamed_text(&chunks(answer).await), "echo: Q");
        assert_eq!(a.upstream.calls(), 4);
    })
    .await
    .expect("a Redis that is down makes no request hang");

    // Back up (and empty): caching works again once the store reconnects.
    server.restart().unwrap();
    tokio::time::timeout(NEVER_HANGS, async {
        loop {
            let answer = call(&a.service, chat("Q", false)).await.unwrap();
            if verdict(&answer) == Some(CacheVerdict::Hit) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the cache works again once Redis is back");
    let b = exact(&server, TEN_MINUTES);
    let hit = call(&b.service, chat("Q", false)).await.unwrap();
    assert_eq!(verdict(&hit), Some(CacheVerdict::Hit));
    assert_eq!(b.upstream.calls(), 0);
}

#[tokio::test]
async fn a_partition_keeps_at_most_its_candidates() {
    let server = RedisServer::start();
    let embedder = WordEmbedder::shared();
    let a = semantic(&server, &embedder, 3);

    for i in 0..5 {
        let question = format!("topic{i} subject{i}");
        let answer = call(&a.service, chat(&question, false)).await.unwrap();
        assert_eq!(verdict(&answer), Some(CacheVerdict::Miss));
    }
    let mut redis = connection(&server).await;
    let lists: Vec<String> = redis.keys("towergate:cache-vectors:*").await.unwrap();
    assert_eq!(lists.len(), 1, "one partition: {lists:?}");
    let kept: usize = redis.llen(&lists[0]).await.unwrap();
    assert_eq!(kept, 3);
    let answers: Vec<String> = redis.keys("towergate:cache:*").await.unwrap();
    assert_eq!(
        answers.len(),
        5,
        "every answer is kept, only vectors are bounded"
    );

    // The newest are the ones kept: the last question's paraphrase hits,
    // the first one's misses.
    let newest = call(&a.service, chat("SUBJECT4, topic4?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&newest), Some(CacheVerdict::Hit));
    let oldest = call(&a.service, chat("SUBJECT0, topic0?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&oldest), Some(CacheVerdict::Miss));
    assert_eq!(a.upstream.calls(), 6);
}
