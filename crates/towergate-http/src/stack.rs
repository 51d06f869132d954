//! What a front can serve, and what it can read, named once.

use http_body::Body;
use tower_service::Service;
use towergate_core::{BoxError, GatewayError, GatewayRequest, GatewayResponse};

/// A gateway stack a front can serve: any cloneable
/// `Service<GatewayRequest>` whose future can move between threads.
pub trait GatewayStack:
    Service<
        GatewayRequest,
        Response = GatewayResponse,
        Error = GatewayError,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> GatewayStack for S where
    S: Service<
            GatewayRequest,
            Response = GatewayResponse,
            Error = GatewayError,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// A request body a front can read: hyper's, axum's, or any other.
pub trait RequestBody: Body<Data: Send, Error: Into<BoxError>> + Send + 'static {}

impl<B> RequestBody for B where B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static {}
