//! The mock's Anthropic, Mistral and Cohere wires, driven over loopback by a
//! plain HTTP client: their paths, answers, stream events and error bodies.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};
use towergate_testkit::{Behavior, MockUpstream};

struct Answer {
    status: StatusCode,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// `(event name, data)` of each server-sent event.
    fn events(&self) -> Vec<(Option<String>, String)> {
        let text = String::from_utf8(self.body.to_vec()).unwrap();
        text.split("\n\n")
            .filter(|event| !event.is_empty())
            .map(|event| {
                let mut name = None;
                let mut data = String::new();
                for line in event.lines() {
                    if let Some(value) = line.strip_prefix("event: ") {
                        name = Some(value.to_owned());
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data = value.to_owned();
                    }
                }
                (name, data)
            })
            .collect()
    }
}

async fn post(url: String, headers: &[(&str, &str)], body: Value) -> Answer {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let mut builder = Request::builder().method(Method::POST).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

const ANTHROPIC: &[(&str, &str)] = &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")];

#[tokio::test]
async fn anthropic_answers_a_message_and_its_named_stream_events() {
    let upstream = MockUpstream::start().await;
    let url = format!("{}/messages", upstream.base_url());
    let request = json!({
        "model": "claude-x", "max_tokens": 50, "system": "terse",
        "messages": [{"role": "user", "content": "hi there"}]
    });

    let complete = post(url.clone(), ANTHROPIC, request.clone()).await;
    assert_eq!(complete.status, StatusCode::OK);
    let message = complete.json();
    assert_eq!(message["type"], "message");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "echo: hi there"}])
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["usage"]["input_tokens"], 3);
    assert_eq!(message["usage"]["output_tokens"], 3);

    let mut streamed = request;
    streamed["stream"] = json!(true);
    let events = post(url, ANTHROPIC, streamed).await.events();
    let names: Vec<&str> = events
        .iter()
        .map(|(name, _)| name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for (name, data) in &events {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(data["type"], name.as_deref().unwrap());
    }
    let delta: Value = serde_json::from_str(&events[7].1).unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn anthropic_refuses_what_anthropic_refuses_in_its_error_shape() {
    let upstream = MockUpstream::start().await;
    let url = format!("{}/messages", upstream.base_url());
    let user = json!([{"role": "user", "content": "x"}]);
    let cases = [
        (
            json!({"model": "m", "messages": user}),
            "max_tokens: Field required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": user, "stream_options": {}}),
            "stream_options: Extra inputs are not permitted",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
            "Unexpected role \"system\"",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [
                {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
            "roles must alternate",
        ),
    ];
    for (body, expected) in cases {
        let answer = post(url.clone(), ANTHROPIC, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        let error = answer.json();
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
    let no_version = post(
        url,
        &[("x-api-key", "k")],
        json!({"model": "m", "max_tokens": 5, "messages": user}),
    )
    .await;
    assert_eq!(no_version.status, StatusCode::BAD_REQUEST);

    upstream.set_behavior(Behavior::new());
    let overloaded = post(
        format!("{}/messages", upstream.base_url()),
        &[
            ("x-api-key", "k"),
            ("anthropic-version", "2023-06-01"),
            ("x-mock-fault", "status:529"),
        ],
        json!({"model": "m", "max_tokens": 5, "messages": user}),
    )
    .await;
    assert_eq!(overloaded.status.as_u16(), 529);
    assert_eq!(overloaded.json()["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn mistral_lives_under_its_prefix_and_reports_usage_in_the_finish_chunk() {
    let upstream = MockUpstream::start().await;
    let url = format!("{}/chat/completions", upstream.mistral_base_url());
    let auth = [("authorization", "Bearer k")];

    let refused = post(
        url.clone(),
        &auth,
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = refused.json();
    assert_eq!(error["object"], "error");
    assert_eq!(error["message"]["detail"][0]["type"], "extra_forbidden");
    assert_eq!(
        error["message"]["detail"][0]["loc"],
        json!(["body", "stream_options"])
    );

    let answer = post(
        url,
        &auth,
        json!({"model": "m", "messages": [{"role": "user", "content": "x y"}], "stream": true, "random_seed": 1}),
    )
    .await;
    let events = answer.events();
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let finish: Value = serde_json::from_str(&events[events.len() - 2].1).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["usage"]["total_tokens"], 5);

    // OpenAI's own path is still OpenAI's wire.
    let openai = post(
        format!("{}/chat/completions", upstream.base_url()),
        &auth,
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": false}}),
    )
    .await;
    assert_eq!(openai.status, StatusCode::OK);
}

#[tokio::test]
async fn cohere_streams_its_typed_events_and_embeds_floats() {
    let upstream = MockUpstream::start().await;
    let auth = [("authorization", "Bearer k")];

    let events = post(
        format!("{}/v2/chat", upstream.url()),
        &auth,
        json!({"model": "command-r", "messages": [{"role": "user", "content": "a b"}], "stream": true}),
    )
    .await
    .events();
    let types: Vec<String> = events
        .iter()
        .map(|(_, data)| {
            serde_json::from_str::<Value>(data).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("message-start"));
    assert_eq!(types.last().map(String::as_str), Some("message-end"));
    assert!(types.iter().any(|t| t == "content-delta"));
    let end: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(end["delta"]["finish_reason"], "COMPLETE");
    assert_eq!(
        end["delta"]["usage"]["billed_units"],
        json!({"input_tokens": 2, "output_tokens": 3})
    );

    let embed = post(
        format!("{}/v2/embed", upstream.url()),
        &auth,
        json!({"model": "embed-v4.0", "texts": ["a"], "input_type": "search_document", "embedding_types": ["float"]}),
    )
    .await;
    assert_eq!(embed.status, StatusCode::OK);
    assert_eq!(
        embed.json()["embeddings"]["float"][0]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    let missing = post(
        format!("{}/v2/embed", upstream.url()),
        &auth,
        json!({"model": "embed-v4.0", "texts": ["a"]}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.json()["message"]
            .as_str()
            .unwrap()
            .contains("input_type")
    );
}
