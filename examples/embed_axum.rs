//! Embedding towergate's layers in your own axum app.
//!
//! The app keeps its own routes and gains OpenAI's API in front of one
//! endpoint, `chat`, backed by OpenAI (or any OpenAI-compatible server set
//! with `OPENAI_API_BASE`), behind an API key:
//!
//! ```text
//! OPENAI_API_KEY=sk-... GATEWAY_KEY=let-me-in cargo run --example embed_axum --features axum
//! curl localhost:3000/v1/chat/completions -H 'authorization: Bearer let-me-in' \
//!   -H 'content-type: application/json' \
//!   -d '{"model":"chat","messages":[{"role":"user","content":"Hello"}]}'
//! ```

use std::time::Duration;

use tower::Layer;
use towergate::{
    core::{EndpointInfo, EndpointKind, EndpointType},
    guard::auth::{ApiKey, AuthLayer},
    providers::{HttpClient, openai::OpenAi},
    router::{EndpointTable, Router},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().init();

    // One pooled HTTP client for every provider.
    let client = HttpClient::new()?;
    let mut openai = OpenAi::builder("gpt-4o-mini")
        .api_key(std::env::var("OPENAI_API_KEY")?)
        .request_timeout(Duration::from_secs(120));
    if let Ok(base) = std::env::var("OPENAI_API_BASE") {
        openai = openai.api_base(base);
    }
    let openai = openai.build(&client)?;

    // The endpoint table: logical names callers use, re-pointable at run time.
    let info = EndpointInfo {
        name: "chat".into(),
        kind: EndpointKind::Endpoint,
        endpoint_type: EndpointType::Chat,
        provider: Some("openai".into()),
        model: Some("gpt-4o-mini".into()),
        limit: None,
    };
    let router = Router::new(EndpointTable::new().with_endpoint(info, openai));

    // Policy that spans endpoints sits above the router.
    let key = ApiKey::from_plaintext("my-app", std::env::var("GATEWAY_KEY")?, ["*"]);
    let gateway = AuthLayer::new([key]).layer(router);

    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { "my app, with an AI gateway inside" }),
        )
        .merge(towergate::http::router(gateway, 4 << 20));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
