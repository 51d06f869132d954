//! `provider: local` end to end: the in-process models behind both fronts.
//! Needs the models from `scripts/fetch-models` (the test command runs it).

#![cfg(feature = "local")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{post_json, start};
use serde_json::json;

const LOCAL: &str = "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model: {provider: local, name: smollm2}\n  - name: embed\n    endpoint_type: llm/v1/embeddings\n    model: {provider: local, name: all-minilm-l6-v2}\n";

fn models_present() {
    // The gateway reads `$TOWERGATE_MODELS`, else `models/` in the working
    // directory, which for a test is the package root.
    let models = std::env::var("TOWERGATE_MODELS").unwrap_or_else(|_| "models".to_owned());
    let chat = std::path::Path::new(&models).join(towergate::local::DEFAULT_CHAT_MODEL);
    assert!(
        chat.exists(),
        "{} is missing: run scripts/fetch-models",
        chat.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_chat_and_embeddings_answer_over_http() {
    models_present();
    let gateway = start(LOCAL).await;
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[],
        json!({"model": "chat", "temperature": 0, "max_tokens": 24,
               "messages": [{"role": "system", "content": "You are a helpful assistant."},
                            {"role": "user", "content": "What is the capital of France?"}]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let answer = reply.json();
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("Paris"), "{text}");
    assert!(answer["usage"]["completion_tokens"].as_u64().unwrap() > 0);

    let reply = post_json(
        &gateway.url("/endpoints/embed/invocations"),
        &[],
        json!({"input": ["A man is playing a guitar.", "Someone plays the guitar."]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["data"][0]["embedding"]
            .as_array()
            .unwrap()
            .len(),
        384
    );
}
