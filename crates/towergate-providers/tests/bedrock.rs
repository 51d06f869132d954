//! The Bedrock adapter against the mock's Bedrock wire, over loopback: the
//! mock checks every request's SigV4 signature with the test credentials.

#![cfg(feature = "bedrock")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, call, chat, chat_stream, chunks_of, client, completion, drain, embeddings,
    joined_arguments, stream_ends_in_bad_gateway, text_of, tool_call_fragments,
};
use serde_json::{Map, Value, json};
use tower::ServiceExt;
use towergate_core::{GatewayRequest, Payload, chat::ChatChunk, embeddings::Vector};
use towergate_providers::{bedrock::Bedrock, from_mlflow, unknown_config_keys};
use towergate_testkit::{
    BEDROCK_ACCESS_KEY_ID, BEDROCK_SECRET_ACCESS_KEY, BEDROCK_SESSION_TOKEN, Behavior, Fault,
    MockUpstream,
};

const CLAUDE: &str = "anthropic.claude-3-haiku-20240307-v1:0";

fn bedrock_at(upstream: &MockUpstream, model: &str) -> Bedrock {
    Bedrock::builder(model)
        .region("us-west-2")
        .credentials(BEDROCK_ACCESS_KEY_ID, BEDROCK_SECRET_ACCESS_KEY)
        .api_base(upstream.url())
        .build(&client())
        .unwrap()
}

fn weather_tool() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
        }
    }])
}

fn hi() -> GatewayRequest {
    chat(json!({"messages": [{"role": "user", "content": "hi there"}]}))
}

#[tokio::test]
async fn the_request_body_follows_the_converse_format_field_by_field() {
    let upstream = MockUpstream::start().await;
    let response = call(
        &bedrock_at(&upstream, CLAUDE),
        chat(json!({
            "model": "my-endpoint",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Look at"},
                {"role": "user", "content": [
                    {"type": "text", "text": "this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                ]},
                {"role": "developer", "content": "Answer in English."},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "tooluse_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "tooluse_1", "content": "sunny"}
            ],
            "max_tokens": 300,
            "temperature": 0.7,
            "top_p": 0.9,
            "stop": ["END"],
            "tools": weather_tool(),
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "top_k": 20
        })),
    )
    .await
    .unwrap();
    let chat = answer(response);
    assert_eq!(
        chat.choices[0].message.text_content().as_deref(),
        Some("echo: sunny")
    );

    let received = &upstream.requests()[0];
    assert_eq!(
        received.path,
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
    assert_eq!(received.headers["content-type"], "application/json");
    let authorization = received.headers["authorization"].to_str().unwrap();
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={BEDROCK_ACCESS_KEY_ID}/"
        )),
        "{authorization}"
    );
    assert!(authorization.contains("/us-west-2/bedrock/aws4_request, SignedHeaders="));
    assert!(authorization.contains("x-amz-date"), "{authorization}");
    assert!(authorization.contains(", Signature="));
    assert_eq!(received.headers["x-amz-date"].len(), 16);
    assert!(received.headers.get("x-amz-security-token").is_none());

    let body = &received.body;
    assert_eq!(
        body,
        &json!({
            "system": [{"text": "You are terse."}, {"text": "Answer in English."}],
            "messages": [
                {"role": "user", "content": [
                    {"text": "Look at"},
                    {"text": "this"},
                    {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
                ]},
                {"role": "assistant", "content": [
                    {"text": "Checking."},
                    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Oslo"}}}
                ]},
                {"role": "user", "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "sunny"}]}}
                ]}
            ],
            "inferenceConfig": {"maxTokens": 300, "temperature": 0.7, "topP": 0.9, "stopSequences": ["END"]},
            "toolConfig": {
                "tools": [{"toolSpec": {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}
                }}],
                "toolChoice": {"tool": {"name": "get_weather"}}
            },
            "additionalModelRequestFields": {"top_k": 20}
        })
    );
}

#[tokio::test]
async fn a_complete_answer_carries_text_finish_reason_usage_and_meta() {
    let upstream = MockUpstream::start().await;
    let response = call(&bedrock_at(&upstream, CLAUDE), hi()).await.unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("bedrock"));
    assert_eq!(response.meta.model.as_deref(), Some(CLAUDE));
    assert!(response.meta.upstream_latency.is_some());
    let usage = response.meta.usage.clone().unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (2, 3, 5)
    );
    let complete = answer(response);
    assert_eq!(complete.object, "chat.completion");
    assert_eq!(complete.model, CLAUDE);
    assert_eq!(
        complete.choices[0].message.text_content().as_deref(),
        Some("echo: hi there")
    );
    assert_eq!(complete.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(complete.usage.unwrap().total_tokens, 5);

    let cut = call(
        &bedrock_at(&upstream, CLAUDE),
        chat(json!({"messages": [{"role": "user", "content": "a b c d"}], "max_tokens": 2})),
    )
    .await
    .unwrap();
    let cut = answer(cut);
    assert_eq!(cut.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(
        upstream.requests()[1].body["inferenceConfig"],
        json!({"maxTokens": 2})
    );
}

#[tokio::test]
async fn a_session_token_is_sent_and_signed() {
    let upstream = MockUpstream::start().await;
    let bedrock = Bedrock::builder(CLAUDE)
        .region("eu-central-1")
        .credentials(BEDROCK_ACCESS_KEY_ID, BEDROCK_SECRET_ACCESS_KEY)
        .session_token(BEDROCK_SESSION_TOKEN)
        .api_base(upstream.url())
        .build(&client())
        .unwrap();
    call(&bedrock, hi()).await.unwrap();
    let received = &upstream.requests()[0];
    assert_eq!(
        received.headers["x-amz-security-token"],
        BEDROCK_SESSION_TOKEN
    );
    let authorization = received.headers["authorization"].to_str().unwrap();
    assert!(
        authorization.contains("x-amz-security-token"),
        "{authorization}"
    );
    assert!(authorization.contains("/eu-central-1/bedrock/aws4_request"));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_signature_check() {
    let upstream = MockUpstream::start().await;
    let bedrock = Bedrock::builder(CLAUDE)
        .region("us-east-1")
        .credentials(BEDROCK_ACCESS_KEY_ID, "not-the-secret")
        .api_base(upstream.url())
        .build(&client())
        .unwrap();
    let error = call(&bedrock, hi()).await.unwrap_err();
    assert_eq!(error.status().as_u16(), 403);
    assert!(
        error
            .message()
            .starts_with("The request signature we calculated does not match"),
        "{}",
        error.message()
    );
    assert!(!error.message().contains("not-the-secret"));
}

#[tokio::test]
async fn a_stream_becomes_chunks_that_reassemble_the_answer_and_end_with_usage() {
    let upstream = MockUpstream::start().await;
    let response = call(
        &bedrock_at(&upstream, CLAUDE),
        chat(json!({"messages": [{"role": "user", "content": "one two three"}], "stream": true})),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("bedrock"));
    let chunks: Vec<ChatChunk> = drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let received = &upstream.requests()[0];
    assert!(
        received.path.ends_with("%3A0/converse-stream"),
        "{}",
        received.path
    );
    assert_eq!(
        received.headers["accept"],
        "application/vnd.amazon.eventstream"
    );
    assert!(received.body.get("stream").is_none());

    assert_eq!(
        chunks[0].choices[0].delta.role,
        Some(towergate_core::chat::Role::Assistant)
    );
    assert_eq!(text_of(&chunks), "echo: one two three");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish.choices[0].finish_reason.as_deref(), Some("stop"));
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    let usage = last.usage.as_ref().unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 4));
    assert!(chunks.iter().all(|chunk| chunk.model == CLAUDE));
}

#[tokio::test]
async fn a_tool_use_comes_back_as_a_tool_call_complete_and_streamed() {
    let upstream = MockUpstream::start().await;
    let bedrock = bedrock_at(&upstream, CLAUDE);
    let request = |stream: bool| {
        chat(json!({
            "messages": [{"role": "user", "content": "Oslo"}],
            "tools": weather_tool(),
            "tool_choice": "required",
            "stream": stream
        }))
    };
    let complete = answer(call(&bedrock, request(false)).await.unwrap());
    let choice = &complete.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].id, "tooluse_mock_1");
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(calls[0].function.arguments, r#"{"echo":"Oslo"}"#);
    assert_eq!(
        upstream.requests()[0].body["toolConfig"]["toolChoice"],
        json!({"any": {}})
    );

    let chunks = chunks_of(&bedrock, request(true)).await;
    let deltas = tool_call_fragments(&chunks);
    assert_eq!(deltas[0].index, 0);
    assert_eq!(deltas[0].id.as_deref(), Some("tooluse_mock_1"));
    let function = deltas[0].function.as_ref().unwrap();
    assert_eq!(function.name.as_deref(), Some("get_weather"));
    let arguments = joined_arguments(&deltas);
    assert_eq!(arguments, r#"{"echo":"Oslo"}"#);
    let finish = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .find_map(|choice| choice.finish_reason.as_deref());
    assert_eq!(finish, Some("tool_calls"));
}

#[tokio::test]
async fn an_exception_in_the_stream_ends_it_with_its_message() {
    let upstream = MockUpstream::start().await;
    let response = call(
        &bedrock_at(&upstream, CLAUDE),
        chat(json!({
            "messages": [{"role": "user", "content": "a b"}],
            "stream": true,
            "additionalModelRequestFields": {"mock_exception": "Too many tokens, please wait"}
        })),
    )
    .await
    .unwrap();
    let items = drain(chat_stream(response)).await;
    let chunks: Vec<&ChatChunk> = items.iter().filter_map(|item| item.as_ref().ok()).collect();
    assert_eq!(
        text_of(&chunks.into_iter().cloned().collect::<Vec<_>>()),
        "echo: a b"
    );
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(error.status().as_u16(), 429);
    assert_eq!(error.message(), "Too many tokens, please wait");
}

#[tokio::test]
async fn bedrocks_error_message_survives_with_its_status() {
    let upstream = MockUpstream::start().await;
    let bedrock = bedrock_at(&upstream, CLAUDE);
    // A conversation that starts with the assistant: Bedrock's own 400.
    let error = call(
        &bedrock,
        chat(json!({"messages": [
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "hi"}
        ]})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
    assert!(
        error
            .message()
            .starts_with("A conversation must alternate between user and assistant roles"),
        "{}",
        error.message()
    );

    upstream.set_behavior(Behavior::new().fault(Fault::Status(429)));
    let error = call(&bedrock, hi()).await.unwrap_err();
    assert_eq!(error.status().as_u16(), 429);
    assert_eq!(error.message(), "mock upstream fault: status 429");
}

#[tokio::test]
async fn broken_streams_are_bad_gateways_naming_the_host() {
    let upstream = MockUpstream::start().await;
    let bedrock = bedrock_at(&upstream, CLAUDE);
    let host = upstream.addr().to_string();

    upstream.set_behavior(Behavior::new().fault(Fault::TruncatedStream { after_chunks: 1 }));
    stream_ends_in_bad_gateway(&bedrock, &["before messageStop", &host]).await;

    upstream.set_behavior(Behavior::new().fault(Fault::MalformedJson));
    stream_ends_in_bad_gateway(&bedrock, &["malformed event stream"]).await;
}

#[tokio::test]
async fn completions_are_served_over_converse() {
    let upstream = MockUpstream::start().await;
    let response = call(
        &bedrock_at(&upstream, CLAUDE),
        completion(json!({"prompt": "say this"})),
    )
    .await
    .unwrap();
    let Payload::Completion(text) = response.payload else {
        panic!("expected a completion");
    };
    assert_eq!(text.choices[0].text, "echo: say this");
    assert_eq!(
        upstream.requests()[0].body["messages"],
        json!([{"role": "user", "content": [{"text": "say this"}]}])
    );
}

#[tokio::test]
async fn titan_embeds_one_input_per_call_and_cohere_all_at_once() {
    let upstream = MockUpstream::start().await;
    let titan = bedrock_at(&upstream, "amazon.titan-embed-text-v2:0");
    let response = call(
        &titan,
        embeddings(json!({"input": ["a b", "c"], "dimensions": 4})),
    )
    .await
    .unwrap();
    let Payload::Embeddings(vectors) = response.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(vectors.data.len(), 2);
    assert_eq!(vectors.data[1].index, 1);
    assert!(matches!(&vectors.data[0].embedding, Vector::Float(v) if v.len() == 4));
    assert_eq!(vectors.usage.unwrap().prompt_tokens, 3);
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].path,
        "/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(
        requests[0].body,
        json!({"inputText": "a b", "dimensions": 4})
    );
    assert_eq!(requests[1].body, json!({"inputText": "c", "dimensions": 4}));

    let cohere = bedrock_at(&upstream, "cohere.embed-english-v3");
    let response = call(&cohere, embeddings(json!({"input": ["x", "y"]})))
        .await
        .unwrap();
    let Payload::Embeddings(vectors) = response.payload else {
        panic!("expected embeddings");
    };
    assert_eq!(vectors.data.len(), 2);
    let requests = upstream.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].path, "/model/cohere.embed-english-v3/invoke");
    assert_eq!(
        requests[2].body,
        json!({"texts": ["x", "y"], "input_type": "search_document"})
    );

    let error = call(
        &bedrock_at(&upstream, CLAUDE),
        embeddings(json!({"input": "x"})),
    )
    .await
    .unwrap_err();
    assert_eq!(error.status().as_u16(), 400);
}

fn mlflow_config(upstream: &MockUpstream) -> Map<String, Value> {
    json!({
        "aws_config": {
            "aws_region": "us-east-1",
            "aws_access_key_id": BEDROCK_ACCESS_KEY_ID,
            "aws_secret_access_key": BEDROCK_SECRET_ACCESS_KEY,
            "aws_session_token": BEDROCK_SESSION_TOKEN
        },
        "api_base": upstream.url()
    })
    .as_object()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn from_mlflow_builds_bedrock_under_both_names() {
    let upstream = MockUpstream::start().await;
    for name in ["bedrock", "amazon-bedrock"] {
        let service = from_mlflow(name, CLAUDE, &mlflow_config(&upstream), &client()).unwrap();
        let response = service.oneshot(hi()).await.unwrap();
        assert_eq!(response.meta.provider.as_deref(), Some("bedrock"));
    }
    let received = &upstream.requests()[0];
    assert_eq!(
        received.headers["x-amz-security-token"],
        BEDROCK_SESSION_TOKEN
    );
}

#[test]
fn from_mlflow_names_the_key_at_fault() {
    let config = |value: Value| value.as_object().unwrap().clone();
    let error = from_mlflow("bedrock", CLAUDE, &config(json!({})), &client()).unwrap_err();
    assert_eq!(error.key(), Some("aws_config"));

    let error = from_mlflow(
        "bedrock",
        CLAUDE,
        &config(json!({"aws_config": {"aws_region": "us-east-1", "aws_access_key_id": "AKID"}})),
        &client(),
    )
    .unwrap_err();
    assert_eq!(error.key(), Some("aws_secret_access_key"));
    assert!(
        error.message().contains("provider `bedrock`"),
        "{}",
        error.message()
    );

    let error = from_mlflow(
        "amazon-bedrock",
        CLAUDE,
        &config(json!({"aws_config": {"aws_region": "us-east-1", "aws_role_arn": "arn:aws:iam::1:role/r"}})),
        &client(),
    )
    .unwrap_err();
    assert_eq!(error.key(), Some("aws_role_arn"));

    let error = from_mlflow(
        "bedrock",
        CLAUDE,
        &config(
            json!({"aws_config": {"aws_region": "us-east-1", "aws_access_key_id": "A",
            "aws_secret_access_key": "S"}, "api_base": "ftp://x"}),
        ),
        &client(),
    )
    .unwrap_err();
    assert_eq!(error.key(), Some("api_base"));

    let unknown = unknown_config_keys(
        "bedrock",
        &config(json!({"aws_config": {}, "api_base": "http://x", "aws_region": "us-east-1"})),
    );
    assert_eq!(unknown, ["aws_region"]);
}
