#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, stream};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    CacheVerdict, Caller, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, Usage,
    chat::{ChatChunk, ChatResponse},
    settle::{Settlements, Spent},
};

use super::*;
use crate::{PriceBook, Pricing, TokenCounter};

fn prices() -> PriceBook {
    PriceBook::builder()
        .endpoint("chat", "gpt-4o", Some(Pricing::new(1.0, 2.0)))
        .build()
}

fn chat_request(stream: bool, include_usage: bool) -> GatewayRequest {
    let mut body = serde_json::json!({
        "model": "chat",
        "messages": [{"role": "user", "content": "Say hello to the whole world"}],
    });
    if stream {
        body["stream"] = true.into();
        if include_usage {
            body["stream_options"] = serde_json::json!({"include_usage": true});
        }
    }
    let mut request = GatewayRequest::new(
        "chat",
        Operation::Chat(serde_json::from_value(body).unwrap()),
    );
    request.extensions.insert(Caller::new("team-a"));
    request
}

fn answer(usage: Option<Usage>) -> ChatResponse {
    let mut answer: ChatResponse = serde_json::from_value(serde_json::json!({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hello world"}}],
    }))
    .unwrap();
    answer.usage = usage;
    answer
}

fn chunk(content: Option<&str>, usage: Option<Usage>) -> ChatChunk {
    let choices = match content {
        Some(text) => {
            serde_json::json!([{"index": 0, "delta": {"content": text}, "finish_reason": null}])
        }
        None => serde_json::json!([]),
    };
    let mut chunk: ChatChunk = serde_json::from_value(serde_json::json!({
        "id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "gpt-4o",
        "choices": choices,
    }))
    .unwrap();
    chunk.usage = usage;
    chunk
}

fn with_meta(payload: Payload) -> GatewayResponse {
    let mut response = GatewayResponse::new(payload);
    response.meta.endpoint = Some("chat".into());
    response.meta.provider = Some("openai".into());
    response.meta.model = Some("gpt-4o".into());
    response
}

/// Settlements that record what they were settled with.
fn settled(request: &mut GatewayRequest) -> Arc<Mutex<Vec<Spent>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    Settlements::of(request).push(move |spent: &Spent| sink.lock().unwrap().push(spent.clone()));
    seen
}

#[tokio::test]
async fn upstream_usage_is_kept_priced_and_recorded() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            Ok::<_, GatewayError>(with_meta(Payload::Chat(answer(Some(Usage::new(
                1_000_000, 500_000,
            ))))))
        }));
    let mut request = chat_request(false, false);
    let spent = settled(&mut request);
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.meta.usage, Some(Usage::new(1_000_000, 500_000)));
    assert_eq!(response.meta.cost_usd, Some(2.0));
    let records = sink.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.caller.as_deref(), Some("team-a"));
    assert_eq!(record.provider.as_deref(), Some("openai"));
    assert_eq!(
        (record.prompt_tokens, record.completion_tokens),
        (1_000_000, 500_000)
    );
    assert_eq!(record.usage_source, UsageSource::Upstream);
    assert_eq!(record.outcome, Outcome::Ok);
    assert_eq!(record.status, 200);
    assert_eq!(record.cost_usd, 2.0);
    assert_eq!(
        spent.lock().unwrap().as_slice(),
        &[Spent::new(Usage::new(1_000_000, 500_000), 2.0)]
    );
}

#[tokio::test]
async fn missing_usage_is_counted_and_written_into_the_answer() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            Ok::<_, GatewayError>(with_meta(Payload::Chat(answer(None))))
        }));
    let request = chat_request(false, false);
    let Operation::Chat(chat) = &request.operation else {
        unreachable!()
    };
    let counter = TokenCounter::for_model("gpt-4o");
    let prompt = counter.count_chat(chat);
    let response = service.oneshot(request).await.unwrap();
    let expected = Usage::new(prompt, 2);
    let Payload::Chat(answer) = &response.payload else {
        unreachable!()
    };
    assert_eq!(answer.usage.as_ref(), Some(&expected));
    assert_eq!(response.meta.usage.as_ref(), Some(&expected));
    assert_eq!(sink.records()[0].usage_source, UsageSource::Counted);
}

fn streaming(
    chunks: Vec<ChatChunk>,
) -> impl tower::Service<
    GatewayRequest,
    Response = GatewayResponse,
    Error = GatewayError,
    Future = impl Send,
> + Clone {
    service_fn(move |_r: GatewayRequest| {
        let chunks = chunks.clone();
        async move {
            let items = stream::iter(chunks.into_iter().map(Ok));
            Ok::<_, GatewayError>(with_meta(Payload::ChatStream(Box::pin(items))))
        }
    })
}

async fn collect(response: GatewayResponse) -> Vec<ChatChunk> {
    let Payload::ChatStream(chunks) = response.payload else {
        unreachable!()
    };
    chunks.map(|c| c.unwrap()).collect().await
}

#[tokio::test]
async fn a_stream_is_recorded_at_its_end_with_the_upstreams_usage() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(streaming(vec![
            chunk(Some("hello"), None),
            chunk(Some(" world"), None),
            chunk(None, Some(Usage::new(10, 2))),
        ]));
    let mut request = chat_request(true, true);
    let spent = settled(&mut request);
    let response = service.oneshot(request).await.unwrap();
    assert!(
        sink.records().is_empty(),
        "recorded before the stream ended"
    );
    let chunks = collect(response).await;
    assert_eq!(
        chunks.len(),
        3,
        "no usage chunk added when the upstream sent one"
    );
    let record = &sink.records()[0];
    assert_eq!((record.prompt_tokens, record.completion_tokens), (10, 2));
    assert_eq!(record.usage_source, UsageSource::Upstream);
    assert!(record.stream);
    assert_eq!(spent.lock().unwrap()[0].usage, Usage::new(10, 2));
}

#[tokio::test]
async fn a_stream_without_usage_is_counted_and_gets_a_usage_chunk_when_asked() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(streaming(vec![
            chunk(Some("hello"), None),
            chunk(Some(" world"), None),
        ]));
    let request = chat_request(true, true);
    let Operation::Chat(chat) = &request.operation else {
        unreachable!()
    };
    let prompt = TokenCounter::for_model("gpt-4o").count_chat(chat);
    let chunks = collect(service.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(chunks.len(), 3);
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.id, "c1");
    assert_eq!(last.usage, Some(Usage::new(prompt, 2)));
    assert_eq!(sink.records()[0].usage_source, UsageSource::Counted);

    // Not asked: counted and recorded all the same, but no chunk added.
    let chunks = collect(service.oneshot(chat_request(true, false)).await.unwrap()).await;
    assert_eq!(chunks.len(), 2);
    assert_eq!(sink.records()[1].completion_tokens, 2);
}

#[tokio::test]
async fn a_dropped_stream_is_charged_for_what_passed() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            let first = stream::iter([Ok(chunk(Some("hello world"), None))]);
            let stalled = first.chain(stream::pending());
            Ok::<_, GatewayError>(with_meta(Payload::ChatStream(Box::pin(stalled))))
        }));
    let mut request = chat_request(true, true);
    let spent = settled(&mut request);
    let response = service.oneshot(request).await.unwrap();
    let Payload::ChatStream(mut chunks) = response.payload else {
        unreachable!()
    };
    chunks.next().await.unwrap().unwrap();
    drop(chunks);
    let record = &sink.records()[0];
    assert_eq!(record.outcome, Outcome::Dropped);
    assert_eq!(record.completion_tokens, 2);
    assert!(record.prompt_tokens > 0);
    assert_eq!(spent.lock().unwrap()[0].usage.completion_tokens, 2);
}

#[tokio::test]
async fn a_failed_request_is_recorded_and_settled_at_nothing() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            Err::<GatewayResponse, _>(GatewayError::bad_gateway("boom"))
        }));
    let mut request = chat_request(false, false);
    let spent = settled(&mut request);
    let error = service.oneshot(request).await.unwrap_err();
    assert_eq!(error.status().as_u16(), 502);
    let record = &sink.records()[0];
    assert_eq!(record.outcome, Outcome::Error);
    assert_eq!(record.status, 502);
    assert_eq!(record.error, Some(error.kind().type_name()));
    assert_eq!(record.endpoint, "chat");
    assert_eq!(
        spent.lock().unwrap().as_slice(),
        &[Spent::new(Usage::default(), 0.0)]
    );
}

#[tokio::test]
async fn a_stream_that_fails_midway_is_charged_for_what_passed() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            let items = stream::iter([
                Ok(chunk(Some("hello world"), None)),
                Err(GatewayError::bad_gateway("the upstream cut the stream")),
            ]);
            Ok::<_, GatewayError>(with_meta(Payload::ChatStream(Box::pin(items))))
        }));
    let response = service.oneshot(chat_request(true, false)).await.unwrap();
    let Payload::ChatStream(chunks) = response.payload else {
        unreachable!()
    };
    let items: Vec<_> = chunks.collect().await;
    assert!(items[1].is_err());
    let record = &sink.records()[0];
    assert_eq!(record.outcome, Outcome::Error);
    assert_eq!(record.status, 502);
    assert_eq!(record.completion_tokens, 2);
}

#[tokio::test]
async fn a_cache_hit_costs_nothing() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            let mut response = with_meta(Payload::Chat(answer(Some(Usage::new(100, 100)))));
            response.meta.cache = Some(CacheVerdict::Hit);
            Ok::<_, GatewayError>(response)
        }));
    let mut request = chat_request(false, false);
    let spent = settled(&mut request);
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.meta.cost_usd, Some(0.0));
    assert_eq!(sink.records()[0].cache, Some("hit"));
    assert_eq!(sink.records()[0].prompt_tokens, 100);
    // Limits and budgets get back every token and cent they reserved.
    let spent = spent.lock().unwrap();
    assert_eq!(spent.len(), 1);
    assert_eq!(spent[0].usage.total_tokens, 0);
    assert_eq!(spent[0].cost_usd, 0.0);
}

#[tokio::test]
async fn a_route_records_both_names() {
    let sink = MemorySink::new();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            Ok::<_, GatewayError>(with_meta(Payload::Chat(answer(Some(Usage::new(1, 1))))))
        }));
    let mut request = chat_request(false, false);
    request.endpoint = "chat-ab".into();
    service.oneshot(request).await.unwrap();
    let record = &sink.records()[0];
    assert_eq!(record.endpoint, "chat");
    assert_eq!(record.requested.as_deref(), Some("chat-ab"));
}

#[tokio::test]
async fn the_jsonl_sink_keeps_every_record_through_flush_and_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.jsonl");
    let sink = JsonlSink::open(&path).unwrap();
    let service = TokenAccountingLayer::new(prices())
        .sink(Arc::new(sink.clone()))
        .layer(service_fn(|_r: GatewayRequest| async {
            Ok::<_, GatewayError>(with_meta(Payload::Chat(answer(Some(Usage::new(3, 4))))))
        }));
    for _ in 0..100 {
        service
            .clone()
            .oneshot(chat_request(false, false))
            .await
            .unwrap();
    }
    sink.flush().await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 100);
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["caller"], "team-a");
    assert_eq!(line["prompt_tokens"], 3);
    assert_eq!(line["outcome"], "ok");

    // Records handed over right before the last clone goes are written too.
    for _ in 0..50 {
        service
            .clone()
            .oneshot(chat_request(false, false))
            .await
            .unwrap();
    }
    drop(service);
    drop(sink);
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&path).unwrap().lines().count();
        if lines == 150 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(lines, 150);
}
