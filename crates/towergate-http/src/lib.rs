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
//! - [`mlflow::MlflowFront`]: MLflow AI Gateway's REST API
//!   (`/api/2.0/endpoints/`, `/endpoints/{name}/invocations`,
//!   `/gateway/{name}/invocations`) and `/health`.
//! - [`GatewayFront`]: both on one port, by path prefix.
//! - [`router`] (feature `axum`): both as an axum `Router`.
//!
//! Serve a front with hyper, or with axum through [`router`].

mod body;
mod decode;
pub mod error;
mod gateway_front;
pub mod headers;
mod listing;
pub mod mlflow;
pub mod openai;
mod prompts;
mod reply;
mod request_id;
pub mod sse;
mod stack;

#[cfg(feature = "axum")]
mod axum_router;

#[cfg(feature = "axum")]
pub use axum_router::router;
pub use body::ResponseBody;
pub use gateway_front::{GatewayFront, GatewayFrontLayer};
pub use prompts::PromptCatalog;
pub use request_id::X_REQUEST_ID;
pub use stack::{GatewayStack, RequestBody};
