//! The in-process mock provider.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tower_service::Service;
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::ChatRequest,
    completion::CompletionRequest,
    embeddings::{EmbeddingsRequest, Vector},
};
use towergate_testkit::{MockProvider, MockUpstream};

fn chat(value: serde_json::Value) -> Operation {
    Operation::Chat(serde_json::from_value::<ChatRequest>(value).unwrap())
}

async fn call(
    provider: &mut MockProvider,
    operation: Operation,
) -> Result<GatewayResponse, GatewayError> {
    provider
        .call(GatewayRequest::new("endpoint", operation))
        .await
}

#[tokio::test]
async fn chat_answers_like_the_server() {
    let mut provider = MockProvider::new();
    let response = call(
        &mut provider,
        chat(json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}]})),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("mock"));
    assert_eq!(response.meta.model.as_deref(), Some("gpt-4o-mini"));
    let usage = response.meta.usage.clone().unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (2, 3, 5)
    );
    let Payload::Chat(answer) = response.payload else {
        panic!("not a chat answer")
    };
    assert_eq!(answer.id, "chatcmpl-mock-1");
    assert_eq!(
        answer.choices[0].message.text_content().as_deref(),
        Some("echo: Hello there")
    );
    assert_eq!(provider.calls(), 1);
    let clone = provider.clone();
    call(
        &mut provider,
        chat(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await
    .unwrap();
    assert_eq!(clone.calls(), 2);
}

#[tokio::test]
async fn chat_stream_yields_typed_chunks() {
    let mut provider = MockProvider::new()
        .reply("one two three four")
        .chunks(3)
        .chunk_interval(Duration::from_millis(1))
        .latency(Duration::from_millis(1));
    let response = call(
        &mut provider,
        chat(json!({
            "messages": [{"role": "user", "content": "hi"}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })),
    )
    .await
    .unwrap();
    assert!(response.is_stream());
    assert_eq!(response.meta.model.as_deref(), Some("mock-model"));
    let Payload::ChatStream(stream) = response.payload else {
        panic!("not a chat stream")
    };
    let chunks: Vec<_> = stream.map(Result::unwrap).collect().await;
    // role, three pieces, finish, usage
    assert_eq!(chunks.len(), 6);
    let text: String = chunks[1..4]
        .iter()
        .filter_map(|c| c.choices[0].delta.content.clone())
        .collect();
    assert_eq!(text, "one two three four");
    assert_eq!(chunks[4].choices[0].finish_reason.as_deref(), Some("stop"));
    let usage = chunks[5].usage.clone().unwrap();
    assert!(chunks[5].choices.is_empty());
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (1, 4));
}

#[tokio::test]
async fn completion_stream_without_usage() {
    let mut provider = MockProvider::new();
    let request: CompletionRequest =
        serde_json::from_value(json!({"prompt": "a b", "stream": true})).unwrap();
    let response = call(&mut provider, Operation::Completion(request))
        .await
        .unwrap();
    let Payload::CompletionStream(stream) = response.payload else {
        panic!("not a completion stream")
    };
    let chunks: Vec<_> = stream.map(Result::unwrap).collect().await;
    let text: String = chunks.iter().map(|c| c.choices[0].text.as_str()).collect();
    assert_eq!(text, "echo: a b");
    assert!(chunks.iter().all(|c| c.usage.is_none()));
}

#[tokio::test]
async fn embeddings_match_the_server() {
    let mut provider = MockProvider::new();
    let body = json!({"model": "embed", "input": ["alpha", "beta gamma"]});
    let request: EmbeddingsRequest = serde_json::from_value(body.clone()).unwrap();
    let response = call(&mut provider, Operation::Embeddings(request))
        .await
        .unwrap();
    assert_eq!(response.meta.usage.as_ref().unwrap().prompt_tokens, 3);
    let Payload::Embeddings(answer) = response.payload else {
        panic!("not embeddings")
    };
    assert_eq!(answer.data.len(), 2);
    let Vector::Float(first) = &answer.data[0].embedding else {
        panic!("not floats")
    };
    assert_eq!(first.len(), 8);

    let upstream = MockUpstream::start().await;
    let url = format!("{}/embeddings", upstream.base_url());
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let request = http::Request::post(url)
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let over_http = client.request(request).await.unwrap();
    let over_http = http_body_util::BodyExt::collect(over_http.into_body())
        .await
        .unwrap()
        .to_bytes();
    let over_http: serde_json::Value = serde_json::from_slice(&over_http).unwrap();
    let served: Vec<f32> =
        serde_json::from_value(over_http["data"][0]["embedding"].clone()).unwrap();
    assert_eq!(&served, first);
}

#[tokio::test]
async fn fail_with_answers_the_error() {
    let mut provider = MockProvider::new().fail_with(GatewayError::bad_gateway("upstream down"));
    let error = call(&mut provider, chat(json!({"messages": []})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.message(), "upstream down");
    assert_eq!(provider.calls(), 1);
}

#[tokio::test]
async fn listings_are_not_a_providers_job() {
    let mut provider = MockProvider::new();
    let error = call(&mut provider, Operation::ListEndpoints)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}
