//! The Anthropic adapter against the mock's Anthropic wire, over loopback.

#![cfg(feature = "anthropic")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, call, chat, chat_stream, client, completion, drain, embeddings, eventually,
    joined_arguments, status_and_key_errors_survive, stream_ends_in_bad_gateway, text_of,
    tool_call_fragments,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use towergate_core::{Payload, chat::ChatChunk};
use towergate_providers::{anthropic::Anthropic, from_mlflow, unknown_config_keys};
use towergate_testkit::{Behavior, Fault, MockUpstream};

fn claude_at(upstream: &MockUpstream) -> Anthropic {
    Anthropic::builder("claude-test")
        .api_key("sk-ant-test")
        .api_base(upstream.base_url())
        .build(&client())
        .unwrap()
}

fn weather_tool() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }
    }])
}

#[tokio::test]
async fn the_request_body_follows_the_messages_format_field_by_field() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("sk-ant-test"));

    let response = call(
        &claude_at(&upstream),
        chat(json!({
            "model": "my-endpoint",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Look at"},
                {"role": "user", "content": [
                    {"type": "text", "text": "these"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
                ]},
                {"role": "developer", "content": "Answer in English."},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "toolu_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
                {"role": "user", "content": "and now?"}
            ],
            "temperature": 1.0,
            "top_p": 0.9,
            "stop": ["END"],
            "user": "user-42",
            "seed": 1,
            "tools": weather_tool(),
            "tool_choice": "none",
            "top_k": 20
        })),
    )
    .await
    .unwrap();
    assert_eq!(
        answer(response).choices[0].finish_reason.as_deref(),
        Some("stop")
    );

    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/v1/messages");
    assert_eq!(received.headers["x-api-key"], "sk-ant-test");
    assert_eq!(received.headers["anthropic-version"], "2023-06-01");
    assert_eq!(received.headers["content-type"], "application/json");
    assert!(received.headers.get("authorization").is_none());
    let body = &received.body;
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["system"], "You are terse.\nAnswer in English.");
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["metadata"], json!({"user_id": "user-42"}));
    assert_eq!(body["top_k"], 20);
    assert_eq!(body["tool_choice"], json!({"type": "none"}));
    assert_eq!(
        body["tools"],
        json!([{
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        }])
    );
    for absent in ["seed", "user", "stop", "stream", "n", "stream_options"] {
        assert!(body.get(absent).is_none(), "{absent} was sent");
    }
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "Look at"},
                {"type": "text", "text": "these"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "text", "text": "and now?"}
            ]}
        ])
    );
}

#[tokio::test]
async fn a_complete_answer_carries_text_finish_reason_usage_and_meta() {
    let upstream = MockUpstream::start().await;

    let response = call(
        &claude_at(&upstream),
        chat(json!({"messages": [
            {"role": "system", "content": "Be kind"},
            {"role": "user", "content": "hello there"}
        ]})),
    )
    .await
    .unwrap();

    assert_eq!(response.meta.provider.as_deref(), Some("anthropic"));
    assert_eq!(response.meta.model.as_deref(), Some("claude-test"));
    assert_eq!(response.meta.attempts, 1);
    assert!(response.meta.upstream_latency.is_some());
    let usage = response.meta.usage.clone().unwrap();
    // The mock counts words: "Be kind" + "hello there" in, "echo: hello there" out.
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (4, 3, 7)
    );
    let chat = answer(response);
    assert_eq!(chat.object, "chat.completion");
    assert!(chat.id.starts_with("msg_mock_"));
    assert_eq!(chat.model, "claude-test");
    assert_eq!(
        chat.choices[0].message.text_content().as_deref(),
        Some("echo: hello there")
    );
    assert_eq!(chat.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(chat.usage, Some(usage));
}

#[tokio::test]
async fn the_callers_max_tokens_is_sent_and_a_cut_answer_is_length() {
    let upstream = MockUpstream::start().await;

    let response = call(
        &claude_at(&upstream),
        chat(json!({"messages": [{"role": "user", "content": "one two three four"}], "max_tokens": 2})),
    )
    .await
    .unwrap();

    assert_eq!(upstream.requests()[0].body["max_tokens"], 2);
    let chat = answer(response);
    assert_eq!(
        chat.choices[0].message.text_content().as_deref(),
        Some("echo: one")
    );
    assert_eq!(chat.choices[0].finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn a_stream_becomes_chunks_that_reassemble_the_answer_and_end_with_usage() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(3)).await;

    let response = call(
        &claude_at(&upstream),
        chat(json!({
            "messages": [{"role": "user", "content": "stream me please"}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("anthropic"));
    let chunks: Vec<ChatChunk> = drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let received = &upstream.requests()[0];
    assert_eq!(received.body["stream"], true);
    assert!(received.body.get("stream_options").is_none());
    assert_eq!(received.headers["accept"], "text/event-stream");

    let first = &chunks[0].choices[0].delta;
    assert_eq!(first.role, Some(towergate_core::chat::Role::Assistant));
    assert_eq!(text_of(&chunks), "echo: stream me please");
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk.object == "chat.completion.chunk")
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let usage = last.usage.as_ref().unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 4));
    assert!(eventually(|| upstream.completed_streams() == 1).await);
}

#[tokio::test]
async fn a_tool_use_comes_back_as_a_tool_call_complete_and_streamed() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(4)).await;
    let claude = claude_at(&upstream);
    let ask = |stream: bool| {
        chat(json!({
            "messages": [{"role": "user", "content": "weather in Oslo"}],
            "tools": weather_tool(),
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "stream": stream
        }))
    };

    let complete = answer(call(&claude, ask(false)).await.unwrap());
    assert_eq!(
        upstream.requests()[0].body["tool_choice"],
        json!({"type": "tool", "name": "get_weather"})
    );
    let choice = &complete.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(choice.message.content, None);
    let call_made = &choice.message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call_made.id, "toolu_mock_0");
    assert_eq!(call_made.kind, "function");
    assert_eq!(call_made.function.name, "get_weather");
    let arguments: Value = serde_json::from_str(&call_made.function.arguments).unwrap();
    assert_eq!(arguments, json!({"echo": "weather in Oslo"}));

    let streamed = call(&claude, ask(true)).await.unwrap();
    let chunks: Vec<ChatChunk> = drain(chat_stream(streamed))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let fragments = tool_call_fragments(&chunks);
    assert_eq!(fragments[0].index, 0);
    assert_eq!(fragments[0].id.as_deref(), Some("toolu_mock_0"));
    let function = fragments[0].function.as_ref().unwrap();
    assert_eq!(function.name.as_deref(), Some("get_weather"));
    let joined = joined_arguments(&fragments);
    assert_eq!(serde_json::from_str::<Value>(&joined).unwrap(), arguments);
    assert!(
        fragments[1..]
            .iter()
            .all(|f| f.id.is_none() && f.index == 0)
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(
        finish.choices[0].finish_reason.as_deref(),
        Some("tool_calls")
    );
}

#[tokio::test]
async fn a_tool_result_goes_back_as_a_tool_result_block() {
    let upstream = MockUpstream::start().await;

    let response = call(
        &claude_at(&upstream),
        chat(json!({
            "messages": [
                {"role": "user", "content": "weather in Oslo"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "toolu_9", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_9", "content": "12 degrees"}
            ],
            "tools": weather_tool()
        })),
    )
    .await
    .unwrap();

    let body = &upstream.requests()[0].body;
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_9", "content": "12 degrees"}
        ]})
    );
    let chat = answer(response);
    assert_eq!(
        chat.choices[0].message.text_content().as_deref(),
        Some("echo: 12 degrees")
    );
}

#[tokio::test]
async fn anthropics_error_message_survives_with_its_status() {
    let upstream = MockUpstream::start().await;
    let claude = claude_at(&upstream);

    // A tool result that answers no tool use: Anthropic's own 400.
    let error = call(
        &claude,
        chat(json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "ok"},
            {"role": "tool", "tool_call_id": "toolu_missing", "content": "x"}
        ]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert!(
        error
            .message()
            .contains("unexpected `tool_use_id` found in `tool_result` blocks: toolu_missing"),
        "{}",
        error.message()
    );

    let error = status_and_key_errors_survive(&upstream, &claude, 529, "invalid API key").await;
    assert!(!error.message().contains("sk-ant-test"));
}

#[tokio::test]
async fn broken_streams_and_garbage_are_bad_gateways_naming_the_host() {
    let upstream = MockUpstream::start().await;
    let claude = claude_at(&upstream);

    upstream.set_behavior(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 1 }));
    stream_ends_in_bad_gateway(&claude, &["before message_stop"]).await;

    upstream.set_behavior(Behavior::new().fault(Fault::MalformedJson));
    stream_ends_in_bad_gateway(&claude, &[&upstream.addr().to_string()]).await;

    let error = call(
        &claude,
        chat(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 502);
    assert!(
        error.message().contains("not an Anthropic message"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn completions_are_served_over_messages_and_embeddings_are_refused() {
    let upstream = MockUpstream::start().await;
    let claude = claude_at(&upstream);

    let response = call(
        &claude,
        completion(json!({"prompt": "say this", "max_tokens": 10})),
    )
    .await
    .unwrap();
    let Payload::Completion(text) = response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(text.object, "text_completion");
    assert_eq!(text.choices[0].text, "echo: say this");
    assert_eq!(
        upstream.requests()[0].body["messages"],
        json!([{"role": "user", "content": "say this"}])
    );

    let error = call(&claude, embeddings(json!({"input": "x"})))
        .await
        .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert_eq!(
        error.message(),
        "endpoint type llm/v1/embeddings is not supported by provider anthropic"
    );
    assert_eq!(upstream.request_count(), 1);
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_bad_gateway() {
    let upstream = MockUpstream::start().await;
    let claude = claude_at(&upstream);
    upstream.shutdown().await;
    let error = call(
        &claude,
        chat(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 502);
}

#[tokio::test]
async fn an_upstream_that_does_not_answer_in_time_is_a_timeout() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Stall)).await;
    let claude = Anthropic::builder("claude-test")
        .api_key("k")
        .api_base(upstream.base_url())
        .request_timeout(std::time::Duration::from_millis(200))
        .build(&client())
        .unwrap();
    let error = call(
        &claude,
        chat(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 504);
    assert!(
        error.message().contains(&upstream.addr().to_string()),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn mlflow_config_keys_build_the_adapter() {
    let upstream = MockUpstream::start().await;
    let config = json!({
        "anthropic_api_key": "sk-ant-from-config",
        "anthropic_version": "2024-01-01",
        "anthropic_api_base": "http://127.0.0.1:1/v1",
        "api_base": upstream.base_url()
    });
    let config = config.as_object().unwrap();
    assert!(unknown_config_keys("anthropic", config).is_empty());
    let provider = from_mlflow("anthropic", "claude-config", config, &client()).unwrap();

    let response = provider
        .oneshot(chat(
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        ))
        .await
        .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("anthropic"));
    let received = &upstream.requests()[0];
    assert_eq!(received.headers["x-api-key"], "sk-ant-from-config");
    assert_eq!(received.headers["anthropic-version"], "2024-01-01");
    assert_eq!(received.body["model"], "claude-config");

    let missing = from_mlflow("anthropic", "c", &Default::default(), &client()).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "provider `anthropic`: missing `anthropic_api_key`"
    );
    assert_eq!(missing.key(), Some("anthropic_api_key"));
    let bad_base = json!({"anthropic_api_key": "k", "anthropic_api_base": "ftp://x"});
    let error =
        from_mlflow("anthropic", "c", bad_base.as_object().unwrap(), &client()).unwrap_err();
    assert_eq!(error.key(), Some("anthropic_api_base"));
    let bad_key = json!({"anthropic_api_key": "sk-ant-a\nb"});
    let error = from_mlflow("anthropic", "c", bad_key.as_object().unwrap(), &client()).unwrap_err();
    assert_eq!(error.key(), Some("anthropic_api_key"));
    assert!(!error.to_string().contains("sk-ant-a"), "{error}");
    let typo = json!({"anthropic_api_key": "k", "anthropic_verison": "x"});
    assert_eq!(
        unknown_config_keys("anthropic", typo.as_object().unwrap()),
        ["anthropic_verison"]
    );
}
