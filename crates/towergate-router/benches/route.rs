//! The cost of routing one request: look its endpoint up in the current
//! table and hand it to that endpoint's service.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use tower::{ServiceExt, service_fn};
use towergate_core::{
    EndpointInfo, EndpointKind, EndpointType, GatewayError, GatewayRequest, GatewayResponse,
    Operation, Payload, chat::ChatRequest,
};
use towergate_router::{EndpointTable, Router};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let mut table = EndpointTable::new();
    for i in 0..1000 {
        let info = EndpointInfo {
            name: format!("endpoint-{i}"),
            kind: EndpointKind::Endpoint,
            endpoint_type: EndpointType::Chat,
            provider: None,
            model: None,
            limit: None,
        };
        table.insert(info, answer);
    }
    let router = Router::new(table);
    let mut group = c.benchmark_group("router");
    group.bench_function("route_among_1000", |b| {
        b.to_async(&runtime).iter(|| {
            let request =
                GatewayRequest::new("endpoint-500", Operation::Chat(ChatRequest::default()));
            router.clone().oneshot(request)
        });
    });
    group.bench_function("direct_baseline", |b| {
        b.to_async(&runtime).iter(|| {
            let request =
                GatewayRequest::new("endpoint-500", Operation::Chat(ChatRequest::default()));
            answer.oneshot(request)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
