//! The cost of authenticating one request: hash the presented key and
//! compare it with every configured key in constant time.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
use towergate_guard::auth::{ApiKey, AuthLayer};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let inner = service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let mut group = c.benchmark_group("auth");
    for keys in [1usize, 100] {
        let layer = AuthLayer::new(
            (0..keys)
                .map(|i| ApiKey::from_plaintext(format!("key-{i}"), format!("secret-{i}"), ["*"])),
        );
        let service = layer.layer(inner);
        let presented = format!("Bearer secret-{}", keys - 1);
        group.bench_function(format!("{keys}_keys"), |b| {
            b.to_async(&runtime).iter(|| {
                let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
                request
                    .headers
                    .insert("authorization", presented.parse().unwrap());
                service.clone().oneshot(request)
            });
        });
    }
    group.bench_function("no_auth_baseline", |b| {
        b.to_async(&runtime)
            .iter(|| inner.oneshot(GatewayRequest::new("chat", Operation::ListEndpoints)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
