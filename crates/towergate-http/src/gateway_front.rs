//! Both fronts on one port: OpenAI's API under `/v1/`, MLflow's everywhere else.

use std::{
    convert::Infallible,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower::Layer;
use tower_service::Service;

use crate::{
    body::ResponseBody,
    mlflow::MlflowFront,
    openai::OpenAiFront,
    reply::FrontFuture,
    stack::{GatewayStack, RequestBody},
};

/// Serves OpenAI's and MLflow's APIs over one inner `Service<GatewayRequest>`.
///
/// A path under `/v1/` goes to the [`OpenAiFront`]; every other path
/// (`/health`, `/api/2.0/…`, `/endpoints/…`, `/gateway/…`, and unknown paths,
/// answered 404 in MLflow's shape) goes to the [`MlflowFront`].
///
/// ```
/// use http_body_util::Full;
/// use tower::{ServiceExt, service_fn};
/// use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Payload};
/// use towergate_http::GatewayFront;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let gateway = service_fn(|_request: GatewayRequest| async move {
///     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
/// });
/// let front = GatewayFront::new(gateway).max_body_bytes(1 << 20);
/// for path in ["/health", "/v1/models", "/api/2.0/endpoints/"] {
///     let request = http::Request::get(path).body(Full::new(bytes::Bytes::new())).unwrap();
///     let response = front.clone().oneshot(request).await.unwrap();
///     assert_eq!(response.status(), 200, "{path}");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct GatewayFront<S> {
    openai: OpenAiFront<S>,
    mlflow: MlflowFront<S>,
}

impl<S: Clone> GatewayFront<S> {
    /// Both fronts over `inner`, with their default settings.
    pub fn new(inner: S) -> Self {
        Self {
            openai: OpenAiFront::new(inner.clone()),
            mlflow: MlflowFront::new(inner),
        }
    }
}

impl<S> GatewayFront<S> {
    /// Refuses request bodies longer than `limit` bytes with 413, on both APIs.
    pub fn max_body_bytes(self, limit: usize) -> Self {
        Self {
            openai: self.openai.max_body_bytes(limit),
            mlflow: self.mlflow.max_body_bytes(limit),
        }
    }

    /// Lists MLflow endpoints `size` at a time.
    pub fn page_size(self, size: usize) -> Self {
        Self {
            mlflow: self.mlflow.page_size(size),
            ..self
        }
    }

    /// Lists the prompt templates of `catalog` on MLflow's API, at
    /// `GET /api/2.0/prompts/` and `GET /api/2.0/prompts/{name}`.
    pub fn prompts(self, catalog: std::sync::Arc<dyn crate::PromptCatalog>) -> Self {
        Self {
            mlflow: self.mlflow.prompts(catalog),
            ..self
        }
    }

    /// A layer that wraps services in this front.
    pub fn layer() -> GatewayFrontLayer {
        GatewayFrontLayer::default()
    }
}

/// Wraps a `Service<GatewayRequest>` in a [`GatewayFront`].
#[derive(Debug, Clone, Default)]
pub struct GatewayFrontLayer {
    max_body_bytes: Option<usize>,
    page_size: Option<usize>,
}

impl GatewayFrontLayer {
    /// A layer with the default body limit and page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses request bodies longer than `limit` bytes with 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = Some(limit);
        self
    }

    /// Lists MLflow endpoints `size` at a time.
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size);
        self
    }
}

impl<S: Clone> Layer<S> for GatewayFrontLayer {
    type Service = GatewayFront<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let mut front = GatewayFront::new(inner);
        if let Some(limit) = self.max_body_bytes {
            front = front.max_body_bytes(limit);
        }
        if let Some(size) = self.page_size {
            front = front.page_size(size);
        }
        front
    }
}

/// Whether `path` belongs to OpenAI's API.
fn is_openai(path: &str) -> bool {
    path.starts_with("/v1/") || path == "/v1"
}

impl<S: GatewayStack, B: RequestBody> Service<Request<B>> for GatewayFront<S> {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = FrontFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if is_openai(request.uri().path()) {
            self.openai.call(request)
        } else {
            self.mlflow.call(request)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use http_body_util::{BodyExt, Full};
    use serde_json::{Value, json};
    use tower::{ServiceExt, service_fn};
    use towergate_core::{
        EndpointInfo, EndpointKind, EndpointType, GatewayError, GatewayRequest, GatewayResponse,
        Payload,
    };

    use super::*;

    fn front()
    -> GatewayFront<tower::util::BoxCloneService<GatewayRequest, GatewayResponse, GatewayError>>
    {
        let gateway = service_fn(|request: GatewayRequest| async move {
            match request.operation {
                towergate_core::Operation::ListEndpoints => {
                    Ok(GatewayResponse::new(Payload::Endpoints(vec![
                        EndpointInfo {
                            name: "chat".into(),
                            kind: EndpointKind::Endpoint,
                            endpoint_type: EndpointType::Chat,
                            provider: Some("openai".into()),
                            model: Some("gpt-4o-mini".into()),
                            limit: None,
                        },
                    ])))
                }
                _ => Err(GatewayError::not_found(format!(
                    "endpoint `{}` does not exist",
                    request.endpoint
                ))),
            }
        });
        GatewayFront::new(tower::util::BoxCloneService::new(gateway))
            .max_body_bytes(1 << 10)
            .page_size(1)
    }

    async fn send(method: http::Method, path: &str, body: &str) -> (u16, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Full::new(bytes::Bytes::from(body.to_owned())))
            .unwrap();
        let response = front().oneshot(request).await.unwrap();
        assert!(response.headers().contains_key("x-request-id"));
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn each_api_answers_in_its_own_shape() {
        let get = http::Method::GET;
        let post = http::Method::POST;
        let (status, body) = send(get.clone(), "/health", "").await;
        assert_eq!((status, body), (200, json!({"status": "OK"})));

        let (status, body) = send(get.clone(), "/v1/models", "").await;
        assert_eq!(status, 200);
        assert_eq!(body["data"][0]["id"], "chat");
        let (status, body) = send(get.clone(), "/api/2.0/endpoints/", "").await;
        assert_eq!(status, 200);
        assert_eq!(body["endpoints"][0]["name"], "chat");

        let chat = r#"{"model":"nope","messages":[{"role":"user","content":"hi"}]}"#;
        let (status, body) = send(post.clone(), "/v1/chat/completions", chat).await;
        assert_eq!(status, 404);
        assert!(body["error"]["message"].is_string());
        let chat = r#"{"messages":[{"role":"user","content":"hi"}]}"#;
        let (status, body) = send(post.clone(), "/gateway/nope/invocations", chat).await;
        assert_eq!(status, 404);
        assert!(body["detail"].is_string());

        let (status, body) = send(get.clone(), "/v1/nothing", "").await;
        assert_eq!(status, 404);
        assert!(body["error"].is_object());
        let (status, body) = send(get, "/nothing", "").await;
        assert_eq!(status, 404);
        assert!(body["detail"].is_string());
    }

    #[tokio::test]
    async fn the_body_limit_applies_to_both() {
        let big = "x".repeat(2000);
        let (status, body) = send(http::Method::POST, "/v1/embeddings", &big).await;
        assert_eq!(status, 413);
        assert!(body["error"]["message"].is_string());
        let (status, body) = send(http::Method::POST, "/endpoints/chat/invocations", &big).await;
        assert_eq!(status, 413);
        assert!(body["detail"].is_string());
    }
}
