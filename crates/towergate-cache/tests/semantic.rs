//! The semantic cache over a deterministic word-bag embedder: paraphrases
//! hit, other questions and other partitions miss, a failing embedder
//! falls back to the exact cache, and the memory store's index of prompt
//! vectors leaves with the answers.

#![allow(clippy::unwrap_used)]

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use support::*;
use tower_layer::Layer;
use towergate_cache::{
    CacheKey, CacheLayer, CacheStore, CachedAnswer, CachedBody, Embed, EmbedFuture,
    MemoryCacheStore, PartitionKey, PromptVector, SIMILARITY_HEADER, semantic::unit_vector,
};
use towergate_core::{CacheVerdict, GatewayError, GatewayResponse, chat::ChatResponse};
use towergate_testkit::MockProvider;

const THRESHOLD: f32 = 0.9;
const TEN_MINUTES: Duration = Duration::from_secs(600);

/// A semantic cache over a fresh memory store of `max_bytes`.
fn semantic_memory(
    max_bytes: u64,
    ttl: Duration,
    embedder: &Arc<WordEmbedder>,
) -> (CacheLayer, MemoryCacheStore) {
    let store = MemoryCacheStore::new(max_bytes);
    let layer = semantic_cache(Arc::new(store.clone()), ttl, embedder, THRESHOLD);
    (layer, store)
}

/// The similarity a semantic hit reports, if it does.
fn similarity(response: &GatewayResponse) -> Option<f32> {
    let value = response.meta.headers.get(SIMILARITY_HEADER)?;
    Some(value.to_str().unwrap().parse().unwrap())
}

#[test]
fn the_test_embedder_sees_paraphrases_as_one_question() {
    let unit = |text: &str| unit_vector(WordEmbedder::vector(text));
    let cosine = |a: &str, b: &str| -> f32 {
        let (a, b) = (unit(a).unwrap(), unit(b).unwrap());
        a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
    };
    let france = "What is the capital of France?";
    assert!(cosine(france, "Tell me the capital of France") > 0.999);
    assert!(cosine(france, "How do I bake bread?").abs() < 1e-6);
    assert!(cosine(france, "What is the capital of Spain?") < THRESHOLD);
    assert!(unit("What is the?").is_none(), "only stop words");
}

#[tokio::test]
async fn a_paraphrase_hits_and_an_unrelated_question_misses() {
    let upstream = MockProvider::new();
    let embedder = WordEmbedder::shared();
    let (layer, _store) = semantic_memory(64 << 20, TEN_MINUTES, &embedder);
    let service = layer.layer(upstream.clone());

    let first = call(&service, chat("What is the capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&first), Some(CacheVerdict::Miss));
    assert_eq!(similarity(&first), None);
    let first = complete(first);
    assert_eq!(upstream.calls(), 1);
    assert_eq!(embedder.calls(), 1);

    let paraphrase = call(&service, chat("Tell me the capital of France", false))
        .await
        .unwrap();
    assert_eq!(verdict(&paraphrase), Some(CacheVerdict::Hit));
    let near = similarity(&paraphrase).expect("a semantic hit says how near it was");
    assert!(near >= THRESHOLD, "{near}");
    // The first question's answer, which echoes the first wording.
    let answer = complete(paraphrase);
    assert_eq!(answer, first);
    assert_eq!(text(&answer), "echo: What is the capital of France?");
    assert_eq!(upstream.calls(), 1);
    assert_eq!(embedder.calls(), 2);

    let unrelated = call(&service, chat("How do I bake bread?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&unrelated), Some(CacheVerdict::Miss));
    assert_eq!(similarity(&unrelated), None);
    assert_eq!(text(&complete(unrelated)), "echo: How do I bake bread?");
    assert_eq!(upstream.calls(), 2);

    // An exact repeat is answered before any embedding, with no similarity.
    let repeat = call(&service, chat("What is the capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&repeat), Some(CacheVerdict::Hit));
    assert_eq!(similarity(&repeat), None);
    assert_eq!(embedder.calls(), 3);
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn a_streamed_paraphrase_gets_the_cached_answer_as_chunks() {
    let upstream = MockProvider::new().reply("Paris.");
    let embedder = WordEmbedder::shared();
    let (layer, _store) = semantic_memory(64 << 20, TEN_MINUTES, &embedder);
    let service = layer.layer(upstream.clone());

    let streamed = chunks(
        call(&service, chat("What is the capital of France?", true))
            .await
            .unwrap(),
    )
    .await;
    let paraphrase = call(&service, chat("capital of FRANCE, please", true))
        .await
        .unwrap();
    assert_eq!(verdict(&paraphrase), Some(CacheVerdict::Hit));
    assert!(similarity(&paraphrase).is_some());
    assert_eq!(chunks(paraphrase).await, streamed);
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_completion_paraphrase_hits() {
    let upstream = MockProvider::new();
    let embedder = WordEmbedder::shared();
    let (layer, _store) = semantic_memory(64 << 20, TEN_MINUTES, &embedder);
    let service = layer.layer(upstream.clone());

    call(
        &service,
        completion("What is the capital of France?", false),
    )
    .await
    .unwrap();
    let paraphrase = call(&service, completion("Tell me the capital of France", false))
        .await
        .unwrap();
    assert_eq!(verdict(&paraphrase), Some(CacheVerdict::Hit));
    assert!(similarity(&paraphrase).is_some());
    // A chat with the same words is another partition.
    let chat = call(&service, chat("Tell me the capital of France", false))
        .await
        .unwrap();
    assert_eq!(verdict(&chat), Some(CacheVerdict::Miss));
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn another_system_prompt_or_temperature_is_another_partition() {
    let upstream = MockProvider::new();
    let embedder = WordEmbedder::shared();
    let (layer, _store) = semantic_memory(64 << 20, TEN_MINUTES, &embedder);
    let service = layer.layer(upstream.clone());
    let ask = |system: &str, question: &str, temperature: f64| {
        let request = chat_with(system, question, temperature, false);
        let service = service.clone();
        async move { verdict(&call(&service, request).await.unwrap()) }
    };

    let cached = ask("Answer briefly.", "What is the capital of France?", 0.0).await;
    assert_eq!(cached, Some(CacheVerdict::Miss));
    let other_system = ask("Answer in French.", "Tell me the capital of France", 0.0).await;
    assert_eq!(other_system, Some(CacheVerdict::Miss));
    let other_temperature = ask("Answer briefly.", "Tell me the capital of France", 0.7).await;
    assert_eq!(other_temperature, Some(CacheVerdict::Miss));
    // And in the partition of the first, the paraphrase hits.
    let same = ask("Answer briefly.", "Tell me the capital of France", 0.0).await;
    assert_eq!(same, Some(CacheVerdict::Hit));
    assert_eq!(upstream.calls(), 3);
}

/// An embedder that is down.
#[derive(Default)]
struct FailingEmbedder {
    calls: AtomicUsize,
}

impl Embed for FailingEmbedder {
    fn embed(&self, _text: String) -> EmbedFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(GatewayError::internal("the embedding model is down")) })
    }
}

#[tokio::test]
async fn a_failing_embedder_falls_back_to_the_exact_cache() {
    let upstream = MockProvider::new();
    let embedder = Arc::new(FailingEmbedder::default());
    let store = Arc::new(MemoryCacheStore::new(64 << 20));
    let layer = CacheLayer::new(store.clone(), TEN_MINUTES)
        .semantic(Arc::clone(&embedder) as Arc<dyn Embed>, THRESHOLD);
    let service = layer.layer(upstream.clone());

    let first = call(&service, chat("What is the capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&first), Some(CacheVerdict::Miss));
    assert_eq!(embedder.calls.load(Ordering::SeqCst), 1);

    let again = call(&service, chat("What is the capital of France?", false))
        .await
        .unwrap();
    assert_eq!(verdict(&again), Some(CacheVerdict::Hit));
    assert_eq!(similarity(&again), None);
    assert_eq!(complete(again), complete(first));
    assert_eq!(upstream.calls(), 1);

    let paraphrase = call(&service, chat("Tell me the capital of France", false))
        .await
        .unwrap();
    assert_eq!(verdict(&paraphrase), Some(CacheVerdict::Miss));
    assert_eq!(upstream.calls(), 2);
    assert_eq!(store.vectors().await, 0, "no vector was kept");
}

#[tokio::test]
async fn the_index_of_prompt_vectors_is_evicted_with_the_answers() {
    let upstream = MockProvider::new();
    let embedder = WordEmbedder::shared();
    let (layer, store) = semantic_memory(16 << 10, TEN_MINUTES, &embedder);
    let service = layer.layer(upstream.clone());

    for i in 0..200 {
        let question = format!("topic{i} subject{i} matter{i}");
        let answer = call(&service, chat(&question, false)).await.unwrap();
        assert_eq!(verdict(&answer), Some(CacheVerdict::Miss), "{question}");
    }
    assert_eq!(upstream.calls(), 200);
    let (answers, vectors) = (store.len().await, store.vectors().await);
    // Each entry weighs more than its vector alone, 1 KiB: 16 of them at most.
    assert!(answers <= 16, "{answers} answers in 16 KiB");
    assert!(
        vectors as u64 <= answers,
        "{vectors} vectors for {answers} answers"
    );
    assert!(vectors > 0);
}

#[tokio::test]
async fn the_index_of_prompt_vectors_expires_with_the_answers() {
    let upstream = MockProvider::new();
    let embedder = WordEmbedder::shared();
    let (layer, store) = semantic_memory(64 << 20, Duration::from_secs(1), &embedder);
    let service = layer.layer(upstream.clone());

    for i in 0..5 {
        call(&service, chat(&format!("topic{i} subject{i}"), false))
            .await
            .unwrap();
    }
    assert!(store.vectors().await > 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(store.len().await, 0);
    assert_eq!(store.vectors().await, 0);
}

#[tokio::test]
async fn a_vector_never_outlives_the_answer_that_brought_it() {
    let upstream = MockProvider::new();
    let embedder = WordEmbedder::shared();
    let (layer, store) = semantic_memory(64 << 20, TEN_MINUTES, &embedder);
    let service = layer.layer(upstream.clone());

    call(&service, chat("What is the capital of France?", false))
        .await
        .unwrap();
    assert_eq!((store.len().await, store.vectors().await), (1, 1));
    // A bypass stores a fresh answer under the same key, with no embedding:
    // the replaced answer's vector leaves with it.
    let fresh = call(
        &service,
        with_cache_control(chat("What is the capital of France?", false), "no-cache"),
    )
    .await
    .unwrap();
    assert_eq!(verdict(&fresh), Some(CacheVerdict::Bypass));
    assert_eq!(store.len().await, 1);
    assert_eq!(store.vectors().await, 0, "no vector outlives its answer");
}

#[tokio::test]
async fn a_replacing_answer_keeps_only_the_vector_it_brings() {
    let store = MemoryCacheStore::new(64 << 20);
    let mut operation = chat("What is the capital of France?", false).operation;
    let key = CacheKey::of("chat", &mut operation).unwrap();
    let (partition, text) = PartitionKey::of("chat", &mut operation).unwrap();
    let unit = |text: &str| unit_vector(WordEmbedder::vector(text)).unwrap();
    let prompt = |text: &str| PromptVector {
        partition,
        vector: unit(text),
    };
    let answer = |id: &str| {
        let mut response = complete_answer();
        response.id = id.to_owned();
        Arc::new(CachedAnswer::new(CachedBody::Chat(response)))
    };
    let nearest = |text: &str| store.nearest(partition, unit(text), THRESHOLD);

    store
        .put(key, answer("a"), TEN_MINUTES, Some(prompt(&text)))
        .await
        .unwrap();
    // Replaced with a vector of its own (the same prompt, embedded anew).
    store
        .put(key, answer("b"), TEN_MINUTES, Some(prompt(&text)))
        .await
        .unwrap();
    assert_eq!((store.len().await, store.vectors().await), (1, 1));
    let found = nearest("capital France").await.unwrap().unwrap();
    assert_eq!(found.key, key);

    // Replaced with no vector: the old answer's vector leaves with it.
    store
        .put(key, answer("c"), TEN_MINUTES, None)
        .await
        .unwrap();
    assert_eq!((store.len().await, store.vectors().await), (1, 0));
    assert_eq!(nearest("capital France").await.unwrap(), None);
}

/// A complete chat answer.
fn complete_answer() -> ChatResponse {
    serde_json::from_value(serde_json::json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"},
                     "finish_reason": "stop"}]
    }))
    .unwrap()
}
