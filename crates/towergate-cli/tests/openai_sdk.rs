//! Conformance: the real openai Python SDK against the real binary.
//!
//! Needs Python with the `openai` package: `scripts/test` installs it in
//! `.venv` and points `TOWERGATE_PYTHON` at it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{THREE_ENDPOINTS, process, python};
use towergate_testkit::MockUpstream;

#[tokio::test(flavor = "multi_thread")]
async fn the_openai_sdk_works_against_towergate() {
    let python = python::interpreter("openai", "openai");
    let upstream = MockUpstream::start().await;
    let cached = "  - name: cached\n    endpoint_type: llm/v1/chat\n    model:\n      provider: openai\n      name: gpt-4o-mini\n      config: {openai_api_key: sk-upstream, openai_api_base: '{upstream}'}\n    cache: {ttl: 10m}\n";
    let yaml = format!(
        "{THREE_ENDPOINTS}{cached}auth:\n  keys:\n    - name: sdk\n      key: $SDK_KEY\n      endpoints: [\"*\"]\n",
    )
    .replace("{upstream}", &upstream.base_url());
    let file = process::config_file(&yaml);
    let served = process::serve(file.path(), &[("SDK_KEY", "sdk-secret")]);
    python::run_suite(
        &python,
        "openai_sdk.py",
        &served,
        &[("TOWERGATE_KEY", Some("sdk-secret"))],
    )
    .await;
}
