//! One reservation and its settlement, in memory and against a real Redis on loopback.
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use towergate_state::{Decision, MemoryQuotaStore, QuotaStore, RedisQuotaStore, Window};
use towergate_testkit::redis::RedisServer;

async fn reserve_and_settle(store: &dyn QuotaStore) {
    let decision = store
        .reserve("budget:team-a", Window::Month, 500, u64::MAX)
        .await
        .unwrap();
    if let Decision::Admitted(reservation) = decision {
        store
            .adjust("budget:team-a", reservation.span, -200)
            .await
            .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("quota_store");

    let memory: Arc<dyn QuotaStore> = Arc::new(MemoryQuotaStore::new());
    group.bench_function("memory_reserve_adjust", |b| {
        b.to_async(&runtime)
            .iter(|| reserve_and_settle(memory.as_ref()));
    });

    match RedisServer::try_start() {
        Ok(server) => {
            let redis: Arc<dyn QuotaStore> = runtime
                .block_on(async { RedisQuotaStore::open(&server.url()).map(Arc::new) })
                .unwrap();
            group.bench_function("redis_reserve_adjust", |b| {
                b.to_async(&runtime)
                    .iter(|| reserve_and_settle(redis.as_ref()));
            });
            drop(server);
        }
        Err(error) => eprintln!("skipping the Redis benchmark: {error}"),
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
