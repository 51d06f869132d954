//! Both fronts as an axum `Router`, to merge into an application's own.

use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use crate::GatewayFront;

/// The paths the router serves: OpenAI's, MLflow's, and `/health`.
const PATHS: &[&str] = &[
    "/health",
    "/v1/models",
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/api/2.0/endpoints",
    "/api/2.0/endpoints/",
    "/api/2.0/endpoints/{name}",
    "/endpoints/{name}/invocations",
    "/gateway/{name}/invocations",
];

/// An axum `Router` that serves OpenAI's API, MLflow's API and `/health`
/// over `gateway` (see [`GatewayFront`]).
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
    let front = GatewayFront::new(gateway).max_body_bytes(max_body_bytes);
    let service = tower::ServiceExt::<http::Request<axum::body::Body>>::map_response(
        front,
        |response: http::Response<crate::ResponseBody>| response.map(axum::body::Body::new),
    );
    PATHS.iter().fold(axum::Router::new(), |router, path| {
        router.route_service(path, service.clone())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tower::{ServiceExt, service_fn};
    use towergate_core::Payload;

    use super::*;

    #[tokio::test]
    async fn serves_both_apis_beside_the_app() {
        let gateway = service_fn(|_request: GatewayRequest| async {
            Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
        });
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "my app" }))
            .merge(router(gateway, 1 << 20));
        for (path, status) in [
            ("/", 200),
            ("/health", 200),
            ("/v1/models", 200),
            ("/api/2.0/endpoints/", 200),
            ("/api/2.0/endpoints", 200),
            ("/api/2.0/endpoints/chat", 404),
            ("/endpoints/chat/invocations", 405),
            ("/gateway/chat/invocations", 405),
        ] {
            let request = http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }
}
