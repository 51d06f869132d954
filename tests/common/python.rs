//! The Python conformance suites of `tests/conformance`, run against the real
//! binary with the interpreter that `scripts/test` prepares.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use super::process::Served;

/// Variables that keep a Python client on loopback and its telemetry off.
const LOOPBACK_ONLY: [(&str, &str); 4] = [
    ("NO_PROXY", "127.0.0.1,localhost"),
    ("no_proxy", "127.0.0.1,localhost"),
    ("MLFLOW_DISABLE_TELEMETRY", "true"),
    ("DO_NOT_TRACK", "true"),
];

/// The Python named by `TOWERGATE_PYTHON` (else `python3`); fails the test
/// unless it can import `module`, which `pip install {package}` provides.
pub fn interpreter(module: &str, package: &str) -> String {
    let python = std::env::var("TOWERGATE_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .envs(LOOPBACK_ONLY)
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "`{python}` cannot import {module}: run scripts/test, or set TOWERGATE_PYTHON to a Python with `pip install {package}`"
    );
    python
}

/// Runs `tests/conformance/{script}` with `python` against `served`, whose
/// URL it gets in `TOWERGATE_URL`; each of `vars` is set to its value, or
/// removed when that is `None`. Prints the suite's report and fails the test,
/// with towergate's log, unless the whole suite passed.
pub async fn run_suite(python: &str, script: &str, served: &Served, vars: &[(&str, Option<&str>)]) {
    let mut command = Command::new(python);
    command
        .arg(conformance_dir().join(script))
        .env("TOWERGATE_URL", served.url(""))
        .envs(LOOPBACK_ONLY);
    for (name, value) in vars {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stderr);
    println!("{report}");
    if !output.status.success() {
        let logs = served.drain_logs().join("\n");
        panic!("the suite {script} failed:\n{report}\ntowergate's log:\n{logs}");
    }
    assert!(report.contains("OK"), "{report}");
}

/// `tests/conformance` of the workspace, found from the crate whose tests run.
fn conformance_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/conformance"))
        .find(|dir| dir.is_dir())
        .expect("tests/conformance is in the workspace")
}
