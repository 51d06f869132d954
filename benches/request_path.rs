#![allow(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! The in-process request path: decode an OpenAI request, route it, answer
//! from the in-process mock provider, encode the answer. No sockets, so it
//! measures towergate's own overhead per request.

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use towergate::{
    config::Config,
    core::{GatewayRequest, Operation},
    gateway::Gateway,
};

const CONFIG: &str = r#"
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: mock, name: echo}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {provider: mock, name: echo}
"#;

const CHAT: &str = r#"{"model":"chat","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the capital of France? Answer in one word."}],"temperature":0.2,"max_tokens":16}"#;
const STREAM: &str = r#"{"model":"chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Count to ten please"}]}"#;
const EMBED: &str = r#"{"model":"embed","input":["first sentence","second sentence"]}"#;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config::from_str_with_env(CONFIG, "bench.yaml", |_| None).unwrap();
    let gateway = Gateway::from_config(&config).unwrap();
    let front = gateway.front();

    let mut group = c.benchmark_group("request_path");
    group.throughput(Throughput::Elements(1));
    for (name, path, body) in [
        ("chat", "/v1/chat/completions", CHAT),
        ("chat_stream", "/v1/chat/completions", STREAM),
        ("embeddings", "/v1/embeddings", EMBED),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let front = front.clone();
                async move {
                    let request = http::Request::post(path)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(body.as_bytes())))
                        .unwrap();
                    let response = front.oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.into_body().collect().await.unwrap().to_bytes()
                }
            });
        });
    }
    // The provider alone, on a request already typed: what the path adds is
    // the difference to `chat`.
    let typed: towergate::core::chat::ChatRequest = serde_json::from_str(CHAT).unwrap();
    let provider = towergate_testkit::MockProvider::new().model("echo");
    group.bench_function("chat_provider_only", |b| {
        b.to_async(&runtime).iter(|| {
            let provider = provider.clone();
            let request = GatewayRequest::new("chat", Operation::Chat(typed.clone()));
            async move { provider.oneshot(request).await.unwrap() }
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
