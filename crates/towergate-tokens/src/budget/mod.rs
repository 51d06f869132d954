//! Per-caller spending caps: `auth.keys[].budget: {usd: 25.0, period: month}`.
//!
//! [`BudgetLayer`] reserves each request's worst-case cost from its
//! caller's budget before the request runs, and refuses it with 429
//! `budget_exceeded` when the reservation does not fit, without calling
//! the inner service. After the answer, the usage-accounting layer settles
//! the request (see [`towergate_core::settle`]) and the reservation is
//! replaced by the real cost. Spend is counted in micro-dollars in a
//! [`QuotaStore`](towergate_state::QuotaStore): in memory for one
//! instance, in Redis for several, which then share one budget exactly.
//!
//! Because reservations are atomic in the store and cover the worst case,
//! concurrent requests never spend more than the budget together (as long
//! as the estimate is an upper bound). A request with no
//! [`Caller`](towergate_core::Caller), or whose caller has no budget,
//! passes untouched.
//!
//! ```
//! use std::sync::Arc;
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{
//!     Caller, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, Usage,
//!     settle::{Settlements, Spent},
//! };
//! use towergate_state::MemoryQuotaStore;
//! use towergate_tokens::budget::{Budget, BudgetLayer, BudgetPeriod};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let layer = BudgetLayer::new(Arc::new(MemoryQuotaStore::new()))
//!     .budget("team-a", Budget::new(1.0, BudgetPeriod::Month))
//!     // At most $0.60 a request (a gateway derives this from tokens and prices).
//!     .estimate(|_request: &GatewayRequest| Some(0.60));
//! let service = layer.layer(service_fn(|request: GatewayRequest| async move {
//!     // What the accounting layer does once the real cost is known.
//!     if let Some(settlements) = request.extensions.get::<Settlements>() {
//!         settlements.settle(&Spent::new(Usage::new(10, 5), 0.60));
//!     }
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! }));
//!
//! let request = || {
//!     let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
//!     request.extensions.insert(Caller::new("team-a"));
//!     request
//! };
//! assert!(service.clone().oneshot(request()).await.is_ok());
//! let refused = service.oneshot(request()).await.unwrap_err();
//! assert_eq!(refused.kind(), ErrorKind::BudgetExceeded);
//! assert_eq!(refused.status().as_u16(), 429);
//! assert_eq!(
//!     refused.message(),
//!     "budget of team-a exceeded: $1.00 per month, $0.60 spent or reserved, \
//!      and this request may cost up to $0.60"
//! );
//! assert!(refused.retry_after().is_some());
//! # }
//! ```

mod config;
mod estimate;
mod layer;
mod reservation;

pub use config::{Budget, BudgetPeriod, OnStoreError};
pub use estimate::{CostEstimate, UnknownCost};
pub use layer::{BudgetLayer, Budgeted};
pub use reservation::BudgetReservation;
