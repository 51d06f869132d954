//! The semantic cache end to end, embedding with the local
//! all-MiniLM-L6-v2 model: paraphrases hit, unrelated questions miss.
//! Needs the models from `scripts/fetch-models` (the test command runs it).

#![cfg(feature = "local")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{post_json, start};
use serde_json::{Value, json};

const CONFIG: &str = r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config: {openai_api_key: sk-upstream, openai_api_base: "{upstream}"}
    cache:
      ttl: 10m
      semantic: {embedding_endpoint: embed, threshold: 0.8}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {provider: local, name: all-minilm-l6-v2}
"#;

fn models_present() {
    let models = std::env::var("TOWERGATE_MODELS").unwrap_or_else(|_| "models".to_owned());
    let embeddings = std::path::Path::new(&models).join(towergate::local::DEFAULT_EMBEDDINGS_MODEL);
    assert!(
        embeddings.exists(),
        "{} is missing: run scripts/fetch-models",
        embeddings.display()
    );
}

fn ask(system: &str, question: &str) -> Value {
    json!({"model": "chat", "temperature": 0,
           "messages": [{"role": "system", "content": system},
                        {"role": "user", "content": question}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paraphrases_hit_and_unrelated_questions_miss() {
    models_present();
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.jsonl");
    let gateway = start(&format!(
        "{CONFIG}usage: {{jsonl: '{}'}}\n",
        usage.display()
    ))
    .await;
    let url = gateway.url("/v1/chat/completions");
    let system = "You answer questions about geography.";

    let first = post_json(&url, &[], ask(system, "What is the capital of France?")).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("x-towergate-cache"), Some("miss"));

    for paraphrase in [
        "What's the capital of France?",
        "Which city is the capital of France?",
        "what is the capital city of france",
    ] {
        let reply = post_json(&url, &[], ask(system, paraphrase)).await;
        assert_eq!(
            reply.header("x-towergate-cache"),
            Some("hit"),
            "{paraphrase}"
        );
        let similarity: f32 = reply
            .header("x-towergate-cache-similarity")
            .unwrap()
            .parse()
            .unwrap();
        assert!(similarity >= 0.8, "{paraphrase}: {similarity}");
        assert_eq!(reply.json(), first.json(), "{paraphrase}");
    }
    assert_eq!(gateway.upstream.request_count(), 1);

    for unrelated in [
        "How do I bake sourdough bread?",
        "What is the capital of Germany?",
        "Who wrote Les Misérables?",
    ] {
        let reply = post_json(&url, &[], ask(system, unrelated)).await;
        assert_eq!(
            reply.header("x-towergate-cache"),
            Some("miss"),
            "{unrelated}"
        );
        assert_eq!(reply.header("x-towergate-cache-similarity"), None);
    }
    assert_eq!(gateway.upstream.request_count(), 4);

    // The same question under another system prompt is another partition.
    let reply = post_json(
        &url,
        &[],
        ask("You are a poet.", "What is the capital of France?"),
    )
    .await;
    assert_eq!(reply.header("x-towergate-cache"), Some("miss"));
    assert_eq!(gateway.upstream.request_count(), 5);

    // Every lookup's embedding call leaves a usage record too.
    gateway.stop().await;
    let records: Vec<Value> = std::fs::read_to_string(&usage)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let on = |endpoint: &str| records.iter().filter(|r| r["endpoint"] == endpoint).count();
    assert_eq!(on("chat"), 8);
    assert_eq!(on("embed"), 8);
    assert!(
        records
            .iter()
            .filter(|r| r["endpoint"] == "embed")
            .all(|r| r["prompt_tokens"].as_u64() > Some(0))
    );
}
