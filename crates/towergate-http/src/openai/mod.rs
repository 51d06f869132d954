//! The OpenAI front: OpenAI's REST API over any `Service<GatewayRequest>`.
//!
//! | method | path | operation |
//! |---|---|---|
//! | `POST` | `/v1/chat/completions` | chat (SSE when `stream: true`) |
//! | `POST` | `/v1/completions` | text completion (SSE when `stream: true`) |
//! | `POST` | `/v1/embeddings` | embeddings |
//! | `GET` | `/v1/models` | the endpoints and routes the caller may use |
//! | `GET` | `/health` | liveness |
//!
//! `model` names the endpoint or route. Errors come in OpenAI's shape,
//! `{"error": {"message", "type", "param", "code"}}`, with the status of
//! their [`ErrorKind`](towergate_core::ErrorKind). Every answer carries
//! `x-request-id`.
//!
//! ```
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceExt, service_fn};
//! use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};
//! use towergate_http::openai::OpenAiFront;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let gateway = service_fn(|request: GatewayRequest| async move {
//!     Err::<GatewayResponse, _>(GatewayError::not_found(format!(
//!         "endpoint `{}` does not exist",
//!         request.endpoint
//!     )))
//! });
//! let front = OpenAiFront::new(gateway).max_body_bytes(1 << 20);
//!
//! let request = http::Request::post("/v1/chat/completions")
//!     .body(Full::new(bytes::Bytes::from(
//!         r#"{"model":"nope","messages":[{"role":"user","content":"hi"}]}"#,
//!     )))
//!     .unwrap();
//! let response = front.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 404);
//! assert!(response.headers().contains_key("x-request-id"));
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert!(std::str::from_utf8(&body).unwrap().contains("`nope` does not exist"));
//! # }
//! ```

mod models;
mod respond;

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{Method, Request, Response};
use http_body::Body;
use tower::{Layer, ServiceExt};
use tower_service::Service;
use towergate_core::{
    BoxError, GatewayError, GatewayRequest, GatewayResponse, Operation, chat::ChatRequest,
    completion::CompletionRequest, embeddings::EmbeddingsRequest,
};

use crate::{
    body::ResponseBody,
    decode, listing,
    reply::{self, FrontFuture, Served},
    request_id,
    stack::{GatewayStack, RequestBody},
};

/// The default largest request body: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug)]
struct Settings {
    max_body_bytes: usize,
}

/// Serves OpenAI's REST API over an inner `Service<GatewayRequest>`.
#[derive(Debug, Clone)]
pub struct OpenAiFront<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> OpenAiFront<S> {
    /// A front over `inner` with the default body limit.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            settings: Arc::new(Settings {
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            }),
        }
    }

    /// Refuses request bodies longer than `limit` bytes with 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.settings = Arc::new(Settings {
            max_body_bytes: limit,
        });
        self
    }

    /// A layer that wraps services in this front.
    pub fn layer() -> OpenAiFrontLayer {
        OpenAiFrontLayer::new()
    }
}

/// Wraps a `Service<GatewayRequest>` in an [`OpenAiFront`].
#[derive(Debug, Clone)]
pub struct OpenAiFrontLayer {
    max_body_bytes: usize,
}

impl OpenAiFrontLayer {
    /// A layer with the default body limit.
    pub fn new() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Refuses request bodies longer than `limit` bytes with 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }
}

impl Default for OpenAiFrontLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for OpenAiFrontLayer {
    type Service = OpenAiFront<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OpenAiFront::new(inner).max_body_bytes(self.max_body_bytes)
    }
}

impl<S: GatewayStack, B: RequestBody> Service<Request<B>> for OpenAiFront<S> {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = FrontFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        let settings = self.settings.clone();
        Box::pin(async move { Ok(handle(inner, &settings, request).await) })
    }
}

/// What a request asks for, by method and path.
enum Route {
    Health,
    Models,
    Chat,
    Completions,
    Embeddings,
}

fn route(method: &Method, path: &str) -> Result<Route, GatewayError> {
    let (route, allowed) = match path {
        "/health" => (Route::Health, Method::GET),
        "/v1/models" => (Route::Models, Method::GET),
        "/v1/chat/completions" => (Route::Chat, Method::POST),
        "/v1/completions" => (Route::Completions, Method::POST),
        "/v1/embeddings" => (Route::Embeddings, Method::POST),
        _ => return Err(GatewayError::not_found(format!("no such path: `{path}`"))),
    };
    if *method != allowed {
        return Err(GatewayError::new(
            towergate_core::ErrorKind::MethodNotAllowed,
            format!("`{path}` takes {allowed}, not {method}"),
        ));
    }
    Ok(route)
}

async fn handle<S, B>(inner: S, settings: &Settings, request: Request<B>) -> Response<ResponseBody>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
    B: Body,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let request_id = request_id::from_headers(request.headers());
    let (parts, body) = request.into_parts();
    let result = match route(&parts.method, parts.uri.path()) {
        Ok(Route::Health) => Ok(reply::health()),
        Ok(Route::Models) => match listing::fetch(inner, parts.headers, &request_id, None).await {
            Ok(endpoints) => models::respond(&endpoints),
            Err(error) => Err(error),
        },
        Ok(route) => {
            match decode_operation(route, &parts.headers, body, settings.max_body_bytes).await {
                Ok((endpoint, operation)) => {
                    let include_usage = reply::wants_stream_usage(&operation);
                    let request = GatewayRequest {
                        endpoint,
                        operation,
                        request_id: request_id.clone(),
                        headers: parts.headers,
                        extensions: Default::default(),
                    };
                    match inner.oneshot(request).await {
                        Ok(response) => respond::answer(response, include_usage),
                        Err(error) => Err(error),
                    }
                }
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    let response = result.unwrap_or_else(|error| {
        tracing::debug!(%error, request_id = %request_id, "request refused");
        crate::error::openai_error_response(&error)
    });
    Served {
        method: &parts.method,
        path: parts.uri.path(),
        request_id: &request_id,
        started,
    }
    .finish(response)
}

fn endpoint_name(model: &Option<String>) -> Result<String, GatewayError> {
    match model.as_deref() {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(
            GatewayError::invalid("missing `model`: name the endpoint or route to call")
                .with_param("model"),
        ),
    }
}

async fn decode_operation<B>(
    route: Route,
    headers: &http::HeaderMap,
    body: B,
    limit: usize,
) -> Result<(String, Operation), GatewayError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let bytes = decode::read_body(headers, body, limit).await?;
    match route {
        Route::Chat => {
            let chat: ChatRequest = decode::parse_json(&bytes)?;
            Ok((endpoint_name(&chat.model)?, Operation::Chat(chat)))
        }
        Route::Completions => {
            let completion: CompletionRequest = decode::parse_json(&bytes)?;
            Ok((
                endpoint_name(&completion.model)?,
                Operation::Completion(completion),
            ))
        }
        Route::Embeddings => {
            let embeddings: EmbeddingsRequest = decode::parse_json(&bytes)?;
            Ok((
                endpoint_name(&embeddings.model)?,
                Operation::Embeddings(embeddings),
            ))
        }
        Route::Health | Route::Models => Err(GatewayError::internal("not a model call")),
    }
}
