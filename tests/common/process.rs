//! The `towergate` binary as a child process, for tests that need the real thing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader, Write},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::Duration,
};

/// `yaml` in a temporary `.yaml` file, removed when dropped.
pub fn config_file(yaml: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    file.write_all(yaml.as_bytes()).unwrap();
    file
}

/// A running `towergate serve`.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    pub logs: mpsc::Receiver<String>,
}

/// Runs `towergate serve --config PATH --port 0` and waits until it listens.
pub fn serve(config: &Path, env: &[(&str, &str)]) -> Served {
    let mut command = Command::new(binary());
    command
        .args(["--log-format", "json", "serve", "--port", "0", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the towergate binary starts");
    let stderr = child.stderr.take().unwrap();
    let (lines, logs) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let addr = loop {
        let line = match logs.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("towergate did not start listening");
            }
        };
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if event["message"] == "towergate listening" {
            break event["address"].as_str().unwrap().parse().unwrap();
        }
    };
    Served { child, addr, logs }
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (up to 60 s) for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("towergate did not exit");
    }

    /// Log lines written so far.
    pub fn drain_logs(&self) -> Vec<String> {
        self.logs.try_iter().collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `towergate check --config PATH`: its exit status and its output.
pub fn check(config: &Path) -> (ExitStatus, String) {
    let output = Command::new(binary())
        .args(["check", "--config"])
        .arg(config)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status, text)
}

/// The `towergate` binary, built by cargo for the tests of `towergate-cli`.
pub fn binary() -> &'static str {
    match option_env!("CARGO_BIN_EXE_towergate") {
        Some(binary) => binary,
        None => panic!("the towergate binary is only built for the tests of towergate-cli"),
    }
}
