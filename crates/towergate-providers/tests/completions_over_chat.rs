//! Completions through a chat API, as MLflow's gateway serves them for OpenAI.
#![allow(clippy::unwrap_used)]

mod common;

use common::{client, completion, drain};
use serde_json::json;
use tower::{Layer, ServiceExt};
use towergate_core::{ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Payload};
use towergate_providers::{completions_over_chat::CompletionsOverChatLayer, openai::OpenAi};
use towergate_testkit::MockUpstream;

async fn send(
    upstream: &MockUpstream,
    request: GatewayRequest,
) -> Result<GatewayResponse, GatewayError> {
    let openai = OpenAi::builder("gpt-4o-mini")
        .api_base(upstream.base_url())
        .api_key("k")
        .build(&client())
        .unwrap();
    CompletionsOverChatLayer::new()
        .layer(openai)
        .oneshot(request)
        .await
}

#[tokio::test]
async fn the_prompt_becomes_the_user_message_and_the_answer_its_text() {
    let upstream = MockUpstream::start().await;
    let response = send(
        &upstream,
        completion(json!({"model": "c", "prompt": "say hi", "max_tokens": 5, "temperature": 0.5, "stop": ["\n"]})),
    )
    .await
    .unwrap();
    let Payload::Completion(answer) = response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(answer.object, "text_completion");
    assert_eq!(answer.choices[0].text, "echo: say hi");
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.usage.unwrap().prompt_tokens, 2);

    let sent = &upstream.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": "say hi"}])
    );
    assert_eq!(sent.body["max_tokens"], 5);
    assert_eq!(sent.body["temperature"], 0.5);
    assert_eq!(sent.body["stop"], json!(["\n"]));
    assert!(sent.body.get("prompt").is_none());
}

#[tokio::test]
async fn a_streamed_chat_answer_streams_as_completion_chunks() {
    let upstream = MockUpstream::start().await;
    let response = send(
        &upstream,
        completion(
            json!({"prompt": "one two", "stream": true, "stream_options": {"include_usage": true}}),
        ),
    )
    .await
    .unwrap();
    let Payload::CompletionStream(chunks) = response.payload else {
        panic!("expected a completion stream");
    };
    let chunks: Vec<_> = drain(chunks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(chunks.iter().all(|c| c.object == "text_completion"));
    let text: String = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(text, "echo: one two");
    assert!(chunks.last().unwrap().usage.is_some());
    assert!(
        chunks
            .iter()
            .flat_map(|c| &c.choices)
            .any(|c| c.finish_reason.as_deref() == Some("stop"))
    );
}

#[tokio::test]
async fn what_a_chat_api_cannot_do_is_refused_naming_the_field() {
    let upstream = MockUpstream::start().await;
    for (body, field) in [
        (json!({"prompt": ["a", "b"]}), "prompt"),
        (json!({"prompt": [1, 2, 3]}), "prompt"),
        (json!({"prompt": "a", "suffix": "z"}), "suffix"),
        (json!({"prompt": "a", "echo": true}), "echo"),
        (json!({"prompt": "a", "best_of": 3}), "best_of"),
        (json!({"prompt": "a", "logprobs": 2}), "logprobs"),
    ] {
        let error = send(&upstream, completion(body)).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.param(), Some(field));
    }
    assert_eq!(upstream.request_count(), 0);
}

#[tokio::test]
async fn chat_requests_pass_through() {
    let upstream = MockUpstream::start().await;
    let response = send(
        &upstream,
        common::chat(json!({"messages": [{"role": "user", "content": "hi"}]})),
    )
    .await
    .unwrap();
    assert!(matches!(response.payload, Payload::Chat(_)));
}
