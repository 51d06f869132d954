//! Complete (non-streamed) answers from OpenAI's wire, over loopback.

#![allow(clippy::unwrap_used)]

mod common;

use common::{call, chat, client, completion, embeddings};
use http::Method;
use serde_json::json;
use towergate_core::{GatewayRequest, Operation, Payload, embeddings::Vector};
use towergate_providers::openai::OpenAi;
use towergate_testkit::MockUpstream;

#[tokio::test]
async fn chat_sends_the_typed_request_with_the_upstream_model() {
    let upstream = MockUpstream::start().await;
    upstream.require_key(Some("sk-test"));
    let openai = OpenAi::builder("gpt-4o-mini")
        .api_base(upstream.base_url())
        .api_key("sk-test")
        .organization("org-1")
        .build(&client())
        .unwrap();

    let sent = json!({
        "model": "my-endpoint",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there"}
        ],
        "temperature": 0.2,
        "max_tokens": 20,
        "vendor_knob": {"depth": 3, "flags": ["a", "b"]}
    });
    let response = call(&openai, chat(sent.clone())).await.unwrap();

    let Payload::Chat(answer) = &response.payload else {
        panic!("expected a chat answer, got {:?}", response.payload);
    };
    assert_eq!(
        answer.choices[0].message.text_content().as_deref(),
        Some("echo: Hello there")
    );
    assert_eq!(response.meta.provider.as_deref(), Some("openai"));
    assert_eq!(response.meta.model.as_deref(), Some(answer.model.as_str()));
    assert_eq!(response.meta.usage, answer.usage);
    assert!(response.meta.usage.is_some());
    assert_eq!(response.meta.attempts, 1);
    assert!(response.meta.upstream_latency.is_some());

    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let received = &requests[0];
    assert_eq!(received.method, Method::POST);
    assert_eq!(received.path, "/v1/chat/completions");
    assert_eq!(received.query, None);
    assert_eq!(received.headers["authorization"], "Bearer sk-test");
    assert_eq!(received.headers["openai-organization"], "org-1");
    assert_eq!(received.headers["content-type"], "application/json");
    let mut expected = sent;
    expected["model"] = json!("gpt-4o-mini");
    assert_eq!(received.body, expected);
}

#[tokio::test]
async fn completions_use_the_completions_path() {
    let upstream = MockUpstream::start().await;
    let openai = OpenAi::builder("gpt-3.5-turbo-instruct")
        .api_base(upstream.base_url())
        .api_key("k")
        .build(&client())
        .unwrap();

    let response = call(
        &openai,
        completion(
            json!({"model": "c", "prompt": "Say this", "max_tokens": 5, "echo_extra": true}),
        ),
    )
    .await
    .unwrap();

    let Payload::Completion(answer) = &response.payload else {
        panic!("expected a completion, got {:?}", response.payload);
    };
    assert!(answer.choices[0].text.contains("Say this"), "{answer:?}");
    assert_eq!(response.meta.usage, answer.usage);
    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/v1/completions");
    assert_eq!(
        received.body,
        json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say this", "max_tokens": 5, "echo_extra": true})
    );
}

#[tokio::test]
async fn embeddings_use_the_embeddings_path() {
    let upstream = MockUpstream::start().await;
    let openai = OpenAi::builder("text-embedding-3-small")
        .api_base(upstream.base_url())
        .api_key("k")
        .build(&client())
        .unwrap();

    let response = call(
        &openai,
        embeddings(json!({"model": "embed", "input": ["one", "two words"], "dimensions": 8})),
    )
    .await
    .unwrap();

    let Payload::Embeddings(answer) = &response.payload else {
        panic!("expected embeddings, got {:?}", response.payload);
    };
    assert_eq!(answer.data.len(), 2);
    assert!(matches!(answer.data[0].embedding, Vector::Float(_)));
    assert!(response.meta.usage.is_some());
    assert_eq!(response.meta.model.as_deref(), Some(answer.model.as_str()));
    let received = &upstream.requests()[0];
    assert_eq!(received.path, "/v1/embeddings");
    assert_eq!(
        received.body,
        json!({"model": "text-embedding-3-small", "input": ["one", "two words"], "dimensions": 8})
    );
}

#[tokio::test]
async fn tool_calls_round_trip() {
    let upstream = MockUpstream::start().await;
    let openai = OpenAi::builder("gpt-4o")
        .api_base(upstream.base_url())
        .api_key("k")
        .build(&client())
        .unwrap();
    let tools = json!([{
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Looks a word up.",
            "parameters": {"type": "object", "properties": {"word": {"type": "string"}}},
            "strict": true
        }
    }]);

    let first = call(
        &openai,
        chat(json!({
            "messages": [{"role": "user", "content": "define gateway"}],
            "tools": tools,
            "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            "parallel_tool_calls": false
        })),
    )
    .await
    .unwrap();
    let Payload::Chat(answer) = first.payload else {
        panic!("expected a chat answer");
    };
    let choice = &answer.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    let calls = choice.message.tool_calls.clone().unwrap();
    assert_eq!(calls[0].function.name, "lookup");
    assert_eq!(upstream.requests()[0].body["tools"], tools);

    // The assistant's call and the tool's answer go back as they came.
    let assistant = serde_json::to_value(&choice.message).unwrap();
    let follow_up = json!({
        "messages": [
            {"role": "user", "content": "define gateway"},
            assistant,
            {"role": "tool", "tool_call_id": calls[0].id, "content": "{\"meaning\":\"a way in\"}"}
        ],
        "tools": tools
    });
    let second = call(&openai, chat(follow_up.clone())).await.unwrap();
    assert!(matches!(second.payload, Payload::Chat(_)));
    let received = &upstream.requests()[1].body;
    assert_eq!(received["messages"], follow_up["messages"]);
    assert_eq!(
        received["messages"][1]["tool_calls"][0]["function"]["name"],
        "lookup"
    );
}

#[tokio::test]
async fn listing_endpoints_is_refused_without_calling_upstream() {
    let upstream = MockUpstream::start().await;
    let openai = OpenAi::builder("m")
        .api_base(upstream.base_url())
        .build(&client())
        .unwrap();

    let error = call(&openai, GatewayRequest::new("x", Operation::ListEndpoints))
        .await
        .unwrap_err();

    assert_eq!(error.status().as_u16(), 400);
    assert_eq!(upstream.request_count(), 0);
}

#[tokio::test]
async fn debug_output_never_shows_secrets() {
    let builder = OpenAi::builder("m")
        .api_key("sk-very-secret")
        .azure("dep", "2024-06-01")
        .api_base("https://example.openai.azure.com");
    assert!(!format!("{builder:?}").contains("sk-very-secret"));
    let openai = builder.build(&client()).unwrap();
    let shown = format!("{openai:?}");
    assert!(!shown.contains("sk-very-secret"), "{shown}");

    let bearer = OpenAi::builder("m")
        .api_key("sk-other-secret")
        .build(&client())
        .unwrap();
    assert!(!format!("{bearer:?}").contains("sk-other-secret"));
}
