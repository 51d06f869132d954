//! The cost of rendering a template per request: a two-message template
//! with three variables, next to calling the service directly.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tower::{Layer, ServiceExt, service_fn};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
use towergate_template::{PromptLibrary, PromptSelection, PromptSpec, TemplateLayer};

fn library() -> PromptLibrary {
    let spec: PromptSpec = serde_json::from_value(serde_json::json!({
        "name": "summarize",
        "versions": [
            {"version": 1, "messages": [
                {"role": "system", "content": "You summarize {{ genre }} texts."},
                {"role": "user", "content": "Summarize in {{ words }} words: {{ text }}"}
            ]},
            {"version": 2, "messages": [
                {"role": "system", "content": "You are an editor of {{ genre }} texts."},
                {"role": "user", "content": "In at most {{ words }} words, summarize: {{ text }}"}
            ]}
        ]
    }))
    .unwrap();
    PromptLibrary::new([spec]).unwrap()
}

fn request(variables: bool) -> GatewayRequest {
    let mut body = serde_json::json!({
        "messages": [{"role": "user", "content": "Keep it short."}],
        "max_tokens": 200
    });
    if variables {
        body["prompt_variables"] = serde_json::json!({
            "genre": "legal",
            "words": 40,
            "text": "The parties agree that the lease ends on the last day of the month."
        });
    }
    let chat = serde_json::from_value(body).unwrap();
    GatewayRequest::new("chat", Operation::Chat(chat))
        .with_request_id(towergate_core::RequestId::new("req-0001"))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = service_fn(|_request: GatewayRequest| async {
        Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
    });
    let library = library();

    let mut group = c.benchmark_group("template");
    group.bench_function("direct_baseline", |b| {
        b.to_async(&runtime).iter_batched(
            || request(false),
            |request| answer.oneshot(request),
            BatchSize::SmallInput,
        );
    });
    let pinned = TemplateLayer::new(library.clone(), PromptSelection::pinned("summarize", 1))
        .unwrap()
        .layer(answer);
    group.bench_function("render_pinned", |b| {
        b.to_async(&runtime).iter_batched(
            || request(true),
            |request| pinned.clone().oneshot(request),
            BatchSize::SmallInput,
        );
    });
    let split = TemplateLayer::new(
        library,
        PromptSelection::split("summarize", [(1, 50), (2, 50)]),
    )
    .unwrap()
    .layer(answer);
    group.bench_function("render_split", |b| {
        b.to_async(&runtime).iter_batched(
            || request(true),
            |request| split.clone().oneshot(request),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
