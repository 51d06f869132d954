//! The OpenAI front end to end: a real socket, the gateway, the OpenAI
//! provider and the testkit's mock upstream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{THREE_ENDPOINTS, eventually, get, post_json, send, start};
use http::Method;
use http_body_util::{BodyExt, Full};
use serde_json::json;

fn chat_body(text: &str) -> serde_json::Value {
    json!({"model": "chat", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn chat_round_trip_with_usage_headers_and_request_id() {
    let gateway = start(THREE_ENDPOINTS).await;
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[("x-request-id", "req-42")],
        chat_body("hello there"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "echo: hello there"
    );
    assert_eq!(answer["usage"]["prompt_tokens"], 2);
    assert_eq!(reply.header("x-request-id"), Some("req-42"));
    assert_eq!(reply.header("x-towergate-prompt-tokens"), Some("2"));
    assert_eq!(reply.header("x-towergate-completion-tokens"), Some("3"));
    assert_eq!(reply.header("x-towergate-endpoint"), Some("chat"));

    let upstream = &gateway.upstream.requests()[0];
    assert_eq!(upstream.path, "/v1/chat/completions");
    assert_eq!(upstream.body["model"], "gpt-4o-mini");
    assert_eq!(
        upstream.headers.get("authorization").unwrap(),
        "Bearer sk-upstream"
    );
}

#[tokio::test]
async fn a_fresh_request_id_when_none_is_sent() {
    let gateway = start(THREE_ENDPOINTS).await;
    let reply = get(&gateway.url("/health"), &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "OK");
    assert_eq!(reply.header("x-request-id").map(str::len), Some(32));
}

#[tokio::test]
async fn unknown_fields_survive_the_trip_to_the_upstream() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("hi");
    body["vendor_knob"] = json!({"nested": [1, 2, 3]});
    body["messages"][0]["cache_control"] = json!({"type": "ephemeral"});
    body["seed"] = json!(7);
    body["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "x", "schema": {}}});
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = &gateway.upstream.requests()[0].body;
    assert_eq!(sent["vendor_knob"], json!({"nested": [1, 2, 3]}));
    assert_eq!(
        sent["messages"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(sent["seed"], 7);
    assert_eq!(sent["response_format"]["json_schema"]["name"], "x");
}

#[tokio::test]
async fn stream_with_and_without_usage() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("one two three");
    body["stream"] = json!(true);
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body.clone()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    let chunks = reply.chunks();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: one two three");
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));

    body["stream_options"] = json!({"include_usage": true});
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    let chunks = reply.chunks();
    let last = chunks.last().unwrap();
    assert_eq!(last["usage"]["prompt_tokens"], 3);
    assert_eq!(last["choices"], json!([]));
}

#[tokio::test]
async fn completions_and_embeddings_and_models() {
    let gateway = start(THREE_ENDPOINTS).await;
    let reply = post_json(
        &gateway.url("/v1/completions"),
        &[],
        json!({"model": "completions", "prompt": "say hi", "max_tokens": 5}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["text"], "echo: say hi");
    assert_eq!(reply.json()["object"], "text_completion");
    // As MLflow's gateway does, OpenAI completions go through the chat API.
    let sent = &gateway.upstream.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.body["messages"][0]["content"], "say hi");

    let reply = post_json(
        &gateway.url("/v1/completions"),
        &[],
        json!({"model": "completions", "prompt": "a b", "stream": true}),
    )
    .await;
    assert_eq!(reply.events().last().map(String::as_str), Some("[DONE]"));

    let reply = post_json(
        &gateway.url("/v1/embeddings"),
        &[],
        json!({"model": "embed", "input": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["data"].as_array().unwrap().len(), 3);

    let reply = get(&gateway.url("/v1/models"), &[]).await;
    let ids: Vec<_> = reply.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["chat", "completions", "embed"]);
}

#[tokio::test]
async fn malformed_body_is_400_in_openai_shape() {
    let gateway = start(THREE_ENDPOINTS).await;
    let reply = send(
        Method::POST,
        &gateway.url("/v1/chat/completions"),
        &[("content-type", "application/json")],
        r#"{"model": "chat", "messages": ["#,
    )
    .await;
    assert_eq!(reply.status, 400);
    let error = &reply.json()["error"];
    assert_eq!(error["type"], "invalid_request_error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_400_naming_it() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("hi");
    body["max_tokens"] = json!("lots");
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["param"], "max_tokens");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`max_tokens`")
    );

    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[],
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["param"], "model");
}

#[tokio::test]
async fn unknown_endpoint_is_404_naming_it() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("hi");
    body["model"] = json!("nope");
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`nope`")
    );

    let reply = get(&gateway.url("/v2/whatever"), &[]).await;
    assert_eq!(reply.status, 404);
    let reply = get(&gateway.url("/v1/chat/completions"), &[]).await;
    assert_eq!(reply.status, 405);
}

#[tokio::test]
async fn an_endpoint_of_another_type_is_400() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("hi");
    body["model"] = json!("embed");
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("llm/v1/embeddings"));
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let yaml = format!("{THREE_ENDPOINTS}server:\n  max_body_bytes: 1024\n");
    let gateway = start(&yaml).await;
    let reply = post_json(
        &gateway.url("/v1/chat/completions"),
        &[],
        chat_body(&"word ".repeat(500)),
    )
    .await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024 bytes")
    );
    assert_eq!(gateway.upstream.request_count(), 0);

    // A chunked body without a length is cut off at the limit too.
    let stream = futures_util::stream::iter((0..100).map(|_| {
        Ok::<_, std::convert::Infallible>(http_body::Frame::data(Bytes::from_static(&[b' '; 100])))
    }));
    let request = http::Request::post(gateway.url("/v1/chat/completions"))
        .body(http_body_util::StreamBody::new(stream))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::StreamBody<_>>();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_message() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("hi");
    body["mock"] = json!({"fault": "status:429"});
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    assert_eq!(reply.status, 429);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mock upstream fault")
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_fast_502() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let yaml = THREE_ENDPOINTS.replacen("{upstream}", &dead_url, 1);
    let gateway = start(&yaml).await;
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], chat_body("hi")).await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json()["error"]["type"], "bad_gateway");
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1")
    );
}

#[tokio::test]
async fn a_client_that_goes_away_mid_stream_cancels_the_upstream_call() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("a long answer");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunks": 50, "chunk_interval_ms": 50});
    let request = http::Request::post(gateway.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
        .unwrap();
    let response = common::client().request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first.is_data());
    drop(body);
    assert!(
        eventually(|| gateway.upstream.cancelled_streams() == 1).await,
        "the upstream stream was not cancelled"
    );
    assert_eq!(gateway.upstream.completed_streams(), 0);
}

#[tokio::test]
async fn a_truncated_upstream_stream_ends_in_an_error_event() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("one two three four");
    body["stream"] = json!(true);
    body["mock"] = json!({"fault": "truncate:2"});
    let reply = post_json(&gateway.url("/v1/chat/completions"), &[], body).await;
    assert_eq!(reply.status, 200);
    let events = reply.events();
    assert!(!events.contains(&"[DONE]".to_owned()), "{events:?}");
    let last: serde_json::Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("[DONE]")
    );
}

#[tokio::test]
async fn shutdown_drains_a_stream_in_flight() {
    let gateway = start(THREE_ENDPOINTS).await;
    let mut body = chat_body("x");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunks": 10, "chunk_interval_ms": 30, "reply": "a b c d e f g h i j"});
    let request = http::Request::post(gateway.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
        .unwrap();
    let response = common::client().request(request).await.unwrap();
    let reading = tokio::spawn(async move {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let drained = gateway.stop().await;
    assert_eq!(drained, towergate::server::Drained::Cleanly);
    let text = reading.await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
}
