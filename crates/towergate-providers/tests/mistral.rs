//! The Mistral adapter against the mock's Mistral wire, over loopback.

#![cfg(feature = "mistral")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, call, chat, chunks_of, client, completion, embeddings, eventually, failure,
    from_mlflow_block, mlflow_refusal, says, status_and_key_errors_survive,
    stream_ends_in_bad_gateway, text_of, tool_call_fragments,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use towergate_core::{Payload, embeddings::Vector};
use towergate_providers::{mistral::Mistral, unknown_config_keys};
use towergate_testkit::{Behavior, Fault, MockUpstream};

fn mistral_at(upstream: &MockUpstream) -> Mistral {
    Mistral::builder("mistral-small-latest")
        .api_key("mistral-key")
        .api_base(upstream.mistral_base_url())
        .build(&client())
        .unwrap()
}

fn lookup_tool() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Looks a word up",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}}
        }
    }])
}

#[tokio::test]
async fn the_request_body_has_only_fields_mistral_accepts() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("mistral-key"));

    let response = call(
        &mistral_at(&upstream),
        chat(json!({
            "model": "my-endpoint",
            "messages": [
                {"role": "developer", "content": "Be brief.", "name": "ops"},
                {"role": "user", "content": "define gateway", "name": "ann"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "abcDEF123", "type": "function", "function": {"name": "lookup", "arguments": "{\"word\":\"gateway\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "abcDEF123", "name": "lookup", "content": "a way in"},
                {"role": "user", "content": "thanks, summarise"}
            ],
            "seed": 11,
            "max_completion_tokens": 50,
            "user": "u-1",
            "logprobs": false,
            "temperature": 0.3,
            "response_format": {"type": "json_object"},
            "tools": lookup_tool(),
            "tool_choice": "none",
            "parallel_tool_calls": false,
            "safe_prompt": true
        })),
    )
    .await
    .unwrap();
    assert_eq!(
        answer(response).choices[0].finish_reason.as_deref(),
        Some("stop")
    );

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/mistral/v1/chat/completions");
    assert_eq!(received.headers["authorization"], "Bearer mistral-key");
    let body = &received.body;
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "max_tokens",
            "messages",
            "model",
            "parallel_tool_calls",
            "random_seed",
            "response_format",
            "safe_prompt",
            "temperature",
            "tool_choice",
            "tools"
        ]
    );
    assert_eq!(body["model"], "mistral-small-latest");
    assert_eq!(body["random_seed"], 11);
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["tool_choice"], "none");
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["tools"], lookup_tool());
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "define gateway"},
            {"role": "assistant", "tool_calls": [
                {"id": "abcDEF123", "type": "function", "function": {"name": "lookup", "arguments": "{\"word\":\"gateway\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "abcDEF123", "name": "lookup", "content": "a way in"},
            {"role": "user", "content": "thanks, summarise"}
        ])
    );
}

#[tokio::test]
async fn a_complete_answer_carries_text_finish_reason_and_usage() {
    let upstream = MockUpstream::start().await;

    let response = call(
        &mistral_at(&upstream),
        chat(json!({"messages": [{"role": "user", "content": "bonjour tout le monde"}]})),
    )
    .await
    .unwrap();

    assert_eq!(response.meta.provider.as_deref(), Some("mistral"));
    assert_eq!(response.meta.model.as_deref(), Some("mistral-small-latest"));
    assert!(response.meta.upstream_latency.is_some());
    let usage = response.meta.usage.clone().unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (4, 5, 9)
    );
    let chat = answer(response);
    assert_eq!(
        chat.choices[0].message.text_content().as_deref(),
        Some("echo: bonjour tout le monde")
    );
    assert_eq!(chat.choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(chat.choices[0].message.extra.get("prefix").is_none());
}

#[tokio::test]
async fn a_stream_ends_with_the_finish_chunk_then_a_usage_chunk() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(2)).await;

    let chunks = chunks_of(
        &mistral_at(&upstream),
        chat(json!({
            "messages": [{"role": "user", "content": "stream this"}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })),
    )
    .await;

    let received = &upstream.requests()[0].body;
    assert_eq!(received["stream"], true);
    assert!(received.get("stream_options").is_none());

    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(towergate_core::chat::Role::Assistant)
    );
    assert_eq!(text_of(&chunks), "echo: stream this");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(finish.usage.is_none());
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let usage = last.usage.as_ref().unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (2, 3));
    assert!(eventually(|| upstream.completed_streams() == 1).await);
}

#[tokio::test]
async fn tool_calls_come_back_complete_and_streamed() {
    let upstream = MockUpstream::start().await;
    let mistral = mistral_at(&upstream);
    let ask = |stream: bool| {
        chat(json!({
            "messages": [{"role": "user", "content": "define mock"}],
            "tools": lookup_tool(),
            "tool_choice": "required",
            "stream": stream
        }))
    };

    let complete = answer(call(&mistral, ask(false)).await.unwrap());
    assert_eq!(upstream.requests()[0].body["tool_choice"], "any");
    let choice = &complete.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    let made = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(made.id, "mockcall0");
    assert_eq!(made.kind, "function");
    assert_eq!(made.function.name, "lookup");
    assert_eq!(
        serde_json::from_str::<Value>(&made.function.arguments).unwrap(),
        json!({"echo": "define mock"})
    );

    let chunks = chunks_of(&mistral, ask(true)).await;
    let fragments = tool_call_fragments(&chunks);
    assert_eq!(fragments.len(), 1);
    assert_eq!(fragments[0].index, 0);
    assert_eq!(fragments[0].id.as_deref(), Some("mockcall0"));
    assert_eq!(fragments[0].kind.as_deref(), Some("function"));
    let function = fragments[0].function.as_ref().unwrap();
    assert_eq!(function.name.as_deref(), Some("lookup"));
    assert_eq!(
        function.arguments.as_deref(),
        Some(made.function.arguments.as_str())
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        finish.choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
    assert!(chunks.last().unwrap().usage.is_some());
}

#[tokio::test]
async fn embeddings_use_mistrals_fields_and_come_back_in_openais_shape() {
    let upstream = MockUpstream::start().await;
    let mistral = Mistral::builder("mistral-embed")
        .api_key("k")
        .api_base(upstream.mistral_base_url())
        .build(&client())
        .unwrap();

    let response = mistral
        .oneshot(embeddings(
            json!({"input": ["one two", "three"], "dimensions": 4, "user": "u"}),
        ))
        .await
        .unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/mistral/v1/embeddings");
    assert_eq!(
        received.body,
        json!({"model": "mistral-embed", "input": ["one two", "three"], "output_dimension": 4})
    );
    assert_eq!(response.meta.provider.as_deref(), Some("mistral"));
    let Payload::Embeddings(answer) = response.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(answer.object, "list");
    assert_eq!(answer.model, "mistral-embed");
    assert_eq!(answer.data.len(), 2);
    assert_eq!(answer.data[1].index, 1);
    let Vector::Float(vector) = &answer.data[0].embedding else {
        panic!("expected floats");
    };
    assert_eq!(vector.len(), 4);
    assert_eq!(answer.usage.map(|u| u.prompt_tokens), Some(3));
}

#[tokio::test]
async fn mistrals_error_message_survives_with_its_status() {
    let upstream = MockUpstream::start().await;
    let mistral = mistral_at(&upstream);

    // An unknown field: Mistral's 422 validation report.
    let error = failure(
        &mistral,
        chat(json!({"messages": [{"role": "user", "content": "x"}], "vendor_knob": 1})),
    )
    .await;
    assert_eq!(error.status().as_u16(), 422);
    assert_eq!(
        error.message(),
        "body.vendor_knob: Extra inputs are not permitted"
    );

    status_and_key_errors_survive(&upstream, &mistral, 503, "Unauthorized").await;
}

#[tokio::test]
async fn a_stream_cut_before_done_is_a_bad_gateway() {
    let upstream =
        MockUpstream::start_with(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 1 }))
            .await;
    stream_ends_in_bad_gateway(&mistral_at(&upstream), &["before [DONE]"]).await;
}

#[tokio::test]
async fn completions_are_served_over_chat() {
    let upstream = MockUpstream::start().await;
    let response = call(
        &mistral_at(&upstream),
        completion(json!({"prompt": "finish me", "seed": 3})),
    )
    .await
    .unwrap();
    let Payload::Completion(text) = response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(text.choices[0].text, "echo: finish me");
    let body = &upstream.requests()[0].body;
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "finish me"}])
    );
    assert_eq!(body["random_seed"], 3);
}

#[tokio::test]
async fn mlflow_config_keys_build_the_adapter() {
    let upstream = MockUpstream::start().await;
    let config =
        json!({"mistral_api_key": "from-config", "mistral_api_base": upstream.mistral_base_url()});
    assert!(unknown_config_keys("mistral", config.as_object().unwrap()).is_empty());
    let provider = from_mlflow_block("mistral", "open-mistral-nemo", &config);
    let response = call(&provider, says("hi")).await.unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("mistral"));
    let received = &upstream.requests()[0];
    assert_eq!(received.headers["authorization"], "Bearer from-config");
    assert_eq!(received.body["model"], "open-mistral-nemo");

    let missing = mlflow_refusal("mistral", &json!({}));
    assert_eq!(
        missing.to_string(),
        "provider `mistral`: missing `mistral_api_key`"
    );
    let bad_base =
        json!({"mistral_api_key": "k", "api_base": "nope", "mistral_api_base": "https://x"});
    let error = mlflow_refusal("mistral", &bad_base);
    assert_eq!(error.key(), Some("api_base"));
    let typo = json!({"mistral_api_key": "k", "mistral_base": "x"});
    assert_eq!(
        unknown_config_keys("mistral", typo.as_object().unwrap()),
        ["mistral_base"]
    );
}
