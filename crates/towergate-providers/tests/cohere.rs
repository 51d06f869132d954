//! The Cohere adapter against the mock's Cohere v2 wire, over loopback.

#![cfg(feature = "cohere")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, call, chat, chunks_of, client, completion, embeddings, eventually, from_mlflow_block,
    joined_arguments, mlflow_refusal, says, status_and_key_errors_survive,
    stream_ends_in_bad_gateway, text_of, tool_call_fragments,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use towergate_core::{Payload, Usage, embeddings::Vector};
use towergate_providers::{cohere::Cohere, unknown_config_keys};
use towergate_testkit::{Behavior, Fault, MockUpstream};

fn cohere_at(upstream: &MockUpstream) -> Cohere {
    Cohere::builder("command-r-plus")
        .api_key("co-key")
        .api_base(upstream.url())
        .build(&client())
        .unwrap()
}

fn search_tool() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "search",
            "description": "Searches the web",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}
        }
    }])
}

#[tokio::test]
async fn the_request_body_follows_the_v2_chat_format_field_by_field() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("co-key"));

    let response = call(
        &cohere_at(&upstream),
        chat(json!({
            "model": "my-endpoint",
            "messages": [
                {"role": "system", "content": "You search."},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "search_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"x\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "search_1", "content": "a picture of x"}
            ],
            "temperature": 0.4,
            "top_p": 0.8,
            "max_tokens": 100,
            "stop": "STOP",
            "seed": 5,
            "frequency_penalty": 0.1,
            "presence_penalty": 0.2,
            "user": "u",
            "logit_bias": {"1": 2},
            "tools": search_tool(),
            "tool_choice": "auto",
            "k": 3
        })),
    )
    .await
    .unwrap();
    assert_eq!(
        answer(response).choices[0]
            .message
            .text_content()
            .as_deref(),
        Some("echo: a picture of x")
    );

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/v2/chat");
    assert_eq!(received.headers["authorization"], "Bearer co-key");
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
            "frequency_penalty",
            "k",
            "max_tokens",
            "messages",
            "model",
            "p",
            "presence_penalty",
            "seed",
            "stop_sequences",
            "temperature",
            "tools"
        ]
    );
    assert_eq!(body["model"], "command-r-plus");
    assert_eq!(body["p"], 0.8);
    assert_eq!(body["stop_sequences"], json!(["STOP"]));
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["seed"], 5);
    assert_eq!(body["k"], 3);
    assert_eq!(body["tools"], search_tool());
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You search."},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}
            ]},
            {"role": "assistant", "tool_calls": [
                {"id": "search_1", "type": "function", "function": {"name": "search", "arguments": "{\"q\":\"x\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "search_1", "content": "a picture of x"}
        ])
    );
}

#[tokio::test]
async fn a_complete_answer_carries_text_finish_reason_and_billed_usage() {
    let upstream = MockUpstream::start().await;

    let response = call(
        &cohere_at(&upstream),
        chat(json!({"messages": [{"role": "user", "content": "hello cohere"}]})),
    )
    .await
    .unwrap();

    assert_eq!(response.meta.provider.as_deref(), Some("cohere"));
    assert_eq!(response.meta.model.as_deref(), Some("command-r-plus"));
    assert!(response.meta.upstream_latency.is_some());
    // Billed units (2 in, 3 out), not the tokens the model read with its preamble.
    assert_eq!(response.meta.usage, Some(Usage::new(2, 3)));
    let whole = answer(response);
    assert!(whole.id.starts_with("mock-"));
    assert_eq!(whole.model, "command-r-plus");
    assert_eq!(
        whole.choices[0].message.text_content().as_deref(),
        Some("echo: hello cohere")
    );
    assert_eq!(whole.choices[0].finish_reason.as_deref(), Some("stop"));

    let cut = call(
        &cohere_at(&upstream),
        chat(json!({"messages": [{"role": "user", "content": "a b c d"}], "max_tokens": 2})),
    )
    .await
    .unwrap();
    assert_eq!(
        answer(cut).choices[0].finish_reason.as_deref(),
        Some("length")
    );
}

#[tokio::test]
async fn a_stream_becomes_chunks_ending_with_the_finish_and_usage_chunks() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(3)).await;

    let chunks = chunks_of(
        &cohere_at(&upstream),
        chat(json!({"messages": [{"role": "user", "content": "stream it now"}], "stream": true})),
    )
    .await;

    assert_eq!(upstream.requests()[0].body["stream"], true);
    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(towergate_core::chat::Role::Assistant)
    );
    assert!(chunks[0].id.starts_with("mock-"));
    let text = text_of(&chunks);
    assert_eq!(text, "echo: stream it now");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage, Some(Usage::new(3, 4)));
    assert!(eventually(|| upstream.completed_streams() == 1).await);
}

#[tokio::test]
async fn tool_calls_come_back_complete_and_streamed() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(3)).await;
    let cohere = cohere_at(&upstream);
    let ask = |stream: bool| {
        chat(json!({
            "messages": [{"role": "user", "content": "find towergate"}],
            "tools": search_tool(),
            "tool_choice": "required",
            "stream": stream
        }))
    };

    let complete = answer(call(&cohere, ask(false)).await.unwrap());
    assert_eq!(upstream.requests()[0].body["tool_choice"], "REQUIRED");
    let choice = &complete.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(choice.message.content, None);
    let made = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(made.id, "search_mock0");
    assert_eq!(made.function.name, "search");
    let arguments: Value = serde_json::from_str(&made.function.arguments).unwrap();
    assert_eq!(arguments, json!({"echo": "find towergate"}));

    let chunks = chunks_of(&cohere, ask(true)).await;
    let fragments = tool_call_fragments(&chunks);
    assert_eq!(fragments[0].id.as_deref(), Some("search_mock0"));
    assert_eq!(
        fragments[0].function.as_ref().unwrap().name.as_deref(),
        Some("search")
    );
    assert!(fragments.iter().all(|fragment| fragment.index == 0));
    let joined = joined_arguments(&fragments);
    assert_eq!(serde_json::from_str::<Value>(&joined).unwrap(), arguments);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        finish.choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
}

#[tokio::test]
async fn embeddings_ask_for_floats_of_search_documents() {
    let upstream = MockUpstream::start().await;
    let cohere = Cohere::builder("embed-v4.0")
        .api_key("k")
        .api_base(upstream.url())
        .build(&client())
        .unwrap();

    let response = cohere
        .clone()
        .oneshot(embeddings(
            json!({"input": ["alpha beta", "gamma"], "dimensions": 6}),
        ))
        .await
        .unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/v2/embed");
    assert_eq!(
        received.body,
        json!({
            "model": "embed-v4.0",
            "texts": ["alpha beta", "gamma"],
            "input_type": "search_document",
            "embedding_types": ["float"],
            "output_dimension": 6
        })
    );
    assert_eq!(response.meta.provider.as_deref(), Some("cohere"));
    let Payload::Embeddings(answer) = response.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(answer.model, "embed-v4.0");
    assert_eq!(answer.data.len(), 2);
    let Vector::Float(vector) = &answer.data[1].embedding else {
        panic!("expected floats");
    };
    assert_eq!(vector.len(), 6);
    assert_eq!(answer.usage, Some(Usage::new(3, 0)));

    let response = cohere
        .oneshot(embeddings(
            json!({"input": "q", "encoding_format": "base64"}),
        ))
        .await
        .unwrap();
    assert!(upstream.requests()[1].body.get("encoding_format").is_none());
    let Payload::Embeddings(answer) = response.payload else {
        panic!("expected embeddings");
    };
    assert!(matches!(answer.data[0].embedding, Vector::Base64(_)));
}

#[tokio::test]
async fn coheres_error_message_survives_with_its_status() {
    let upstream = MockUpstream::start().await;
    let cohere = cohere_at(&upstream);

    let error = call(
        &cohere,
        chat(json!({"messages": [{"role": "user", "content": "x"}], "vendor_knob": true})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert_eq!(
        error.message(),
        "invalid request: unknown field: parameter vendor_knob is not a valid field"
    );

    status_and_key_errors_survive(&upstream, &cohere, 429, "invalid API key").await;
}

#[tokio::test]
async fn a_stream_cut_before_message_end_is_a_bad_gateway() {
    let upstream =
        MockUpstream::start_with(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 1 }))
            .await;
    stream_ends_in_bad_gateway(&cohere_at(&upstream), &["before message-end"]).await;
}

#[tokio::test]
async fn completions_are_served_over_chat() {
    let upstream = MockUpstream::start().await;
    let response = call(
        &cohere_at(&upstream),
        completion(json!({"prompt": "go on"})),
    )
    .await
    .unwrap();
    let Payload::Completion(text) = response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(text.choices[0].text, "echo: go on");
    assert_eq!(text.usage, Some(Usage::new(2, 3)));
}

#[tokio::test]
async fn mlflow_config_keys_build_the_adapter() {
    let upstream = MockUpstream::start().await;
    let config = json!({"cohere_api_key": "from-config", "api_base": upstream.url()});
    assert!(unknown_config_keys("cohere", config.as_object().unwrap()).is_empty());
    let provider = from_mlflow_block("cohere", "command-a", &config);
    call(&provider, says("hi")).await.unwrap();
    let received = &upstream.requests()[0];
    assert_eq!(received.headers["authorization"], "Bearer from-config");
    assert_eq!(received.body["model"], "command-a");

    let missing = mlflow_refusal("cohere", &json!({}));
    assert_eq!(
        missing.to_string(),
        "provider `cohere`: missing `cohere_api_key`"
    );
    assert_eq!(missing.key(), Some("cohere_api_key"));
    let typo = json!({"cohere_api_key": "k", "cohere_api_base": "x"});
    assert_eq!(
        unknown_config_keys("cohere", typo.as_object().unwrap()),
        ["cohere_api_base"]
    );
}
