//! The HTTP fronts of towergate.
//!
//! A front is a `tower::Service<http::Request<B>>` over any
//! `Service<GatewayRequest>`: it decodes the wire once into a typed
//! [`GatewayRequest`](towergate_core::GatewayRequest), calls the gateway
//! stack, and encodes the answer: JSON for complete answers, server-sent
//! events for streams, and errors in the front's own shape.
//!
//! - [`openai::OpenAiFront`]: OpenAI's REST API (`/v1/chat/completions`,
//!   `/v1/completions`, `/v1/embeddings`, `/v1/models`) and `/health`.
//! - [`router`] (feature `axum`): the same front as an axum `Router`.
//!
//! Serve a front with hyper, or with axum through [`router`].

mod body;
mod decode;
pub mod error;
pub mod headers;
pub mod openai;
mod request_id;
pub mod sse;

#[cfg(feature = "axum")]
mod axum_router;

#[cfg(feature = "axum")]
pub use axum_router::router;
pub use body::ResponseBody;
pub use request_id::X_REQUEST_ID;
