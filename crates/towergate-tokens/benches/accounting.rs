//! The per-request cost of TokenAccountingLayer against the bare service:
//! a complete answer with the upstream's usage, one without (the gateway
//! counts), and a 20-chunk stream; with a memory sink.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::{StreamExt, stream};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, Usage,
    chat::{ChatChunk, ChatResponse},
};
use towergate_tokens::{
    PriceBook, Pricing,
    accounting::{MemorySink, TokenAccountingLayer, UsageSink},
};

fn request(stream: bool) -> GatewayRequest {
    let chat = serde_json::from_value(serde_json::json!({
        "model": "chat", "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France, and why is it famous?"}
        ]
    }))
    .unwrap();
    GatewayRequest::new("chat", Operation::Chat(chat))
}

fn answer(usage: Option<Usage>) -> ChatResponse {
    let mut answer: ChatResponse = serde_json::from_value(serde_json::json!({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": "Paris is the capital of France, famous for art, food and the Eiffel Tower."}}],
    }))
    .unwrap();
    answer.usage = usage;
    answer
}

fn chunks() -> Vec<ChatChunk> {
    let mut chunks: Vec<ChatChunk> = (0..20)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "delta": {"content": format!(" word{i}")}, "finish_reason": null}]
            }))
            .unwrap()
        })
        .collect();
    let mut last = chunks[0].clone();
    last.choices.clear();
    last.usage = Some(Usage::new(30, 20));
    chunks.push(last);
    chunks
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let prices = PriceBook::builder()
        .endpoint("chat", "gpt-4o-mini", Some(Pricing::new(0.15, 0.6)))
        .build();
    let layer = |sink: &MemorySink| {
        TokenAccountingLayer::new(prices.clone()).sink(Arc::new(sink.clone()) as Arc<dyn UsageSink>)
    };
    let with_usage = service_fn(|_r: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Chat(answer(Some(
            Usage::new(30, 20),
        )))))
    });
    let without_usage = service_fn(|_r: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Chat(answer(None))))
    });
    let streaming = service_fn(|_r: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::ChatStream(Box::pin(
            stream::iter(chunks().into_iter().map(Ok)),
        ))))
    });
    // Keeps the memory sink from growing without bound across iterations.
    let fresh = MemorySink::new;

    let mut group = c.benchmark_group("accounting");
    group.bench_function("complete/bare", |b| {
        b.iter_batched(
            || with_usage,
            |service| runtime.block_on(service.oneshot(request(false))).unwrap(),
            criterion::BatchSize::SmallInput,
        );
    });
    group.bench_function("complete/upstream_usage", |b| {
        b.iter_batched(
            || layer(&fresh()).layer(with_usage),
            |service| runtime.block_on(service.oneshot(request(false))).unwrap(),
            criterion::BatchSize::SmallInput,
        );
    });
    group.bench_function("complete/counted_usage", |b| {
        b.iter_batched(
            || layer(&fresh()).layer(without_usage),
            |service| runtime.block_on(service.oneshot(request(false))).unwrap(),
            criterion::BatchSize::SmallInput,
        );
    });
    let drain = |response: GatewayResponse| async move {
        match response.payload {
            Payload::ChatStream(chunks) => chunks.count().await,
            _ => 0,
        }
    };
    group.bench_function("stream_20_chunks/bare", |b| {
        b.iter_batched(
            || streaming,
            |service| {
                runtime
                    .block_on(async { drain(service.oneshot(request(true)).await.unwrap()).await })
            },
            criterion::BatchSize::SmallInput,
        );
    });
    group.bench_function("stream_20_chunks/accounted", |b| {
        b.iter_batched(
            || layer(&fresh()).layer(streaming),
            |service| {
                runtime
                    .block_on(async { drain(service.oneshot(request(true)).await.unwrap()).await })
            },
            criterion::BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
