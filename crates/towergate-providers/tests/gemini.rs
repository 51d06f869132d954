//! The Gemini adapter against the mock's Gemini wire, over loopback.

#![cfg(feature = "gemini")]
#![cfg(feature = "gemini")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    call, chat, chat_stream, client, completion, drain, embeddings, stream_ends_in_bad_gateway,
    text_of, tool_call_fragments,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use towergate_core::{
    ErrorKind, GatewayResponse, Payload,
    chat::{ChatChunk, ChatResponse},
    embeddings::Vector,
};
use towergate_providers::{from_mlflow, gemini::Gemini, unknown_config_keys};
use towergate_testkit::{Behavior, Fault, MockUpstream};

const KEY: &str = "gemini-test-key";

fn gemini_at(upstream: &MockUpstream, model: &str) -> Gemini {
    Gemini::builder(model)
        .api_base(upstream.gemini_base_url())
        .api_key(KEY)
        .build(&client())
        .unwrap()
}

fn answer(response: &GatewayResponse) -> &ChatResponse {
    match &response.payload {
        Payload::Chat(answer) => answer,
        other => panic!("expected a chat answer, got {other:?}"),
    }
}

#[tokio::test]
async fn chat_request_follows_gemini_s_format_field_by_field() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some(KEY));
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        chat(json!({
            "model": "my-endpoint",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": "Use English."},
                {"role": "user", "content": "Hello"},
                {"role": "assistant", "content": "Hi! How can I help?"},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
                ]}
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 100,
            "stop": ["\n\n", "END"],
            "n": 1,
            "seed": 42,
            "presence_penalty": 0.5,
            "frequency_penalty": 0.25,
            "top_k": 40,
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
        })),
    )
    .await
    .unwrap();

    let received = &upstream.requests()[0];
    assert_eq!(received.method, http::Method::POST);
    assert_eq!(
        received.path,
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(received.query, None);
    assert_eq!(received.headers["x-goog-api-key"], KEY);
    assert_eq!(received.headers["content-type"], "application/json");
    assert!(received.headers.get("authorization").is_none());
    assert_eq!(
        received.body,
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use English."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Hello"}]},
                {"role": "model", "parts": [{"text": "Hi! How can I help?"}]},
                {"role": "user", "parts": [
                    {"text": "What is in these?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}}
                ]}
            ],
            "generationConfig": {
                "temperature": 0.2,
                "topP": 0.9,
                "maxOutputTokens": 100,
                "stopSequences": ["\n\n", "END"],
                "candidateCount": 1,
                "seed": 42,
                "presencePenalty": 0.5,
                "frequencyPenalty": 0.25,
                "topK": 40
            },
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
        })
    );

    let answer = answer(&response);
    assert_eq!(
        answer.choices[0].message.text_content().as_deref(),
        Some("echo: What is in these?")
    );
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.object, "chat.completion");
    assert_eq!(answer.model, "gemini-2.0-flash");
}

#[tokio::test]
async fn usage_and_meta_come_from_usage_metadata() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        chat(json!({"messages": [
            {"role": "system", "content": "two words"},
            {"role": "user", "content": "one two three"}
        ]})),
    )
    .await
    .unwrap();

    let usage = answer(&response).usage.clone().unwrap();
    // The mock counts words: 2 + 3 in, "echo: one two three" out.
    assert_eq!(usage.prompt_tokens, 5);
    assert_eq!(usage.completion_tokens, 4);
    assert_eq!(usage.total_tokens, 9);
    assert_eq!(response.meta.usage, Some(usage));
    assert_eq!(response.meta.provider.as_deref(), Some("gemini"));
    assert_eq!(response.meta.model.as_deref(), Some("gemini-2.0-flash"));
    assert_eq!(response.meta.attempts, 1);
    assert!(response.meta.upstream_latency.is_some());
}

#[tokio::test]
async fn max_tokens_is_length_and_json_mode_sets_the_mime_type() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let cut = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "a b c d e f"}], "max_completion_tokens": 3})),
    )
    .await
    .unwrap();
    let cut = answer(&cut);
    assert_eq!(cut.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(
        cut.choices[0].message.text_content().as_deref(),
        Some("echo: a b")
    );

    let json_mode = call(
        &gemini,
        chat(json!({
            "messages": [{"role": "user", "content": "data please"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "e", "schema": {
                "type": "object", "additionalProperties": false,
                "properties": {"echo": {"type": "string"}}
            }}}
        })),
    )
    .await
    .unwrap();
    let sent = &upstream.requests()[1].body["generationConfig"];
    assert_eq!(
        sent,
        &json!({
            "responseMimeType": "application/json",
            "responseSchema": {"type": "object", "properties": {"echo": {"type": "string"}}}
        })
    );
    let text = answer(&json_mode).choices[0]
        .message
        .text_content()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"echo": "data please"})
    );
}

#[tokio::test]
async fn a_stream_reassembles_the_answer_and_ends_with_usage() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(3)).await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        chat(json!({
            "messages": [{"role": "user", "content": "one two three four"}],
            "stream": true
        })),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("gemini"));
    assert!(response.meta.upstream_latency.is_some());
    let chunks: Vec<ChatChunk> = drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let received = &upstream.requests()[0];
    assert_eq!(
        received.path,
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    );
    assert_eq!(received.query.as_deref(), Some("alt=sse"));
    assert_eq!(received.headers["accept"], "text/event-stream");
    assert!(received.body.get("stream").is_none(), "{}", received.body);

    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(towergate_core::chat::Role::Assistant)
    );
    assert_eq!(text_of(&chunks), "echo: one two three four");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let usage = last.usage.as_ref().unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (4, 5));
    assert!(chunks.iter().all(|chunk| chunk.id == chunks[0].id));
    assert_eq!(chunks[0].object, "chat.completion.chunk");
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c.usage.is_none()));
}

#[tokio::test]
async fn a_stream_cut_before_its_finish_ends_with_a_bad_gateway() {
    let upstream = MockUpstream::start_with(
        Behavior::new()
            .chunks(4)
            .fault(Fault::TruncatedStream { after_chunks: 2 }),
    )
    .await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let items = stream_ends_in_bad_gateway(&gemini, &["before any candidate finished"]).await;
    assert!(items.iter().all(Result::is_ok));
    assert!(!items.is_empty());
}

#[tokio::test]
async fn a_malformed_stream_event_is_a_bad_gateway_naming_the_host() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::MalformedJson)).await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "x"}], "stream": true})),
    )
    .await
    .unwrap();
    let mut items = drain(chat_stream(response)).await;
    let last = items.pop().unwrap().unwrap_err();
    assert_eq!(last.status().as_u16(), 502);
    let host = upstream.addr().to_string();
    assert!(last.message().contains(&host), "{}", last.message());
}

fn tools() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Looks a word up.",
            "parameters": {
                "type": "object",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
                "additionalProperties": false
            },
            "strict": true
        }
    }, {
        "type": "function",
        "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}
    }])
}

#[tokio::test]
async fn tools_map_to_function_declarations_and_calls_come_back_as_tool_calls() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let first = call(
        &gemini,
        chat(json!({
            "messages": [{"role": "user", "content": "define gateway"}],
            "tools": tools(),
            "tool_choice": {"type": "function", "function": {"name": "lookup"}}
        })),
    )
    .await
    .unwrap();

    let sent = &upstream.requests()[0].body;
    assert_eq!(
        sent["tools"],
        json!([{"functionDeclarations": [
            {
                "name": "lookup",
                "description": "Looks a word up.",
                "parameters": {
                    "type": "object",
                    "properties": {"word": {"type": "string"}},
                    "required": ["word"]
                }
            },
            {"name": "now"}
        ]}])
    );
    assert_eq!(
        sent["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}})
    );

    let first = answer(&first);
    let choice = &first.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    let calls = choice.message.tool_calls.clone().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].kind, "function");
    assert_eq!(calls[0].function.name, "lookup");
    assert!(!calls[0].id.is_empty());
    let arguments: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(arguments, json!({"echo": "define gateway"}));

    // The call and its answer go back as functionCall and functionResponse.
    let assistant = serde_json::to_value(&choice.message).unwrap();
    let second = call(
        &gemini,
        chat(json!({
            "messages": [
                {"role": "user", "content": "define gateway"},
                assistant,
                {"role": "tool", "tool_call_id": calls[0].id, "content": "{\"meaning\":\"a way in\"}"}
            ],
            "tools": tools(),
            "tool_choice": "auto"
        })),
    )
    .await
    .unwrap();
    let sent = &upstream.requests()[1].body;
    assert_eq!(
        sent["contents"],
        json!([
            {"role": "user", "parts": [{"text": "define gateway"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "lookup", "args": {"echo": "define gateway"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "lookup", "response": {"meaning": "a way in"}}}
            ]}
        ])
    );
    assert_eq!(
        sent["toolConfig"],
        json!({"functionCallingConfig": {"mode": "AUTO"}})
    );
    let second = answer(&second);
    assert_eq!(second.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        second.choices[0].message.text_content().as_deref(),
        Some(r#"echo: {"meaning":"a way in"}"#)
    );
}

#[tokio::test]
async fn tool_choice_none_and_required_map_to_gemini_modes() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let none = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools(), "tool_choice": "none"})),
    )
    .await
    .unwrap();
    assert_eq!(
        answer(&none).choices[0].finish_reason.as_deref(),
        Some("stop")
    );
    call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools(), "tool_choice": "required"})),
    )
    .await
    .unwrap();
    let requests = upstream.requests();
    assert_eq!(
        requests[0].body["toolConfig"]["functionCallingConfig"]["mode"],
        "NONE"
    );
    assert_eq!(
        requests[1].body["toolConfig"]["functionCallingConfig"]["mode"],
        "ANY"
    );
}

#[tokio::test]
async fn a_streamed_tool_call_arrives_as_one_delta() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        chat(json!({
            "messages": [{"role": "user", "content": "find it"}],
            "tools": tools(),
            "stream": true
        })),
    )
    .await
    .unwrap();
    let chunks: Vec<ChatChunk> = drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let deltas = tool_call_fragments(&chunks);
    assert_eq!(deltas.len(), 1);
    assert_eq!(deltas[0].index, 0);
    assert!(deltas[0].id.is_some());
    let function = deltas[0].function.as_ref().unwrap();
    assert_eq!(function.name.as_deref(), Some("lookup"));
    let arguments: Value = serde_json::from_str(function.arguments.as_deref().unwrap()).unwrap();
    assert_eq!(arguments, json!({"echo": "find it"}));
    let finish = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .find_map(|choice| choice.finish_reason.as_deref());
    assert_eq!(finish, Some("tool_calls"));
    assert!(chunks.last().unwrap().usage.is_some());
}

#[tokio::test]
async fn one_input_uses_embed_content_and_several_batch_embed_contents() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "text-embedding-004");

    let one = call(
        &gemini,
        embeddings(json!({"model": "embed", "input": "hello world", "dimensions": 4})),
    )
    .await
    .unwrap();
    let Payload::Embeddings(one) = &one.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(one.data.len(), 1);
    assert!(matches!(&one.data[0].embedding, Vector::Float(v) if v.len() == 4));
    assert_eq!(one.model, "text-embedding-004");
    let received = &upstream.requests()[0];
    assert_eq!(
        received.path,
        "/v1beta/models/text-embedding-004:embedContent"
    );
    assert_eq!(
        received.body,
        json!({"content": {"parts": [{"text": "hello world"}]}, "outputDimensionality": 4})
    );

    let several = call(
        &gemini,
        embeddings(json!({"input": ["one", "two"], "encoding_format": "base64"})),
    )
    .await
    .unwrap();
    assert_eq!(several.meta.provider.as_deref(), Some("gemini"));
    let Payload::Embeddings(several) = &several.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(several.data.len(), 2);
    assert_eq!(several.data[1].index, 1);
    assert!(matches!(&several.data[0].embedding, Vector::Base64(text) if !text.is_empty()));
    let received = &upstream.requests()[1];
    assert_eq!(
        received.path,
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(
        received.body,
        json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "one"}]}},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "two"}]}}
        ]})
    );
}

#[tokio::test]
async fn completions_are_served_over_generate_content() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        completion(json!({"prompt": "Say this", "max_tokens": 7})),
    )
    .await
    .unwrap();
    let Payload::Completion(answer) = &response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(answer.object, "text_completion");
    assert_eq!(answer.choices[0].text, "echo: Say this");
    assert!(answer.usage.is_some());
    assert_eq!(
        upstream.requests()[0].body,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Say this"}]}],
            "generationConfig": {"maxOutputTokens": 7}
        })
    );
}

#[tokio::test]
async fn a_streamed_completion_is_served_over_the_chat_stream() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let response = call(
        &gemini,
        completion(json!({"prompt": "x y", "stream": true})),
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
    assert_eq!(text, "echo: x y");
    assert!(chunks.iter().all(|chunk| chunk.object == "text_completion"));
    assert!(chunks.last().unwrap().usage.is_some());
    assert_eq!(upstream.requests()[0].query.as_deref(), Some("alt=sse"));
}

#[tokio::test]
async fn gemini_s_error_message_and_status_survive() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    // Gemini refuses fields it does not know, in its own words.
    let error = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "x"}], "vendor_knob": 1})),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::Upstream(http::StatusCode::BAD_REQUEST)
    );
    assert_eq!(
        error.message(),
        "Invalid JSON payload received. Unknown name \"vendor_knob\": Cannot find field."
    );
    assert_eq!(error.code(), Some("INVALID_ARGUMENT"));

    let error = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "x"}], "mock": {"fault": "status:429"}})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 429);
    assert_eq!(error.message(), "mock upstream fault: status 429");
    assert_eq!(error.code(), Some("RESOURCE_EXHAUSTED"));
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_never_echoed() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("the-right-key"));
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");

    let error = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 401);
    assert!(!error.message().contains(KEY), "{}", error.message());
    assert!(!format!("{gemini:?}").contains(KEY));
    assert!(!format!("{:?}", Gemini::builder("m").api_key(KEY)).contains(KEY));
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_bad_gateway() {
    let upstream = MockUpstream::start().await;
    let gemini = gemini_at(&upstream, "gemini-2.0-flash");
    upstream.shutdown().await;

    let error = call(
        &gemini,
        chat(json!({"messages": [{"role": "user", "content": "x"}]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
}

#[tokio::test]
async fn from_mlflow_reads_gemini_s_keys() {
    let upstream = MockUpstream::start().await;
    let config = json!({"gemini_api_key": KEY, "gemini_api_base": upstream.gemini_base_url()});
    let config = config.as_object().unwrap();
    let provider = from_mlflow("gemini", "gemini-2.0-flash", config, &client()).unwrap();
    let response = provider
        .oneshot(chat(
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        ))
        .await
        .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("gemini"));
    assert_eq!(upstream.requests()[0].headers["x-goog-api-key"], KEY);
    assert!(unknown_config_keys("gemini", config).is_empty());

    // `api_base` wins over `gemini_api_base`.
    let config = json!({
        "gemini_api_key": KEY,
        "gemini_api_base": "http://127.0.0.1:1/nowhere",
        "api_base": upstream.gemini_base_url(),
        "gemini_api_bsae": "typo"
    });
    let config = config.as_object().unwrap();
    let provider = from_mlflow("gemini", "gemini-2.0-flash", config, &client()).unwrap();
    provider
        .oneshot(chat(
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        ))
        .await
        .unwrap();
    assert_eq!(unknown_config_keys("gemini", config), ["gemini_api_bsae"]);
}

#[test]
fn from_mlflow_names_the_key_at_fault() {
    let build = |value: Value| {
        from_mlflow(
            "gemini",
            "gemini-2.0-flash",
            value.as_object().unwrap(),
            &client(),
        )
        .map(drop)
        .unwrap_err()
    };
    let error = build(json!({}));
    assert_eq!(
        error.to_string(),
        "provider `gemini`: missing `gemini_api_key`"
    );
    assert_eq!(error.key(), Some("gemini_api_key"));
    let error = build(json!({"gemini_api_key": "k", "gemini_api_base": "ftp://x"}));
    assert_eq!(error.key(), Some("gemini_api_base"));
    let error = from_mlflow(
        "gemini",
        "bad model",
        json!({"gemini_api_key": "k"}).as_object().unwrap(),
        &client(),
    )
    .map(drop)
    .unwrap_err();
    assert_eq!(error.key(), Some("name"));
}
