//! The Text Generation Inference adapter against the mock's TGI wire, over loopback.

#![cfg(feature = "tgi")]
#![cfg(feature = "tgi")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    call, chat, chat_stream, client, completion, drain, embeddings, mlflow_completes,
    mlflow_refusal, stream_ends_in_bad_gateway, text_of,
};
use serde_json::json;
use towergate_core::{
    ErrorKind, Payload,
    chat::{ChatChunk, Role},
};
use towergate_providers::{tgi::Tgi, unknown_config_keys};
use towergate_testkit::{Behavior, Fault, MockUpstream};

const PROVIDER: &str = "huggingface-text-generation-inference";

fn tgi_at(upstream: &MockUpstream) -> Tgi {
    Tgi::builder(upstream.url())
        .model("llama-2-7b-chat")
        .build(&client())
        .unwrap()
}

#[tokio::test]
async fn a_completion_sends_inputs_and_parameters_field_by_field() {
    let upstream = MockUpstream::start().await;
    let tgi = tgi_at(&upstream);

    let response = call(
        &tgi,
        completion(json!({
            "model": "my-endpoint",
            "prompt": "Say this is a test",
            "max_tokens": 20,
            "temperature": 0,
            "top_p": 1.0,
            "stop": ["\n"],
            "seed": 7,
            "frequency_penalty": 0.5,
            "top_k": 10,
            "repetition_penalty": 1.2
        })),
    )
    .await
    .unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.method, http::Method::POST);
    assert_eq!(received.path, "/generate");
    assert_eq!(received.headers["content-type"], "application/json");
    assert_eq!(
        received.body,
        json!({
            "inputs": "Say this is a test",
            "parameters": {
                "max_new_tokens": 20,
                "temperature": 0.001,
                "stop": ["\n"],
                "seed": 7,
                "frequency_penalty": 0.5,
                "details": true,
                "decoder_input_details": true,
                "top_k": 10,
                "repetition_penalty": 1.2
            }
        })
    );

    let Payload::Completion(answer) = &response.payload else {
        panic!("expected a completion, got {:?}", response.payload);
    };
    assert_eq!(answer.choices[0].text, "echo: Say this is a test");
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.model, "llama-2-7b-chat");
    // Prompt: one token per word of the input (prefill); completion: the
    // reply's words and the end token.
    let usage = answer.usage.clone().unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (5, 7, 12)
    );
    assert_eq!(response.meta.usage, Some(usage));
    assert_eq!(response.meta.provider.as_deref(), Some(PROVIDER));
    assert_eq!(response.meta.model.as_deref(), Some("llama-2-7b-chat"));
    assert!(response.meta.upstream_latency.is_some());
}

#[tokio::test]
async fn a_chat_is_rendered_to_a_llama_2_prompt() {
    let upstream = MockUpstream::start().await;
    let tgi = tgi_at(&upstream);

    let response = call(
        &tgi,
        chat(json!({
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": [{"type": "text", "text": "How are you?"}]}
            ],
            "max_completion_tokens": 50,
            "temperature": 0.7,
            "top_p": 0.95
        })),
    )
    .await
    .unwrap();

    let prompt =
        "<s>[INST] <<SYS>> Be brief. <</SYS>> Hi [/INST] Hello! </s><s>[INST] How are you? [/INST]";
    assert_eq!(
        upstream.requests()[0].body,
        json!({
            "inputs": prompt,
            "parameters": {
                "max_new_tokens": 50,
                "temperature": 0.7,
                "top_p": 0.95,
                "details": true,
                "decoder_input_details": true
            }
        })
    );
    let Payload::Chat(answer) = &response.payload else {
        panic!("expected a chat answer");
    };
    assert_eq!(answer.object, "chat.completion");
    assert_eq!(answer.choices[0].message.role, Role::Assistant);
    assert_eq!(
        answer.choices[0].message.text_content(),
        Some(format!("echo: {prompt}"))
    );
    assert!(answer.usage.as_ref().unwrap().prompt_tokens > 0);
}

#[tokio::test]
async fn the_token_limit_finishes_with_length() {
    let upstream = MockUpstream::start().await;
    let tgi = tgi_at(&upstream);

    let response = call(
        &tgi,
        completion(json!({"prompt": "a b c d e", "max_tokens": 3})),
    )
    .await
    .unwrap();
    let Payload::Completion(answer) = &response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(answer.choices[0].text, "echo: a b");
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(answer.usage.as_ref().unwrap().completion_tokens, 3);
}

#[tokio::test]
async fn a_chat_stream_sends_each_token_then_finish_and_usage() {
    let upstream = MockUpstream::start().await;
    let tgi = tgi_at(&upstream);

    let response = call(
        &tgi,
        chat(json!({
            "messages": [{"role": "user", "content": "one two three"}],
            "stream": true,
            "stream_options": {"include_usage": false}
        })),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some(PROVIDER));
    let chunks: Vec<ChatChunk> = drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/generate_stream");
    assert_eq!(received.headers["accept"], "text/event-stream");
    assert_eq!(
        received.body,
        json!({
            "inputs": "<s>[INST] one two three [/INST]",
            "parameters": {"details": true}
        })
    );

    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    let text = text_of(&chunks);
    // The special end token is not part of the text.
    assert_eq!(text, "echo: <s>[INST] one two three [/INST]");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let usage = last.usage.as_ref().unwrap();
    // input_length: the prompt's words; generated: 6 words and `</s>`.
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (5, 7));
}

#[tokio::test]
async fn a_completion_stream_yields_text_chunks() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(2)).await;
    let tgi = tgi_at(&upstream);

    let response = call(
        &tgi,
        completion(json!({"prompt": "x y z", "stream": true, "max_tokens": 2})),
    )
    .await
    .unwrap();
    let Payload::CompletionStream(stream) = response.payload else {
        panic!("expected a completion stream");
    };
    let chunks: Vec<_> = drain(stream)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let text: String = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .map(|choice| choice.text.as_str())
        .collect();
    assert_eq!(text, "echo: x");
    let finish = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .find_map(|choice| choice.finish_reason.as_deref());
    assert_eq!(finish, Some("length"));
    assert_eq!(
        chunks
            .last()
            .unwrap()
            .usage
            .as_ref()
            .unwrap()
            .completion_tokens,
        2
    );
    assert!(chunks.iter().all(|chunk| chunk.object == "text_completion"));
}

#[tokio::test]
async fn a_stream_cut_before_its_last_token_ends_with_a_bad_gateway() {
    let upstream =
        MockUpstream::start_with(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 2 }))
            .await;
    let tgi = tgi_at(&upstream);

    let items = stream_ends_in_bad_gateway(&tgi, &["before its last token"]).await;
    assert!(items.iter().all(Result::is_ok));
}

#[tokio::test]
async fn tools_embeddings_and_several_choices_are_refused_without_a_call() {
    let upstream = MockUpstream::start().await;
    let tgi = tgi_at(&upstream);

    let error = call(
        &tgi,
        chat(json!({
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}]
        })),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert_eq!(error.param(), Some("tools"));
    assert!(error.message().contains(PROVIDER), "{}", error.message());

    let error = call(&tgi, embeddings(json!({"input": "x"})))
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        format!("endpoint type llm/v1/embeddings is not supported by provider {PROVIDER}")
    );

    let error = call(&tgi, completion(json!({"prompt": "x", "n": 2})))
        .await
        .unwrap_err();
    assert_eq!(error.param(), Some("n"));
    assert_eq!(upstream.request_count(), 0);
}

#[tokio::test]
async fn tgi_s_error_message_and_status_survive() {
    let upstream = MockUpstream::start().await;
    let tgi = tgi_at(&upstream);

    // A parameter TGI refuses, passed on as the caller sent it.
    let error = call(
        &tgi,
        completion(json!({"prompt": "x", "max_new_tokens": 0})),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::Upstream(http::StatusCode::UNPROCESSABLE_ENTITY)
    );
    assert_eq!(
        error.message(),
        "`max_new_tokens` must be strictly positive"
    );
    assert_eq!(error.code(), Some("validation"));

    let error = call(
        &tgi,
        completion(json!({"prompt": "x", "mock": {"fault": "status:429"}})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 429);
    assert_eq!(error.message(), "mock upstream fault: status 429");
    assert_eq!(error.code(), Some("overloaded"));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_bad_gateway() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::MalformedJson)).await;
    let tgi = tgi_at(&upstream);

    let error = call(&tgi, completion(json!({"prompt": "x"})))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert!(
        error.message().contains("not a TGI answer"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn from_mlflow_reads_hf_server_url() {
    let upstream = MockUpstream::start().await;
    let config = json!({"hf_server_url": upstream.url()});
    let response = mlflow_completes(PROVIDER, "llama", &config).await;
    assert_eq!(response.meta.model.as_deref(), Some("llama"));
    assert!(unknown_config_keys(PROVIDER, config.as_object().unwrap()).is_empty());

    let config =
        json!({"hf_server_url": "http://127.0.0.1:1", "api_base": upstream.url(), "hf_token": "x"});
    mlflow_completes(PROVIDER, "llama", &config).await;
    assert_eq!(upstream.request_count(), 2);
    assert_eq!(
        unknown_config_keys(PROVIDER, config.as_object().unwrap()),
        ["hf_token"]
    );
}

#[test]
fn from_mlflow_needs_the_server_url() {
    let error = mlflow_refusal(PROVIDER, &json!({}));
    assert_eq!(
        error.to_string(),
        format!("provider `{PROVIDER}`: missing `hf_server_url`")
    );
    assert_eq!(error.key(), Some("hf_server_url"));
    let error = mlflow_refusal(PROVIDER, &json!({"hf_server_url": "localhost:8080"}));
    assert_eq!(error.key(), Some("hf_server_url"));
}
