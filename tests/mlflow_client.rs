//! Conformance: MLflow's own deployments client
//! (`mlflow.deployments.get_deploy_client`) against the real binary.
//!
//! Needs Python with the `mlflow` package: `scripts/test` installs it in
//! `.venv` and points `TOWERGATE_PYTHON` at it. The suite,
//! `tests/conformance/mlflow_client.py`, passes against MLflow's own
//! `mlflow gateway start` given the same file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{io::Write, process::Command};

use common::process;
use towergate_testkit::MockUpstream;

/// MLflow's endpoints and a traffic split, on the mock upstream at `{upstream}`.
const MLFLOW_CONFIG: &str = r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
    limit:
      renewal_period: minute
      calls: 1000
  - name: chat-b
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
  - name: chat-limited
    endpoint_type: llm/v1/chat
    model:
      provider: openai
      name: gpt-4o-mini
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
    limit:
      renewal_period: minute
      calls: 1
  - name: completions
    endpoint_type: llm/v1/completions
    model:
      provider: openai
      name: gpt-3.5-turbo-instruct
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model:
      provider: openai
      name: text-embedding-3-small
      config:
        openai_api_key: sk-upstream
        openai_api_base: {upstream}
routes:
  - name: chat-split
    task_type: llm/v1/chat
    destinations:
      - name: chat
        traffic_percentage: 50
      - name: chat-b
        traffic_percentage: 50
    routing_strategy: TRAFFIC_SPLIT
"#;

/// The Python that runs the suite; fails the test if it cannot import mlflow.
fn python() -> String {
    let python = std::env::var("TOWERGATE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import mlflow.deployments"])
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "`{python}` cannot import mlflow: run scripts/test, or set TOWERGATE_PYTHON to a Python with `pip install mlflow`"
    );
    python
}

/// Serves `yaml` with the real binary in front of a fresh mock upstream and
/// runs the MLflow client suite against it, with `key` as the gateway key
/// when auth is on. Fails the test if the suite fails.
async fn run_suite(yaml: &str, key: Option<&str>) {
    let python = python();
    let upstream = MockUpstream::start().await;
    let yaml = yaml.replace("{upstream}", &upstream.base_url());
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(yaml.as_bytes()).unwrap();
    let env: Vec<(&str, &str)> = key.map(|key| ("MLFLOW_KEY", key)).into_iter().collect();
    let served = process::serve(file.path(), &env);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/mlflow_client.py"
    );
    let url = served.url("");
    let key = key.map(str::to_owned);
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(python);
        command
            .arg(script)
            .env("TOWERGATE_URL", url)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("DO_NOT_TRACK", "true")
            .env_remove("MLFLOW_TRACKING_TOKEN")
            .env_remove("MLFLOW_TRACKING_USERNAME")
            .env_remove("MLFLOW_TRACKING_PASSWORD");
        match key {
            Some(key) => command.env("TOWERGATE_KEY", key),
            None => command.env_remove("TOWERGATE_KEY"),
        };
        command.output().unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    println!("{report}");
    if !output.status.success() {
        let logs = served.drain_logs().join("\n");
        panic!("the MLflow client suite failed:\n{report}\ntowergate's log:\n{logs}");
    }
    assert!(report.contains("OK"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mlflow_client_works_against_towergate() {
    run_suite(MLFLOW_CONFIG, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mlflow_client_sends_its_tracking_token_as_the_key() {
    let yaml = format!(
        "{MLFLOW_CONFIG}auth:\n  keys:\n    - name: mlflow\n      key: $MLFLOW_KEY\n      endpoints: [\"*\"]\n"
    );
    run_suite(&yaml, Some("mlflow-secret")).await;
}
