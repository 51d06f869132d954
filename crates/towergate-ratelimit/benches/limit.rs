//! The cost of one rate-limit check, in memory and against Redis, next to
//! calling the service directly; and of a token limit, which counts the
//! prompt and settles afterwards.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    Caller, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, Usage,
    settle::{Settlements, Spent},
};
use towergate_ratelimit::{KeyBy, Limits, RateLimitLayer};
use towergate_state::{MemoryRateStore, Rate, RateStore, RedisQuotaStore};
use towergate_testkit::redis::RedisServer;
use towergate_tokens::TokenCounter;

fn request() -> GatewayRequest {
    let chat = serde_json::from_value(serde_json::json!({
        "messages": [{"role": "user", "content": "Summarize the plot of Hamlet in two sentences."}],
        "max_tokens": 200
    }))
    .unwrap();
    let mut request = GatewayRequest::new("chat", Operation::Chat(chat));
    request.extensions.insert(Caller::new("alice"));
    request
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let answer = service_fn(|request: GatewayRequest| async move {
        // Settle as the accounting layer would, so token buckets refill.
        if let Some(settlements) = request.extensions.get::<Settlements>() {
            settlements.settle(&Spent::new(Usage::new(20, 50), 0.0));
        }
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let requests = Limits::new().requests(Rate::per_second(50_000_000).unwrap());
    let tokens = requests
        .clone()
        .tokens(Rate::per_minute(1_000_000_000).unwrap());
    let memory: Arc<dyn RateStore> = Arc::new(MemoryRateStore::new());
    let server = RedisServer::start();
    let redis: Arc<dyn RateStore> =
        Arc::new(runtime.block_on(async { RedisQuotaStore::open(&server.url()).unwrap() }));

    let mut group = c.benchmark_group("rate_limit");
    group.bench_function("direct_baseline", |b| {
        b.to_async(&runtime).iter(|| answer.oneshot(request()));
    });
    for (name, store) in [("memory", &memory), ("redis", &redis)] {
        let limited = RateLimitLayer::new(Arc::clone(store))
            .limits(KeyBy::Caller, &requests)
            .layer(answer);
        group.bench_function(format!("{name}_requests"), |b| {
            b.to_async(&runtime)
                .iter(|| limited.clone().oneshot(request()));
        });
        let limited = RateLimitLayer::new(Arc::clone(store))
            .estimate(TokenCounter::for_model("gpt-4o"))
            .limits(KeyBy::Caller, &tokens)
            .layer(answer);
        group.bench_function(format!("{name}_requests_and_tokens"), |b| {
            b.to_async(&runtime)
                .iter(|| limited.clone().oneshot(request()));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
