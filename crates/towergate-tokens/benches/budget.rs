//! The per-request cost of BudgetLayer (reserve, call, settle) against the bare service.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{
    Caller, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, Usage,
    settle::{Settlements, Spent},
};
use towergate_state::{MemoryQuotaStore, QuotaStore, RedisQuotaStore};
use towergate_testkit::redis::RedisServer;
use towergate_tokens::budget::{Budget, BudgetLayer, BudgetPeriod};

fn request() -> GatewayRequest {
    let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
    request.extensions.insert(Caller::new("team-a"));
    request
}

/// Answers at once, settling as the accounting layer would.
async fn answer(request: GatewayRequest) -> Result<GatewayResponse, GatewayError> {
    if let Some(settlements) = request.extensions.get::<Settlements>() {
        settlements.settle(&Spent::new(Usage::new(100, 20), 0.0003));
    }
    Ok(GatewayResponse::new(Payload::Endpoints(Vec::new())))
}

fn layer(store: Arc<dyn QuotaStore>) -> BudgetLayer {
    BudgetLayer::new(store)
        .budget("team-a", Budget::new(1e9, BudgetPeriod::Month))
        .estimate(|_: &GatewayRequest| Some(0.0005))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let bare = service_fn(answer);
    let mut group = c.benchmark_group("budget");
    group.bench_function("bare_service_fn", |b| {
        b.to_async(&runtime).iter(|| bare.oneshot(request()));
    });

    let in_memory = layer(Arc::new(MemoryQuotaStore::new())).layer(bare);
    group.bench_function("memory_store", |b| {
        b.to_async(&runtime)
            .iter(|| in_memory.clone().oneshot(request()));
    });

    match RedisServer::try_start() {
        Ok(server) => {
            let store: Arc<dyn QuotaStore> = runtime
                .block_on(async { RedisQuotaStore::open(&server.url()).map(Arc::new) })
                .unwrap();
            let on_redis = layer(store).layer(bare);
            group.bench_function("redis_store", |b| {
                b.to_async(&runtime)
                    .iter(|| on_redis.clone().oneshot(request()));
            });
            drop(server);
        }
        Err(error) => eprintln!("skipping the Redis benchmark: {error}"),
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
