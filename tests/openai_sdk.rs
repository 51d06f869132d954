//! Conformance: the real openai Python SDK against the real binary.
//!
//! Needs Python with the `openai` package: `scripts/test` installs it in
//! `.venv` and points `TOWERGATE_PYTHON` at it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{io::Write, process::Command};

use common::{THREE_ENDPOINTS, process};
use towergate_testkit::MockUpstream;

#[tokio::test(flavor = "multi_thread")]
async fn the_openai_sdk_works_against_towergate() {
    let python = std::env::var("TOWERGATE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python).args(["-c", "import openai"]).output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "`{python}` cannot import openai: run scripts/test, or set TOWERGATE_PYTHON to a Python with `pip install openai`"
    );

    let upstream = MockUpstream::start().await;
    let yaml = format!(
        "{}auth:\n  keys:\n    - name: sdk\n      key: $SDK_KEY\n      endpoints: [\"*\"]\n",
        THREE_ENDPOINTS.replace("{upstream}", &upstream.base_url())
    );
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(yaml.as_bytes()).unwrap();
    let served = process::serve(file.path(), &[("SDK_KEY", "sdk-secret")]);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/openai_sdk.py"
    );
    let url = served.url("");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("TOWERGATE_URL", url)
            .env("TOWERGATE_KEY", "sdk-secret")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    println!("{report}");
    assert!(
        output.status.success(),
        "the openai SDK suite failed:\n{report}"
    );
    assert!(report.contains("OK"), "{report}");
}
