//! The MLflow front: MLflow AI Gateway's REST API over any `Service<GatewayRequest>`.
//!
//! | method | path | answer |
//! |---|---|---|
//! | `GET` | `/health` | `{"status": "OK"}` |
//! | `GET` | `/api/2.0/endpoints/` | a page of endpoints (`page_token` / `next_page_token`) |
//! | `GET` | `/api/2.0/endpoints/{name}` | one endpoint |
//! | `POST` | `/endpoints/{name}/invocations` | a chat, completion or embeddings call |
//! | `POST` | `/gateway/{name}/invocations` | the same |
//!
//! The listing shows endpoints only, as MLflow does; routes (traffic splits)
//! are invoked like endpoints. An endpoint is
//! `{"name", "endpoint_type", "model": {"name", "provider"}, "endpoint_url", "limit"}`,
//! with `limit` `{"calls", "key", "renewal_period"}` or `null`. Pages hold
//! 100 endpoints unless set otherwise; `next_page_token` is `null` on the
//! last page, and otherwise passed back as `?page_token=` for the next.
//!
//! An invocation's body is read by the type of the endpoint it names, with
//! MLflow's rules: a body that is not JSON, lacks a field, has one of the
//! wrong type or out of MLflow's bounds (`temperature`, `top_p`, `n`, …),
//! has empty `messages`, or names a `model` is refused with 422.
//! `"stream": true` answers with server-sent events, one `data: {chunk}` per
//! chunk, ending in `data: [DONE]`; as in MLflow, the last chunk carries
//! `usage` unless `stream_options.include_usage` is `false`.
//!
//! Errors are `{"detail": …}` with the status of their
//! [`ErrorKind`](towergate_core::ErrorKind); 422s carry a list of
//! `{"type", "loc", "msg"}` as pydantic does; a rate-limit refusal is
//! MLflow's `{"error": "Rate limit exceeded: …"}` with `Retry-After`. Every
//! answer carries `x-request-id`, and complete answers the `x-towergate-*`
//! headers.
//!
//! ```
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceExt, service_fn};
//! use towergate_core::{
//!     EndpointInfo, EndpointKind, EndpointType, GatewayError, GatewayRequest, GatewayResponse,
//!     Operation, Payload, embeddings::{Embedding, EmbeddingsResponse, Vector},
//! };
//! use towergate_http::mlflow::MlflowFront;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let gateway = service_fn(|request: GatewayRequest| async move {
//!     let payload = match request.operation {
//!         Operation::ListEndpoints => Payload::Endpoints(vec![EndpointInfo {
//!             name: "embed".into(),
//!             kind: EndpointKind::Endpoint,
//!             endpoint_type: EndpointType::Embeddings,
//!             provider: Some("openai".into()),
//!             model: Some("text-embedding-3-small".into()),
//!             limit: None,
//!         }]),
//!         Operation::Embeddings(_) => Payload::Embeddings(EmbeddingsResponse {
//!             object: "list".into(),
//!             data: vec![Embedding { object: "embedding".into(), index: 0, embedding: Vector::Float(vec![0.5]) }],
//!             model: "text-embedding-3-small".into(),
//!             usage: None,
//!             extra: Default::default(),
//!         }),
//!         _ => return Err(GatewayError::internal("not in this example")),
//!     };
//!     Ok::<_, GatewayError>(GatewayResponse::new(payload))
//! });
//! let front = MlflowFront::new(gateway).max_body_bytes(1 << 20);
//!
//! let call = |path: &str, body: &'static str| {
//!     http::Request::post(path).body(Full::new(bytes::Bytes::from(body))).unwrap()
//! };
//! let response = front.clone().oneshot(call("/endpoints/embed/invocations", r#"{"input":"hi"}"#)).await.unwrap();
//! assert_eq!(response.status(), 200);
//! assert!(response.headers().contains_key("x-request-id"));
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert!(std::str::from_utf8(&body).unwrap().contains(r#""embedding":[0.5]"#));
//!
//! let response = front.oneshot(call("/gateway/embed/invocations", r#"{"input":"hi","model":"x"}"#)).await.unwrap();
//! assert_eq!(response.status(), 422);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert!(std::str::from_utf8(&body).unwrap().starts_with(r#"{"detail":"The parameter 'model'"#));
//! # }
//! ```

mod endpoints;
mod invocation;
mod prompts;
mod refusal;
mod respond;
mod route;
mod validation;

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{Request, Response};
use http_body::Body;
use tower::Layer;
use tower_service::Service;
use towergate_core::{BoxError, GatewayError, GatewayRequest, GatewayResponse};

use crate::{
    body::ResponseBody,
    listing,
    openai::DEFAULT_MAX_BODY_BYTES,
    prompts::PromptCatalog,
    reply::{self, FrontFuture, Served},
    request_id,
    stack::{GatewayStack, RequestBody},
};
use refusal::Refusal;
use route::Route;

/// The default number of endpoints in one page of `GET /api/2.0/endpoints/`.
pub const DEFAULT_PAGE_SIZE: usize = 100;

#[derive(Debug, Clone)]
struct Settings {
    max_body_bytes: usize,
    page_size: usize,
    prompts: Option<Arc<dyn PromptCatalog>>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            page_size: DEFAULT_PAGE_SIZE,
            prompts: None,
        }
    }
}

/// Serves MLflow AI Gateway's REST API over an inner `Service<GatewayRequest>`.
#[derive(Debug, Clone)]
pub struct MlflowFront<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> MlflowFront<S> {
    /// A front over `inner` with the default body limit and page size.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            settings: Arc::new(Settings::default()),
        }
    }

    /// Refuses request bodies longer than `limit` bytes with 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.settings).max_body_bytes = limit;
        self
    }

    /// Lists endpoints `size` at a time (at least one).
    pub fn page_size(mut self, size: usize) -> Self {
        Arc::make_mut(&mut self.settings).page_size = size.max(1);
        self
    }

    /// Lists the prompt templates of `catalog` at `GET /api/2.0/prompts/`
    /// and `GET /api/2.0/prompts/{name}` (none without one).
    pub fn prompts(mut self, catalog: Arc<dyn PromptCatalog>) -> Self {
        Arc::make_mut(&mut self.settings).prompts = Some(catalog);
        self
    }

    /// A layer that wraps services in this front.
    pub fn layer() -> MlflowFrontLayer {
        MlflowFrontLayer::new()
    }
}

/// Wraps a `Service<GatewayRequest>` in an [`MlflowFront`].
#[derive(Debug, Clone, Default)]
pub struct MlflowFrontLayer {
    settings: Settings,
}

impl MlflowFrontLayer {
    /// A layer with the default body limit and page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses request bodies longer than `limit` bytes with 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.settings.max_body_bytes = limit;
        self
    }

    /// Lists endpoints `size` at a time (at least one).
    pub fn page_size(mut self, size: usize) -> Self {
        self.settings.page_size = size.max(1);
        self
    }
}

impl<S> Layer<S> for MlflowFrontLayer {
    type Service = MlflowFront<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MlflowFront {
            inner,
            settings: Arc::new(self.settings.clone()),
        }
    }
}

impl<S: GatewayStack, B: RequestBody> Service<Request<B>> for MlflowFront<S> {
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

async fn handle<S, B>(inner: S, settings: &Settings, request: Request<B>) -> Response<ResponseBody>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
    B: Body,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let request_id = request_id::from_headers(request.headers());
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let result = match Route::of(&parts.method, path) {
        Ok(Route::Health) => Ok(reply::health()),
        Ok(Route::List) => match endpoints::page_offset(parts.uri.query()) {
            Ok(offset) => listing::fetch(inner, parts.headers, &request_id, None)
                .await
                .and_then(|all| endpoints::page(&all, offset, settings.page_size))
                .map_err(Refusal::from),
            Err(error) => Err(error.into()),
        },
        Ok(Route::Get(name)) => listing::fetch(inner, parts.headers, &request_id, Some(name))
            .await
            .and_then(|all| endpoints::one(&all, name))
            .map_err(Refusal::from),
        Ok(Route::Prompts) => prompts::list(inner, settings, parts.headers, &request_id)
            .await
            .map_err(Refusal::from),
        Ok(Route::Prompt(name)) => prompts::one(inner, settings, parts.headers, &request_id, name)
            .await
            .map_err(Refusal::from),
        Ok(Route::Invoke(name)) => {
            let limit = settings.max_body_bytes;
            invocation::invoke(inner, name, parts.headers, body, &request_id, limit).await
        }
        Err(error) => Err(error.into()),
    };
    let response = result.unwrap_or_else(|refusal| {
        tracing::debug!(%refusal, request_id = %request_id, "request refused");
        refusal.into_response()
    });
    Served {
        method: &parts.method,
        path,
        request_id: &request_id,
        started,
    }
    .finish(response)
}

#[cfg(test)]
mod tests;
