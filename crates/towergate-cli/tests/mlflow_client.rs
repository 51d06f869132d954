//! Conformance: MLflow's own deployments client
//! (`mlflow.deployments.get_deploy_client`) against the real binary.
//!
//! Needs Python with the `mlflow` package: `scripts/test` installs it in
//! `.venv` and points `TOWERGATE_PYTHON` at it. The suite,
//! `tests/conformance/mlflow_client.py`, passes against MLflow's own
//! `mlflow gateway start` given the same file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{process, python, three_endpoints_with_chat_limit};
use towergate_testkit::MockUpstream;

/// The endpoints the suite adds to [`common::THREE_ENDPOINTS`] (whose `chat`
/// it gives a limit of 1000 calls a minute), and a traffic split.
const MORE_ENDPOINTS_AND_A_ROUTE: &str = r#"  - name: chat-b
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

/// The config the suite expects, on the mock upstream at `{upstream}`.
fn mlflow_config() -> String {
    format!(
        "{}{MORE_ENDPOINTS_AND_A_ROUTE}",
        three_endpoints_with_chat_limit(1000)
    )
}

/// Serves `yaml` with the real binary in front of a fresh mock upstream and
/// runs the MLflow client suite against it, with `key` as the gateway key
/// when auth is on. Fails the test if the suite fails.
async fn run_suite(yaml: &str, key: Option<&str>) {
    let python = python::interpreter("mlflow.deployments", "mlflow");
    let upstream = MockUpstream::start().await;
    let file = process::config_file(&yaml.replace("{upstream}", &upstream.base_url()));
    let env: Vec<(&str, &str)> = key.map(|key| ("MLFLOW_KEY", key)).into_iter().collect();
    let served = process::serve(file.path(), &env);
    python::run_suite(
        &python,
        "mlflow_client.py",
        &served,
        &[
            ("TOWERGATE_KEY", key),
            ("MLFLOW_TRACKING_TOKEN", None),
            ("MLFLOW_TRACKING_USERNAME", None),
            ("MLFLOW_TRACKING_PASSWORD", None),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mlflow_client_works_against_towergate() {
    run_suite(&mlflow_config(), None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mlflow_client_sends_its_tracking_token_as_the_key() {
    let yaml = format!(
        "{}auth:\n  keys:\n    - name: mlflow\n      key: $MLFLOW_KEY\n      endpoints: [\"*\"]\n",
        mlflow_config()
    );
    run_suite(&yaml, Some("mlflow-secret")).await;
}
