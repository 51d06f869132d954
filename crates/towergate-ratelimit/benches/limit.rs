//! The cost of one `limit` check against calling the service directly.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
use towergate_ratelimit::{CallLimit, LimitStore, RenewalPeriod};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let limited = LimitStore::new()
        .layer(
            "chat",
            CallLimit::new(u32::MAX.into(), RenewalPeriod::Second).unwrap(),
        )
        .layer(answer);
    let mut group = c.benchmark_group("call_limit");
    group.bench_function("admitted", |b| {
        b.to_async(&runtime).iter(|| {
            limited
                .clone()
                .oneshot(GatewayRequest::new("chat", Operation::ListEndpoints))
        });
    });
    group.bench_function("direct_baseline", |b| {
        b.to_async(&runtime)
            .iter(|| answer.oneshot(GatewayRequest::new("chat", Operation::ListEndpoints)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
