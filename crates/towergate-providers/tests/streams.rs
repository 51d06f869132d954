//! Streamed answers from OpenAI's wire, over loopback.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{call, chat, chat_stream, client, completion, drain, eventually};
use futures_util::StreamExt;
use serde_json::json;
use towergate_core::{ErrorKind, Payload};
use towergate_providers::openai::OpenAi;
use towergate_testkit::{Behavior, Fault, MockUpstream};

fn openai_at(upstream: &MockUpstream) -> OpenAi {
    OpenAi::builder("gpt-4o-mini")
        .api_base(upstream.base_url())
        .api_key("k")
        .build(&client())
        .unwrap()
}

fn streamed(text: &str, include_usage: bool) -> serde_json::Value {
    json!({
        "model": "e",
        "messages": [{"role": "user", "content": text}],
        "stream": true,
        "stream_options": {"include_usage": include_usage}
    })
}

#[tokio::test]
async fn chat_stream_yields_every_chunk_and_the_usage_chunk() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(3)).await;

    let response = call(
        &openai_at(&upstream),
        chat(streamed("one two three four", true)),
    )
    .await
    .unwrap();
    assert_eq!(response.meta.provider.as_deref(), Some("openai"));
    assert_eq!(response.meta.usage, None);
    assert_eq!(response.meta.attempts, 1);
    let items = drain(chat_stream(response)).await;

    let chunks: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    let text: String = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .filter_map(|choice| choice.delta.content.as_deref())
        .collect();
    assert_eq!(text, "echo: one two three four");
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert!(last.usage.as_ref().unwrap().total_tokens > 0);
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c.usage.is_none()));
    assert!(eventually(|| upstream.completed_streams() == 1).await);

    let received = &upstream.requests()[0];
    assert_eq!(received.headers["accept"], "text/event-stream");
    assert_eq!(received.body["stream"], true);
    assert_eq!(
        received.body["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(received.body["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn without_include_usage_no_chunk_carries_usage() {
    let upstream = MockUpstream::start().await;

    let response = call(&openai_at(&upstream), chat(streamed("a b", false)))
        .await
        .unwrap();
    let items = drain(chat_stream(response)).await;

    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|item| item.as_ref().unwrap().usage.is_none())
    );
}

#[tokio::test]
async fn completion_stream_yields_text_chunks() {
    let upstream = MockUpstream::start_with(Behavior::new().chunks(2)).await;

    let response = call(
        &openai_at(&upstream),
        completion(json!({"model": "c", "prompt": "x y", "stream": true})),
    )
    .await
    .unwrap();
    let Payload::CompletionStream(stream) = response.payload else {
        panic!("expected a completion stream");
    };
    let items = drain(stream).await;

    let text: String = items
        .into_iter()
        .map(Result::unwrap)
        .flat_map(|chunk| chunk.choices)
        .map(|choice| choice.text)
        .collect();
    assert!(text.contains("x y"), "{text}");
    assert_eq!(upstream.requests()[0].path, "/v1/completions");
}

#[tokio::test]
async fn streamed_tool_calls_arrive_as_deltas() {
    let upstream = MockUpstream::start().await;
    let mut body = streamed("find it", false);
    body["tools"] = json!([{"type": "function", "function": {"name": "search"}}]);

    let response = call(&openai_at(&upstream), chat(body)).await.unwrap();
    let chunks: Vec<_> = drain(chat_stream(response))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let deltas: Vec<_> = chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .filter_map(|choice| choice.delta.tool_calls.as_ref())
        .flatten()
        .collect();
    let name = deltas
        .iter()
        .find_map(|d| d.function.as_ref()?.name.clone());
    assert_eq!(name.as_deref(), Some("search"));
    let arguments: String = deltas
        .iter()
        .filter_map(|d| d.function.as_ref()?.arguments.clone())
        .collect();
    let arguments: serde_json::Value = serde_json::from_str(&arguments).unwrap();
    assert_eq!(arguments["echo"], "find it");
}

#[tokio::test]
async fn a_stream_ending_before_done_ends_with_an_error_item() {
    let upstream = MockUpstream::start_with(
        Behavior::new()
            .chunks(4)
            .fault(Fault::TruncatedStream { after_chunks: 2 }),
    )
    .await;

    let response = call(&openai_at(&upstream), chat(streamed("a b c d", false)))
        .await
        .unwrap();
    let mut items = drain(chat_stream(response)).await;

    let last = items.pop().unwrap().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::BadGateway);
    assert!(
        last.message().contains("ended before [DONE]"),
        "{}",
        last.message()
    );
    assert!(!items.is_empty());
    assert!(items.iter().all(Result::is_ok));
}

#[tokio::test]
async fn a_malformed_chunk_ends_the_stream_with_a_bad_gateway() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::MalformedJson)).await;

    let response = call(&openai_at(&upstream), chat(streamed("a", false)))
        .await
        .unwrap();
    let mut items = drain(chat_stream(response)).await;

    let last = items.pop().unwrap().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::BadGateway);
    assert!(
        last.message().contains("chat completion chunk"),
        "{}",
        last.message()
    );
    assert!(items.iter().all(Result::is_ok));
}

#[tokio::test]
async fn an_upstream_error_status_fails_the_call_before_any_stream() {
    let upstream = MockUpstream::start_with(Behavior::new().fault(Fault::Status(429))).await;

    let error = call(&openai_at(&upstream), chat(streamed("a", true)))
        .await
        .unwrap_err();

    assert_eq!(error.status().as_u16(), 429);
}

#[tokio::test]
async fn silence_mid_stream_ends_it_with_a_timeout() {
    let upstream = MockUpstream::start_with(
        Behavior::new()
            .chunks(3)
            .chunk_interval(Duration::from_secs(30)),
    )
    .await;
    let openai = OpenAi::builder("gpt-4o-mini")
        .api_base(upstream.base_url())
        .stream_idle_timeout(Duration::from_millis(300))
        .build(&client())
        .unwrap();

    let response = call(&openai, chat(streamed("a b c", false))).await.unwrap();
    let mut stream = chat_stream(response);

    // The answer is handed over before the upstream has finished it.
    assert!(stream.next().await.unwrap().is_ok());
    let error = stream.next().await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.status().as_u16(), 504);
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_upstream_call() {
    let upstream = MockUpstream::start_with(
        Behavior::new()
            .chunks(5)
            .chunk_interval(Duration::from_millis(200)),
    )
    .await;

    let response = call(&openai_at(&upstream), chat(streamed("a b c d e", false)))
        .await
        .unwrap();
    let mut stream = chat_stream(response);
    assert!(stream.next().await.unwrap().is_ok());
    assert_eq!(upstream.cancelled_streams(), 0);
    drop(stream);

    assert!(
        eventually(|| upstream.cancelled_streams() == 1).await,
        "the mock never saw the client go away"
    );
    assert_eq!(upstream.completed_streams(), 0);
}

#[tokio::test]
async fn a_finished_stream_gives_its_connection_back_to_the_pool() {
    let upstream = MockUpstream::start().await;
    let openai = openai_at(&upstream);
    for _ in 0..5 {
        let response = call(&openai, chat(streamed("reuse me", false)))
            .await
            .unwrap();
        let items = drain(chat_stream(response)).await;
        assert!(items.iter().all(Result::is_ok));
    }
    assert!(eventually(|| upstream.completed_streams() == 5).await);
    // The second call may start before the first connection is back in the
    // pool; after that they take turns on the two.
    let connections = upstream.connections();
    assert!(
        connections <= 2,
        "{connections} connections for 5 streams in a row"
    );
}
