//! API-key authentication: who may call, and which endpoints they may use.
//!
//! [`AuthLayer`] wraps a service with [`Auth`], which reads the caller's key
//! from `Authorization: Bearer KEY` (the scheme in any case) or
//! `x-api-key: KEY`, and compares its SHA-256 digest with every configured
//! [`ApiKey`] in constant time. It then:
//!
//! - refuses a request without a key, or with an unknown key, with 401
//!   ([`ErrorKind::Unauthenticated`](towergate_core::ErrorKind::Unauthenticated));
//! - refuses a known key on an endpoint not in its list with 403
//!   ([`ErrorKind::Forbidden`](towergate_core::ErrorKind::Forbidden));
//! - otherwise inserts [`Caller`](towergate_core::Caller) (the key's name) into
//!   the request's extensions and calls the inner service.
//!
//! A listing ([`Operation::ListEndpoints`](towergate_core::Operation::ListEndpoints))
//! needs a valid key but no permission; its answer is filtered down to the
//! endpoints the key may use. The key itself never appears in an error or a
//! log line.
//!
//! ```
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{
//!     Caller, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
//! };
//! use towergate_guard::auth::{ApiKey, AuthLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let layer = AuthLayer::new([ApiKey::from_plaintext("team-a", "s3cret", ["chat"])]);
//! let service = layer.layer(service_fn(|request: GatewayRequest| async move {
//!     let caller = request.caller().map(Caller::name).unwrap_or("nobody").to_owned();
//!     assert_eq!(caller, "team-a");
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! }));
//!
//! let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
//! request.headers.insert("authorization", "Bearer s3cret".parse().unwrap());
//! assert!(service.clone().oneshot(request).await.is_ok());
//!
//! let request = GatewayRequest::new("chat", Operation::ListEndpoints);
//! let refused = service.oneshot(request).await.unwrap_err();
//! assert_eq!(refused.kind(), ErrorKind::Unauthenticated);
//! # }
//! ```

pub mod future;
mod key;
mod layer;
mod presented;
mod service;

pub use key::{ApiKey, ApiKeyError};
pub use layer::AuthLayer;
pub use service::Auth;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
