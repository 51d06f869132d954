//! How upstream failures map to gateway errors, over loopback.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{call, chat, client};
use serde_json::json;
use towergate_core::ErrorKind;
use towergate_providers::openai::OpenAi;
use towergate_testkit::{Behavior, Fault, MockUpstream};

fn hello() -> serde_json::Value {
    json!({"model": "e", "messages": [{"role": "user", "content": "hello"}]})
}

fn openai_at(upstream: &MockUpstream) -> OpenAi {
    OpenAi::builder("gpt-4o-mini")
        .api_base(upstream.base_url())
        .api_key("sk-secret-key")
        .build(&client())
        .unwrap()
}

#[tokio::test]
async fn rate_limit_keeps_the_upstream_status_and_message() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Status(429))).await;

    let error = call(&openai_at(&upstream), chat(hello()))
        .await
        .unwrap_err();

    assert_eq!(error.status().as_u16(), 429);
    assert!(matches!(error.kind(), ErrorKind::Upstream(_)));
    assert_eq!(error.message(), "mock upstream fault: status 429");
}

#[tokio::test]
async fn a_per_request_fault_passes_through_as_an_unknown_field() {
    let upstream = MockUpstream::start().await;
    let mut body = hello();
    body["mock"] = json!({"fault": "status:503"});

    let error = call(&openai_at(&upstream), chat(body)).await.unwrap_err();

    assert_eq!(error.status().as_u16(), 503);
    assert_eq!(error.message(), "mock upstream fault: status 503");
}

#[tokio::test]
async fn a_wrong_key_is_the_upstreams_401() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("the-right-key"));

    let error = call(&openai_at(&upstream), chat(hello()))
        .await
        .unwrap_err();

    assert_eq!(error.status().as_u16(), 401);
    assert!(
        !error.message().contains("sk-secret-key"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_gateway() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::MalformedJson)).await;

    let error = call(&openai_at(&upstream), chat(hello()))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.status().as_u16(), 502);
    assert!(
        error.message().contains("not a chat completion"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_truncated_complete_answer_is_a_bad_gateway() {
    let upstream =
        MockUpstream::start_with(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 1 }))
            .await;

    let error = call(&openai_at(&upstream), chat(hello()))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::BadGateway);
}

#[tokio::test]
async fn a_stalled_upstream_times_out_with_504() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Stall)).await;
    let openai = OpenAi::builder("gpt-4o-mini")
        .api_base(upstream.base_url())
        .api_key("k")
        .request_timeout(Duration::from_millis(200))
        .build(&client())
        .unwrap();

    let error = call(&openai, chat(hello())).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.status().as_u16(), 504);
    assert!(
        error.message().contains(&upstream.addr().to_string()),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_reset_connection_is_a_bad_gateway() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Reset)).await;

    let error = call(&openai_at(&upstream), chat(hello()))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert!(
        error.message().contains(&upstream.addr().to_string()),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_bad_gateway_naming_the_host() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let openai = OpenAi::builder("gpt-4o-mini")
        .api_base(format!("http://{addr}/v1"))
        .api_key("sk-secret-key")
        .build(&client())
        .unwrap();

    let error = call(&openai, chat(hello())).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.status().as_u16(), 502);
    assert!(
        error.message().contains(&addr.to_string()),
        "{}",
        error.message()
    );
    assert!(
        error.message().contains("cannot connect"),
        "{}",
        error.message()
    );
    assert!(!error.message().contains("sk-secret-key"));
}
