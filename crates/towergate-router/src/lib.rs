//! The endpoint table: endpoint and route names to the services behind them.
//!
//! A [`Router`] is a `tower::Service<GatewayRequest>` that looks the
//! request's endpoint up in its [`EndpointTable`] and hands the request to
//! that endpoint's service. The table can be replaced at run time with
//! [`Router::swap`]: requests already routed keep the service they were
//! given, so a swap never drops a request in flight.
//!
//! ```
//! use tower::{ServiceExt, service_fn};
//! use towergate_core::{EndpointInfo, EndpointKind, EndpointType, ErrorKind, GatewayError,
//!     GatewayRequest, GatewayResponse, Operation, Payload};
//! use towergate_router::{EndpointTable, Router};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let info = EndpointInfo {
//!     name: "chat".into(),
//!     kind: EndpointKind::Endpoint,
//!     endpoint_type: EndpointType::Chat,
//!     provider: Some("mock".into()),
//!     model: Some("m".into()),
//!     limit: None,
//! };
//! let answer = service_fn(|_request: GatewayRequest| async {
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! });
//! let router = Router::new(EndpointTable::new().with_endpoint(info, answer));
//!
//! let listing = router.clone().oneshot(GatewayRequest::new("", Operation::ListEndpoints));
//! match listing.await.unwrap().payload {
//!     Payload::Endpoints(endpoints) => assert_eq!(endpoints[0].name, "chat"),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! router.swap(EndpointTable::new());
//! let chat = serde_json::from_str(r#"{"messages":[]}"#).unwrap();
//! let gone = router.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await;
//! assert_eq!(gone.unwrap_err().kind(), ErrorKind::NotFound);
//! # }
//! ```

mod future;
mod split;
mod table;

pub use future::ResponseFuture;
pub use split::{Destination, TrafficSplit};
pub use table::{BoxEndpoint, Endpoint, EndpointTable};

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use arc_swap::ArcSwap;
use tower::util::Oneshot;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};

/// Routes each request to the service of the endpoint it names.
///
/// Cheap to clone: every clone shares one table.
#[derive(Clone)]
pub struct Router {
    table: Arc<ArcSwap<EndpointTable>>,
}

impl Router {
    /// A router over `table`.
    pub fn new(table: EndpointTable) -> Self {
        Self {
            table: Arc::new(ArcSwap::from_pointee(table)),
        }
    }

    /// Replaces the table for every later request and returns the old one.
    ///
    /// Requests already routed keep the services they were given.
    pub fn swap(&self, table: EndpointTable) -> Arc<EndpointTable> {
        self.table.swap(Arc::new(table))
    }

    /// The table now in force.
    pub fn table(&self) -> Arc<EndpointTable> {
        self.table.load_full()
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("table", &*self.table.load())
            .finish()
    }
}

impl Service<GatewayRequest> for Router {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let table = self.table.load();
        if let Operation::ListEndpoints = request.operation {
            let infos = if request.endpoint.is_empty() {
                table.iter().map(|e| e.info().clone()).collect()
            } else {
                table
                    .get(&request.endpoint)
                    .map(|e| e.info().clone())
                    .into_iter()
                    .collect()
            };
            return ResponseFuture::ready(Ok(GatewayResponse::new(Payload::Endpoints(infos))));
        }
        let Some(endpoint) = table.get(&request.endpoint) else {
            return ResponseFuture::ready(Err(GatewayError::not_found(format!(
                "endpoint `{}` does not exist",
                request.endpoint
            ))
            .with_param("model")));
        };
        let served = endpoint.info().endpoint_type;
        if request.operation.endpoint_type() != Some(served) {
            return ResponseFuture::ready(Err(request.unsupported_by(served)));
        }
        let name = endpoint.info().name.clone();
        ResponseFuture::routed(Oneshot::new(endpoint.service().clone(), request), name)
    }
}

#[cfg(test)]
mod tests;
