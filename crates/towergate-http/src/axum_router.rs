//! The OpenAI front as an axum `Router`, to merge into an application's own.

use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use crate::openai::OpenAiFront;

/// An axum `Router` that serves OpenAI's API (and `/health`) over `gateway`.
///
/// Merge it into an application's router, or nest it under a prefix.
///
/// ```
/// use tower::service_fn;
/// use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};
///
/// let gateway = service_fn(|request: GatewayRequest| async move {
///     Err::<GatewayResponse, _>(GatewayError::not_found(request.endpoint))
/// });
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "my app" }))
///     .merge(towergate_http::router(gateway, 4 << 20));
/// # let _ = app;
/// ```
pub fn router<S>(gateway: S, max_body_bytes: usize) -> axum::Router
where
    S: tower_service::Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let front = OpenAiFront::new(gateway).max_body_bytes(max_body_bytes);
    let service = tower::ServiceExt::<http::Request<axum::body::Body>>::map_response(
        front,
        |response: http::Response<crate::ResponseBody>| response.map(axum::body::Body::new),
    );
    [
        "/health",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
    ]
    .into_iter()
    .fold(axum::Router::new(), |router, path| {
        router.route_service(path, service.clone())
    })
}
