//! The mock upstream, driven over loopback by a hyper-util client.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};
use towergate_testkit::{Behavior, Fault, MockUpstream};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .header("content-type", "application/json")
        .body(Full::new(body))
        .unwrap()
}

/// A complete answer: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }

    /// The `data:` payloads of a server-sent event stream.
    fn events(&self) -> Vec<String> {
        sse_events(&self.text())
    }
}

fn sse_events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| event.strip_prefix("data: ").unwrap().to_owned())
        .collect()
}

async fn send(client: &HttpClient, request: Request<Full<Bytes>>) -> Answer {
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn post(upstream: &MockUpstream, path: &str, body: Value) -> Answer {
    post_with(upstream, path, &[], body).await
}

async fn post_with(
    upstream: &MockUpstream,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> Answer {
    let url = format!("{}{path}", upstream.url());
    send(
        &client(),
        request(Method::POST, &url, headers, Bytes::from(body.to_string())),
    )
    .await
}

fn chat(text: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]})
}

fn stream_chat(text: &str) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": text}],
        "stream": true,
        "stream_options": {"include_usage": true}
    })
}

/// The content deltas of a chat stream's events, role chunk and others left out.
fn contents(events: &[String]) -> Vec<String> {
    events
        .iter()
        .filter(|event| *event != "[DONE]")
        .map(|event| serde_json::from_str::<Value>(event).unwrap())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|content| !content.is_empty())
        .collect()
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} never happened");
}

#[tokio::test]
async fn chat_echoes_the_last_user_message_with_word_usage() {
    let upstream = MockUpstream::start().await;
    let answer = post(
        &upstream,
        "/v1/chat/completions",
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Hello there"}
            ]
        }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/json");
    let body = answer.json();
    assert_eq!(body["id"], "chatcmpl-mock-1");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["system_fingerprint"], "fp_mock");
    assert_eq!(
        body["choices"],
        json!([{
            "index": 0,
            "message": {"role": "assistant", "content": "echo: Hello there"},
            "finish_reason": "stop",
            "logprobs": null
        }])
    );
    assert_eq!(
        body["usage"],
        json!({
            "prompt_tokens": 5,
            "completion_tokens": 3,
            "total_tokens": 8,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0}
        })
    );
}

#[tokio::test]
async fn chat_honours_n() {
    let upstream = MockUpstream::start().await;
    let mut body = chat("one two");
    body["n"] = json!(3);
    let answer = post(&upstream, "/v1/chat/completions", body).await.json();
    let choices = answer["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    for (i, choice) in choices.iter().enumerate() {
        assert_eq!(choice["index"], i);
        assert_eq!(choice["message"]["content"], "echo: one two");
    }
    assert_eq!(answer["usage"]["completion_tokens"], 9);
}

#[tokio::test]
async fn chat_with_tools_calls_the_first_tool() {
    let upstream = MockUpstream::start().await;
    let mut body = chat("weather in \"Paris\"");
    body["tools"] = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "get_time"}}
    ]);
    let answer = post(&upstream, "/v1/chat/completions", body.clone())
        .await
        .json();
    let choice = &answer["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{
            "id": "call_mock_0",
            "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"echo\":\"weather in \\\"Paris\\\"\"}"}
        }])
    );
    let arguments: Value = serde_json::from_str(
        choice["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(arguments, json!({"echo": "weather in \"Paris\""}));

    body["tool_choice"] = json!("none");
    let answer = post(&upstream, "/v1/chat/completions", body).await.json();
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "echo: weather in \"Paris\""
    );
}

#[tokio::test]
async fn stream_sends_role_content_finish_usage_and_done() {
    let upstream = MockUpstream::start().await;
    let answer = post(&upstream, "/v1/chat/completions", stream_chat("a b c d")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "text/event-stream");
    let events = answer.events();
    // role, 5 words ("echo:" a b c d), finish, usage, [DONE]
    assert_eq!(events.len(), 9, "{events:?}");
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..8]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], chunks[0]["id"]);
        assert_eq!(chunk["model"], "gpt-4o-mini");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(contents(&events).len(), 5);
    assert_eq!(contents(&events).concat(), "echo: a b c d");
    assert_eq!(chunks[6]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[7]["choices"], json!([]));
    assert_eq!(chunks[7]["usage"]["prompt_tokens"], 4);
    assert_eq!(chunks[7]["usage"]["completion_tokens"], 5);
    assert_eq!(chunks[7]["usage"]["total_tokens"], 9);
    eventually("a completed stream", || upstream.completed_streams() == 1).await;
    assert_eq!(upstream.cancelled_streams(), 0);
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_chunk() {
    let upstream = MockUpstream::start().await;
    let mut body = chat("x");
    body["stream"] = json!(true);
    let events = post(&upstream, "/v1/chat/completions", body).await.events();
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events.iter().all(|e| !e.contains("\"usage\"")));
}

#[tokio::test]
async fn stream_cadence_follows_the_behavior_and_the_request() {
    let upstream = MockUpstream::start_with(
        Behavior::new()
            .chunks(5)
            .chunk_interval(Duration::from_millis(2))
            .reply("the quick brown fox jumps over the lazy dog"),
    )
    .await;
    let events = post(&upstream, "/v1/chat/completions", stream_chat("hi"))
        .await
        .events();
    let pieces = contents(&events);
    assert_eq!(pieces.len(), 5);
    assert_eq!(
        pieces.concat(),
        "the quick brown fox jumps over the lazy dog"
    );

    let mut body = stream_chat("hi");
    body["mock"] = json!({"chunks": 12, "chunk_interval_ms": 1, "reply": "per request"});
    let events = post(&upstream, "/v1/chat/completions", body).await.events();
    let chunks: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("\"content\""))
        .collect();
    // role chunk plus 12 content chunks, some of them empty
    assert_eq!(chunks.len(), 13);
    assert_eq!(contents(&events).concat(), "per request");
}

#[tokio::test]
async fn tool_calls_stream_as_argument_fragments() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(3)).await;
    let mut body = stream_chat("hi");
    body["tools"] = json!([{"type": "function", "function": {"name": "lookup"}}]);
    let events = post(&upstream, "/v1/chat/completions", body).await.events();
    let chunks: Vec<Value> = events
        .iter()
        .filter(|e| *e != "[DONE]")
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let first = &chunks[0]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(first["index"], 0);
    assert_eq!(first["id"], "call_mock_0");
    assert_eq!(first["type"], "function");
    assert_eq!(first["function"]["name"], "lookup");
    let arguments: String = chunks[1..4]
        .iter()
        .map(|c| {
            let call = &c["choices"][0]["delta"]["tool_calls"][0];
            assert_eq!(call["index"], 0);
            assert!(call.get("id").is_none());
            call["function"]["arguments"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(arguments, "{\"echo\":\"hi\"}");
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn completions_answer_and_stream() {
    let upstream = MockUpstream::start().await;
    let answer = post(
        &upstream,
        "/v1/completions",
        json!({"model": "davinci", "prompt": "Say this"}),
    )
    .await
    .json();
    assert_eq!(answer["id"], "cmpl-mock-1");
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(
        answer["choices"],
        json!([{"text": "echo: Say this", "index": 0, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5})
    );

    let events = post(
        &upstream,
        "/v1/completions",
        json!({"prompt": "Say this", "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await
    .events();
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "echo: Say this");
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 5);
}

#[tokio::test]
async fn embeddings_are_deterministic_unit_vectors() {
    let upstream = MockUpstream::start().await;
    let answer = post(
        &upstream,
        "/v1/embeddings",
        json!({"model": "embed", "input": ["a b", "c"]}),
    )
    .await
    .json();
    assert_eq!(answer["object"], "list");
    assert_eq!(answer["model"], "embed");
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    let data = answer["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (i, item) in data.iter().enumerate() {
        assert_eq!(item["object"], "embedding");
        assert_eq!(item["index"], i);
        let vector: Vec<f64> = serde_json::from_value(item["embedding"].clone()).unwrap();
        assert_eq!(vector.len(), 8);
        let norm = vector.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    let again = post(
        &upstream,
        "/v1/embeddings",
        json!({"input": "a b", "dimensions": 16}),
    )
    .await
    .json();
    assert_eq!(again["data"][0]["embedding"].as_array().unwrap().len(), 16);
    let same = post(&upstream, "/v1/embeddings", json!({"input": "a b"}))
        .await
        .json();
    assert_eq!(same["data"][0]["embedding"], data[0]["embedding"]);
}

#[tokio::test]
async fn models_unknown_paths_and_bad_bodies() {
    let upstream = MockUpstream::start().await;
    let client = client();
    let models = send(
        &client,
        request(
            Method::GET,
            &format!("{}/models", upstream.base_url()),
            &[],
            Bytes::new(),
        ),
    )
    .await;
    assert_eq!(models.status, StatusCode::OK);
    assert_eq!(models.json()["data"][0]["id"], "mock-model");

    let unknown = post(&upstream, "/v1/images/generations", json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.json(),
        json!({"error": {
            "message": "Invalid URL (POST /v1/images/generations)",
            "type": "invalid_request_error", "param": null, "code": null
        }})
    );

    let url = format!("{}/chat/completions", upstream.base_url());
    let garbage = send(
        &client,
        request(Method::POST, &url, &[], Bytes::from_static(b"{oops")),
    )
    .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(
        garbage.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );

    let missing = post(&upstream, "/v1/chat/completions", json!({"model": "m"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["error"]["param"], "messages");
    let missing = post(&upstream, "/v1/embeddings", json!({"model": "m"})).await;
    assert_eq!(missing.json()["error"]["param"], "input");

    let wrong = post(
        &upstream,
        "/v1/chat/completions",
        json!({"messages": [{"role": "robot"}]}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.json()["error"]["param"]
            .as_str()
            .unwrap()
            .starts_with("messages[0]")
    );
}

#[tokio::test]
async fn status_fault_answers_openais_error_body() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Status(503))).await;
    let answer = post(&upstream, "/v1/chat/completions", chat("hi")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.json(),
        json!({"error": {
            "message": "mock upstream fault: status 503",
            "type": "server_error", "param": null, "code": null
        }})
    );
}

#[tokio::test]
async fn reset_fault_is_a_connection_error() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Reset)).await;
    let url = format!("{}/chat/completions", upstream.base_url());
    let result = client()
        .request(request(
            Method::POST,
            &url,
            &[],
            Bytes::from(chat("hi").to_string()),
        ))
        .await;
    let error = result.unwrap_err();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut reset = false;
    while let Some(error) = source {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            reset |= io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = error.source();
    }
    assert!(reset, "not a connection reset: {error:?}");
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn stall_fault_never_answers() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Stall)).await;
    let url = format!("{}/chat/completions", upstream.base_url());
    let pending = client().request(request(
        Method::POST,
        &url,
        &[],
        Bytes::from(chat("hi").to_string()),
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), pending)
            .await
            .is_err()
    );
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn truncated_stream_lacks_done() {
    let upstream =
        MockUpstream::start_with(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 2 }))
            .await;
    let answer = post(
        &upstream,
        "/v1/chat/completions",
        stream_chat("one two three four"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let events = answer.events();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(!events.contains(&"[DONE]".to_owned()));
    assert_eq!(contents(&events).concat(), "echo: one");
    assert_eq!(upstream.completed_streams(), 0);

    let answer = post(
        &upstream,
        "/v1/chat/completions",
        chat("one two three four"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&answer.body).is_err());
    assert!(answer.text().starts_with("{\"id\":\"chatcmpl-mock-"));
}

#[tokio::test]
async fn malformed_fault_sends_garbage() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::MalformedJson)).await;
    let answer = post(&upstream, "/v1/chat/completions", chat("hi")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(serde_json::from_slice::<Value>(&answer.body).is_err());

    let events = post(&upstream, "/v1/chat/completions", stream_chat("hi"))
        .await
        .events();
    assert!(events.contains(&"{not json".to_owned()), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| serde_json::from_str::<Value>(e).is_err() && e != "[DONE]")
    );
}

#[tokio::test]
async fn header_and_body_override_the_behavior_for_one_request() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Status(500))).await;
    let path = "/v1/chat/completions";

    let by_header = post_with(
        &upstream,
        path,
        &[("x-mock-fault", "status:429")],
        chat("hi"),
    )
    .await;
    assert_eq!(by_header.status, StatusCode::TOO_MANY_REQUESTS);

    let mut body = chat("hi");
    body["mock"] = json!({"fault": "status:502"});
    let by_body = post_with(&upstream, path, &[("x-mock-fault", "status:429")], body).await;
    assert_eq!(by_body.status, StatusCode::BAD_GATEWAY);

    let mut body = chat("hi");
    body["mock"] = json!({"fault": "none", "reply": "overridden", "latency_ms": 1});
    let cleared = post(&upstream, path, body).await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert_eq!(
        cleared.json()["choices"][0]["message"]["content"],
        "overridden"
    );

    let mut body = stream_chat("one two three");
    body["mock"] = json!({"fault": "truncate:1"});
    let events = post(&upstream, path, body).await.events();
    assert_eq!(events.len(), 2, "{events:?}");

    let bad = post_with(&upstream, path, &[("x-mock-fault", "explode")], chat("hi")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("explode")
    );

    // The server's own behavior is unchanged.
    let plain = post(&upstream, path, chat("hi")).await;
    assert_eq!(plain.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn required_key_is_checked_in_either_header() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("sk-test"));
    let path = "/v1/chat/completions";

    let none = post(&upstream, path, chat("hi")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json()["error"]["type"], "invalid_request_error");

    let wrong = post_with(
        &upstream,
        path,
        &[("authorization", "Bearer sk-nope")],
        chat("hi"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["error"]["code"], "invalid_api_key");
    assert!(!wrong.text().contains("sk-nope"));

    let bearer = post_with(
        &upstream,
        path,
        &[("authorization", "Bearer sk-test")],
        chat("hi"),
    )
    .await;
    assert_eq!(bearer.status, StatusCode::OK);
    let azure = post_with(&upstream, path, &[("api-key", "sk-test")], chat("hi")).await;
    assert_eq!(azure.status, StatusCode::OK);

    upstream.require_key(None);
    assert_eq!(
        post(&upstream, path, chat("hi")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_request_is_recorded_in_order() {
    let upstream = MockUpstream::start().await;
    post_with(
        &upstream,
        "/openai/deployments/gpt4/chat/completions?api-version=2024-06-01",
        &[("api-key", "k")],
        chat("first"),
    )
    .await;
    let url = format!("{}/v1/embeddings", upstream.url());
    let not_json = send(
        &client(),
        request(Method::POST, &url, &[], Bytes::from_static(b"plain text")),
    )
    .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);

    assert_eq!(upstream.request_count(), 2);
    let requests = upstream.requests();
    assert_eq!(requests[0].method, Method::POST);
    assert_eq!(
        requests[0].path,
        "/openai/deployments/gpt4/chat/completions"
    );
    assert_eq!(requests[0].query.as_deref(), Some("api-version=2024-06-01"));
    assert_eq!(requests[0].headers["api-key"], "k");
    assert_eq!(requests[0].body, chat("first"));
    assert_eq!(requests[1].path, "/v1/embeddings");
    assert_eq!(requests[1].query, None);
    assert_eq!(requests[1].body, Value::Null);
}

#[tokio::test]
async fn a_client_that_goes_away_mid_stream_is_counted() {
    let upstream = MockUpstream::start_with(
        Behavior::new()
            .chunks(200)
            .chunk_interval(Duration::from_millis(10)),
    )
    .await;
    let url = format!("{}/chat/completions", upstream.base_url());
    let response = client()
        .request(request(
            Method::POST,
            &url,
            &[],
            Bytes::from(stream_chat("hi").to_string()),
        ))
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"data: "));
    drop(body);
    eventually("a cancelled stream", || upstream.cancelled_streams() == 1).await;
    assert_eq!(upstream.completed_streams(), 0);
}

#[tokio::test]
async fn shutdown_stops_answering() {
    let upstream = MockUpstream::start().await;
    let url = format!("{}/models", upstream.base_url());
    assert_eq!(
        send(&client(), request(Method::GET, &url, &[], Bytes::new()))
            .await
            .status,
        StatusCode::OK
    );
    upstream.shutdown().await;
    assert!(
        client()
            .request(request(Method::GET, &url, &[], Bytes::new()))
            .await
            .is_err()
    );
}
