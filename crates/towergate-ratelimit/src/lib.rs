//! Rate limits for towergate.
//!
//! [`CallLimitLayer`] enforces MLflow AI Gateway's per-endpoint `limit`:
//! `calls` per `renewal_period`, for all callers together. It is a GCRA
//! (generic cell rate algorithm, from [`governor`]): a burst of up to
//! `calls` is admitted at once, and capacity comes back evenly over the
//! period, one call every `period / calls`. The decision is one atomic
//! compare-and-swap on shared state, so under any concurrency no more than
//! the limit is admitted (MLflow's gateway keeps a counter per worker
//! process, and so admits up to `workers × calls`).
//!
//! The limiter lives in a [`LimitStore`] rather than in the layer, so a
//! config reload that rebuilds the stack keeps the counts already spent.
//!
//! ```
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
//! use towergate_ratelimit::{CallLimit, LimitStore, RenewalPeriod};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = LimitStore::new();
//! let limit = CallLimit::new(2, RenewalPeriod::Minute).unwrap();
//! let layer = store.layer("chat", limit);
//! let service = layer.layer(service_fn(|_request: GatewayRequest| async {
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! }));
//!
//! for _ in 0..2 {
//!     let request = GatewayRequest::new("chat", Operation::ListEndpoints);
//!     assert!(service.clone().oneshot(request).await.is_ok());
//! }
//! let request = GatewayRequest::new("chat", Operation::ListEndpoints);
//! let refused = service.oneshot(request).await.unwrap_err();
//! assert_eq!(refused.kind(), ErrorKind::RateLimited);
//! assert_eq!(refused.message(), "Rate limit exceeded: 2 per 1 minute");
//! assert!(refused.retry_after().is_some());
//! # }
//! ```

mod call_limit;
pub mod future;
mod store;

pub use call_limit::{CallLimit, CallLimitError, CallLimitLayer, CallLimited, RenewalPeriod};
pub use store::LimitStore;
