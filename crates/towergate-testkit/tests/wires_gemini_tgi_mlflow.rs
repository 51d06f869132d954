//! The mock's Gemini, TGI and MLflow model-serving wires, driven over
//! loopback by a plain HTTP client: their paths, answers, stream events,
//! validation and error bodies.

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

    /// The JSON data of each server-sent event (`data:` with or without a space).
    fn events(&self) -> Vec<Value> {
        let text = String::from_utf8(self.body.to_vec()).unwrap();
        text.split("\n\n")
            .flat_map(|event| event.split("\r\n\r\n"))
            .filter_map(|event| event.trim().strip_prefix("data:"))
            .map(|data| serde_json::from_str(data.trim()).unwrap())
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

#[tokio::test]
async fn gemini_generates_streams_and_embeds_as_google_does() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(2)).await;
    upstream.require_key(Some("g-key"));
    let key = &[("x-goog-api-key", "g-key")];
    let base = format!("{}/models/gemini-x", upstream.gemini_base_url());
    let request = json!({
        "systemInstruction": {"parts": [{"text": "be terse"}]},
        "contents": [{"role": "user", "parts": [{"text": "hi there"}]}],
        "generationConfig": {"maxOutputTokens": 10}
    });

    let complete = post(format!("{base}:generateContent"), key, request.clone()).await;
    assert_eq!(complete.status, StatusCode::OK);
    let answer = complete.json();
    assert_eq!(
        answer["candidates"][0]["content"],
        json!({"role": "model", "parts": [{"text": "echo: hi there"}]})
    );
    assert_eq!(answer["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        answer["usageMetadata"],
        json!({"promptTokenCount": 4, "candidatesTokenCount": 3, "totalTokenCount": 7})
    );
    assert_eq!(answer["modelVersion"], "gemini-x");

    let streamed = post(
        format!("{base}:streamGenerateContent?alt=sse"),
        key,
        request,
    )
    .await;
    assert!(String::from_utf8_lossy(&streamed.body).contains("\r\n\r\n"));
    let events = streamed.events();
    assert_eq!(events.len(), 3);
    let text: String = events
        .iter()
        .filter_map(|event| {
            event
                .pointer("/candidates/0/content/parts/0/text")?
                .as_str()
        })
        .collect();
    assert_eq!(text, "echo: hi there");
    assert!(
        events[..2]
            .iter()
            .all(|e| e["candidates"][0].get("finishReason").is_none())
    );
    assert_eq!(events[2]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(events[2]["usageMetadata"]["totalTokenCount"], 7);

    let batch = post(
        format!("{base}:batchEmbedContents"),
        key,
        json!({"requests": [
            {"model": "models/gemini-x", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
            {"model": "models/gemini-x", "content": {"parts": [{"text": "b"}]}}
        ]}),
    )
    .await;
    let vectors = batch.json()["embeddings"].as_array().unwrap().clone();
    assert_eq!(vectors.len(), 2);
    assert_eq!(vectors[0]["values"].as_array().unwrap().len(), 3);
    assert_eq!(vectors[1]["values"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn gemini_refuses_in_google_s_error_shape() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("g-key"));
    let url = format!(
        "{}/models/gemini-x:generateContent",
        upstream.gemini_base_url()
    );
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]});

    let missing = post(url.clone(), &[], body.clone()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.json()["error"]["status"], "UNAUTHENTICATED");

    let key = &[("x-goog-api-key", "g-key")];
    let unknown = post(url.clone(), key, json!({"contents": [], "temperature": 1})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let error = &unknown.json()["error"];
    assert_eq!(error["code"], 400);
    assert_eq!(error["status"], "INVALID_ARGUMENT");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Unknown name \"temperature\"")
    );

    let bad_role = json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]});
    let refused = post(url.clone(), key, bad_role).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let mut faulty = body;
    faulty["mock"] = json!({"fault": "status:503"});
    let fault = post(url, key, faulty).await;
    assert_eq!(fault.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fault.json()["error"]["status"], "UNAVAILABLE");
}

#[tokio::test]
async fn gemini_calls_the_allowed_function() {
    let upstream = MockUpstream::start().await;
    let url = format!("{}/models/m:generateContent", upstream.gemini_base_url());
    let answer = post(
        url,
        &[],
        json!({
            "contents": [{"role": "user", "parts": [{"text": "weather?"}]}],
            "tools": [{"functionDeclarations": [{"name": "a"}, {"name": "b"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["b"]}}
        }),
    )
    .await
    .json();
    assert_eq!(
        answer["candidates"][0]["content"]["parts"][0],
        json!({"functionCall": {"name": "b", "args": {"echo": "weather?"}}})
    );
}

#[tokio::test]
async fn tgi_generates_with_details_and_streams_tokens() {
    let upstream = MockUpstream::start().await;
    let generated = post(
        format!("{}/generate", upstream.url()),
        &[],
        json!({"inputs": "a b", "parameters": {"details": true, "decoder_input_details": true, "seed": 3}}),
    )
    .await;
    assert_eq!(generated.status, StatusCode::OK);
    let answer = generated.json();
    assert_eq!(answer["generated_text"], "echo: a b");
    assert_eq!(answer["details"]["finish_reason"], "eos_token");
    assert_eq!(answer["details"]["generated_tokens"], 4);
    assert_eq!(answer["details"]["prefill"].as_array().unwrap().len(), 2);
    assert_eq!(answer["details"]["seed"], 3);

    let plain = post(
        format!("{}/generate", upstream.url()),
        &[],
        json!({"inputs": "a"}),
    )
    .await;
    assert!(plain.json().get("details").is_none());

    let streamed = post(
        format!("{}/generate_stream", upstream.url()),
        &[],
        json!({"inputs": "a b", "parameters": {"max_new_tokens": 2}}),
    )
    .await;
    let events = streamed.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["token"]["text"], "echo:");
    assert!(events[0]["details"].is_null());
    assert_eq!(events[1]["generated_text"], "echo: a");
    assert_eq!(
        events[1]["details"],
        json!({"finish_reason": "length", "generated_tokens": 2, "seed": null, "input_length": 2})
    );
}

#[tokio::test]
async fn tgi_validates_as_tgi_does() {
    let upstream = MockUpstream::start().await;
    let url = format!("{}/generate", upstream.url());
    for (parameters, message) in [
        (
            json!({"temperature": 0}),
            "`temperature` must be strictly positive",
        ),
        (json!({"top_p": 1.0}), "`top_p` must be > 0.0 and < 1.0"),
        (
            json!({"max_new_tokens": 0}),
            "`max_new_tokens` must be strictly positive",
        ),
    ] {
        let refused = post(
            url.clone(),
            &[],
            json!({"inputs": "x", "parameters": parameters}),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.json(),
            json!({"error": message, "error_type": "validation"})
        );
    }
    let streamed = post(
        format!("{}/generate_stream", upstream.url()),
        &[],
        json!({"inputs": "x", "parameters": {"decoder_input_details": true}}),
    )
    .await;
    assert_eq!(streamed.status, StatusCode::UNPROCESSABLE_ENTITY);

    let fault = post(
        url,
        &[],
        json!({"inputs": "x", "parameters": {"mock": {"fault": "status:429"}}}),
    )
    .await;
    assert_eq!(fault.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fault.json()["error_type"], "overloaded");
}

#[tokio::test]
async fn mlflow_serving_predicts_text_and_vectors() {
    let upstream = MockUpstream::start().await;
    let text = post(
        format!("{}/invocations", upstream.url()),
        &[],
        json!({"inputs": ["one two", "three"], "params": {"max_tokens": 2}}),
    )
    .await;
    assert_eq!(
        text.json(),
        json!({"predictions": ["echo: one", "echo: three"]})
    );

    let vectors = post(
        format!("{}/embed/invocations", upstream.url()),
        &[],
        json!({"inputs": ["one"], "params": {"dimensions": 5}}),
    )
    .await
    .json();
    assert_eq!(vectors["predictions"][0].as_array().unwrap().len(), 5);

    let refused = post(
        format!("{}/invocations", upstream.url()),
        &[],
        json!({"instances": ["x"], "extra": 1}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let error = refused.json();
    assert_eq!(error["error_code"], "BAD_REQUEST");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input.")
    );

    let fault = post(
        format!("{}/invocations", upstream.url()),
        &[],
        json!({"inputs": ["x"], "params": {"mock": {"fault": "status:503"}}}),
    )
    .await;
    assert_eq!(fault.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fault.json()["error_code"], "TEMPORARILY_UNAVAILABLE");
}
