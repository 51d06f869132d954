//! Asking the gateway stack which endpoints and routes the caller may use.

use http::HeaderMap;
use tower::ServiceExt;
use tower_service::Service;
use towergate_core::{
    EndpointInfo, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, RequestId,
};

/// Calls `inner` with [`Operation::ListEndpoints`] and the caller's headers
/// (so auth can filter the answer) and returns the endpoints it lists: all
/// of them, or only the one called `only`.
pub(crate) async fn fetch<S>(
    inner: S,
    headers: HeaderMap,
    request_id: &RequestId,
    only: Option<&str>,
) -> Result<Vec<EndpointInfo>, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    let request = GatewayRequest {
        endpoint: only.unwrap_or_default().to_owned(),
        operation: Operation::ListEndpoints,
        request_id: request_id.clone(),
        headers,
        extensions: Default::default(),
    };
    match inner.oneshot(request).await?.payload {
        Payload::Endpoints(endpoints) => Ok(endpoints),
        _ => Err(GatewayError::internal(
            "an endpoint listing was answered with something else",
        )),
    }
}
