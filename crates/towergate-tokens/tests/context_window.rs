//! ContextWindowLayer over a service that records what it was sent.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use serde_json::json;
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatMessage, ChatRequest, Role},
};
use towergate_tokens::{ContextFitted, ContextWindowLayer, Encoding, TokenCounter};

/// What the inner service saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    operation: Operation,
    fitted: Option<ContextFitted>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn send(
    layer: ContextWindowLayer,
    operation: Operation,
) -> (Result<GatewayResponse, GatewayError>, Log) {
    let log = Log::default();
    let sink = Arc::clone(&log);
    let service = layer.layer(service_fn(move |request: GatewayRequest| {
        let sink = Arc::clone(&sink);
        async move {
            sink.lock().unwrap().push(Seen {
                operation: request.operation.clone(),
                fitted: request.extensions.get::<ContextFitted>().copied(),
            });
            Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
        }
    }));
    let answer = service
        .oneshot(GatewayRequest::new("chat", operation))
        .await;
    (answer, log)
}

fn seen_chat(log: &Log) -> (ChatRequest, ContextFitted) {
    let seen = log.lock().unwrap();
    assert_eq!(seen.len(), 1, "the inner service is called once");
    let Operation::Chat(chat) = &seen[0].operation else {
        panic!("not a chat: {:?}", seen[0])
    };
    (chat.clone(), seen[0].fitted.unwrap())
}

fn chat(value: serde_json::Value) -> ChatRequest {
    serde_json::from_value(value).unwrap()
}

fn counter() -> TokenCounter {
    TokenCounter::for_model("gpt-4o")
}

fn layer(window: u64) -> ContextWindowLayer {
    ContextWindowLayer::new(window).counter(counter())
}

/// Ten words, padding a turn.
const LONG: &str = "This message is long enough to matter when the window is small.";

fn conversation() -> ChatRequest {
    chat(json!({
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": format!("First question. {LONG}")},
            {"role": "assistant", "content": format!("First answer. {LONG}")},
            {"role": "user", "content": format!("Second question. {LONG}")},
            {"role": "assistant", "content": format!("Second answer. {LONG}")},
            {"role": "user", "content": "Third question?"}
        ],
        "max_tokens": 50
    }))
}

fn without(chat: &ChatRequest, drop: &[usize]) -> ChatRequest {
    let mut fitted = chat.clone();
    fitted.messages = chat
        .messages
        .iter()
        .enumerate()
        .filter(|(at, _)| !drop.contains(at))
        .map(|(_, message)| message.clone())
        .collect();
    fitted
}

#[tokio::test]
async fn a_chat_that_fits_passes_unchanged() {
    let request = conversation();
    let prompt = counter().count_chat(&request);
    let (answer, log) = send(layer(prompt + 50), Operation::Chat(request.clone())).await;
    answer.unwrap();
    let (seen, fitted) = seen_chat(&log);
    assert_eq!(seen, request);
    assert_eq!(
        fitted,
        ContextFitted {
            dropped_messages: 0,
            prompt_tokens: prompt,
            encoding: Encoding::O200kBase
        }
    );
}

#[tokio::test]
async fn the_oldest_turns_are_dropped_until_it_fits() {
    let request = conversation();
    let one_turn_less = without(&request, &[1, 2]);
    let window = counter().count_chat(&one_turn_less) + 50;
    assert!(counter().count_chat(&request) + 50 > window);

    let (answer, log) = send(layer(window), Operation::Chat(request.clone())).await;
    answer.unwrap();
    let (seen, fitted) = seen_chat(&log);
    assert_eq!(seen, one_turn_less, "only the first turn is dropped");
    assert_eq!(fitted.dropped_messages, 2);
    assert_eq!(fitted.prompt_tokens, counter().count_chat(&seen));
    assert!(fitted.prompt_tokens + 50 <= window);
}

#[tokio::test]
async fn system_messages_and_the_last_user_turn_are_kept() {
    let mut request = conversation();
    // An instruction in the middle of the conversation, and one from a developer.
    request
        .messages
        .insert(3, ChatMessage::text(Role::System, "Mind the units."));
    request
        .messages
        .insert(4, ChatMessage::text(Role::Developer, "Cite nothing."));
    request.messages.push(ChatMessage::text(
        Role::Assistant,
        "Prefilled start of the answer",
    ));
    let minimal = without(&request, &[1, 2, 5, 6]);
    let window = counter().count_chat(&minimal) + 50;

    let (answer, log) = send(layer(window), Operation::Chat(request)).await;
    answer.unwrap();
    let (seen, fitted) = seen_chat(&log);
    let roles: Vec<Role> = seen.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::System,
            Role::System,
            Role::Developer,
            Role::User,
            Role::Assistant
        ]
    );
    assert_eq!(
        seen.messages[3].text_content().as_deref(),
        Some("Third question?")
    );
    assert_eq!(seen, minimal);
    assert_eq!(fitted.dropped_messages, 4);
}

#[tokio::test]
async fn a_tool_call_goes_with_the_tool_messages_that_answer_it() {
    let request = chat(json!({
        "messages": [
            {"role": "system", "content": "You call tools."},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_paris", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_rome", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_paris", "content": format!("18 degrees. {LONG}")},
            {"role": "tool", "tool_call_id": "call_rome", "content": format!("24 degrees. {LONG}")},
            {"role": "assistant", "content": "Paris 18, Rome 24."},
            {"role": "user", "content": "And Oslo?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_oslo", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_oslo", "content": "3 degrees."}
        ],
        "max_completion_tokens": 20
    }));
    // Dropping the first tool answer alone would fit; the whole turn goes.
    let window = counter().count_chat(&without(&request, &[3])) + 20;
    let (answer, log) = send(layer(window), Operation::Chat(request.clone())).await;
    answer.unwrap();
    let (seen, fitted) = seen_chat(&log);
    assert_eq!(seen, without(&request, &[1, 2, 3, 4, 5]));
    assert_eq!(fitted.dropped_messages, 5);
    let calls: Vec<&str> = seen
        .messages
        .iter()
        .flat_map(|m| m.tool_calls.iter().flatten())
        .map(|call| call.id.as_str())
        .collect();
    for message in seen.messages.iter().filter(|m| m.role == Role::Tool) {
        let answers = message.tool_call_id.as_deref().unwrap();
        assert!(calls.contains(&answers), "orphan tool message {answers}");
    }
}

#[tokio::test]
async fn a_chat_that_cannot_fit_is_refused_naming_both_sizes() {
    let request = conversation();
    let minimal = without(&request, &[1, 2, 3, 4]);
    let needed = counter().count_chat(&minimal);
    let window = needed + 49;
    let (answer, log) = send(layer(window), Operation::Chat(request)).await;
    let refused = answer.unwrap_err();
    assert!(
        log.lock().unwrap().is_empty(),
        "the inner service is not called"
    );
    assert_eq!(refused.kind(), ErrorKind::InvalidRequest);
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(refused.param(), Some("messages"));
    assert_eq!(refused.code(), Some("context_length_exceeded"));
    assert_eq!(
        refused.message(),
        format!(
            "prompt needs {needed} tokens plus max_tokens 50, over the context window of \
             {window} tokens of endpoint `chat` (counted with its 4 oldest messages dropped)"
        )
    );
}

#[tokio::test]
async fn max_completion_tokens_wins_over_max_tokens_and_none_reserves_nothing() {
    let mut request = conversation();
    let prompt = counter().count_chat(&request);

    request.max_tokens = None;
    let (answer, log) = send(layer(prompt), Operation::Chat(request.clone())).await;
    answer.unwrap();
    assert_eq!(seen_chat(&log).1.dropped_messages, 0);

    request.max_tokens = Some(1);
    request.max_completion_tokens = Some(100_000);
    let (answer, _) = send(layer(prompt + 1), Operation::Chat(request)).await;
    let refused = answer.unwrap_err();
    assert!(
        refused
            .message()
            .contains("plus max_completion_tokens 100000"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_chat_with_no_user_message_drops_nothing() {
    let request = chat(json!({"messages": [
        {"role": "system", "content": LONG},
        {"role": "assistant", "content": LONG}
    ]}));
    let (answer, log) = send(layer(10), Operation::Chat(request)).await;
    let refused = answer.unwrap_err();
    assert!(log.lock().unwrap().is_empty());
    assert!(
        refused.message().starts_with("prompt needs "),
        "{}",
        refused.message()
    );
    assert!(
        !refused.message().contains("dropped"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn a_completion_whose_prompt_does_not_fit_is_refused() {
    let completion = |value| Operation::Completion(serde_json::from_value(value).unwrap());
    let (answer, log) = send(
        layer(20),
        completion(json!({"prompt": "hello world", "max_tokens": 10})),
    )
    .await;
    answer.unwrap();
    let fitted = log.lock().unwrap()[0].fitted.unwrap();
    assert_eq!(fitted.prompt_tokens, 2);

    let (answer, log) = send(
        layer(20),
        completion(json!({"prompt": ["hello world", LONG], "max_tokens": 10})),
    )
    .await;
    let refused = answer.unwrap_err();
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(refused.param(), Some("prompt"));
    let long = counter().count_text(LONG);
    assert_eq!(
        refused.message(),
        format!(
            "prompt 1 needs {long} tokens plus max_tokens 10, over the context window of 20 tokens of endpoint `chat`"
        )
    );
}

#[tokio::test]
async fn an_embeddings_input_longer_than_the_window_is_refused() {
    let embeddings = |value| Operation::Embeddings(serde_json::from_value(value).unwrap());
    let (answer, _) = send(
        layer(5),
        embeddings(json!({"input": ["hello world", "hello"]})),
    )
    .await;
    answer.unwrap();

    let (answer, log) = send(
        layer(5),
        embeddings(json!({"input": [[1, 2], [1, 2, 3, 4, 5, 6]]})),
    )
    .await;
    let refused = answer.unwrap_err();
    assert!(log.lock().unwrap().is_empty());
    assert_eq!(refused.param(), Some("input"));
    assert_eq!(
        refused.message(),
        "input 1 needs 6 tokens, over the context window of 5 tokens of endpoint `chat`"
    );
}

#[tokio::test]
async fn a_listing_passes_untouched() {
    let (answer, log) = send(layer(0), Operation::ListEndpoints).await;
    answer.unwrap();
    let seen = log.lock().unwrap();
    assert_eq!(seen[0].operation, Operation::ListEndpoints);
    assert!(seen[0].fitted.is_none());
}

#[tokio::test]
async fn the_inner_error_is_passed_on_unchanged() {
    let service = layer(1_000).layer(service_fn(|_request: GatewayRequest| async {
        Err::<GatewayResponse, _>(GatewayError::bad_gateway("upstream hung up"))
    }));
    let request = GatewayRequest::new("chat", Operation::Chat(conversation()));
    let error = service.oneshot(request).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadGateway);
    assert_eq!(error.message(), "upstream hung up");
}
