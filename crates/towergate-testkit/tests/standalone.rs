//! The mock upstream bound to a chosen address, without request recording,
//! and as the `towergate-mock-upstream` binary.

#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader},
    net::{Ipv4Addr, SocketAddr},
    process::{Command, Stdio},
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use towergate_testkit::{Behavior, MockUpstream};

/// Sends one chat completion over HTTP/1.1 and returns the raw answer.
async fn chat(addr: SocketAddr) -> String {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hello there"}]}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn bind_reports_a_taken_port_as_an_error() {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let first = MockUpstream::bind(any, Behavior::new()).await.unwrap();
    assert_ne!(first.addr().port(), 0);
    assert!(
        MockUpstream::bind(first.addr(), Behavior::new())
            .await
            .is_err()
    );
    assert!(chat(first.addr()).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn requests_are_not_kept_when_recording_is_off() {
    let upstream = MockUpstream::start().await;
    assert!(chat(upstream.addr()).await.contains("echo: hello there"));
    assert_eq!(upstream.request_count(), 1);
    upstream.record_requests(false);
    assert!(chat(upstream.addr()).await.contains("echo: hello there"));
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn the_binary_prints_its_address_and_answers() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_towergate-mock-upstream"))
        .args(["--port", "0", "--latency", "1ms", "--chunk-interval", "0ms"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(addr.ip().is_loopback());
    let answer = chat(addr).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("echo: hello there"), "{answer}");
}

#[test]
fn the_binary_refuses_a_bad_duration() {
    let output = Command::new(env!("CARGO_BIN_EXE_towergate-mock-upstream"))
        .args(["--latency", "soon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--latency"));
}
