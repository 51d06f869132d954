//! Request and token limits for towergate.
//!
//! [`RateLimitLayer`] limits requests and tokens per period, keyed by
//! caller (from auth), by endpoint, or by both ([`KeyBy`]). Each limit is a
//! GCRA, a leaky bucket: a burst of up to the limit is admitted at once,
//! and capacity comes back evenly over the period. Buckets live in a
//! [`RateStore`](towergate_state::RateStore): in memory (governor's keyed
//! state, pruned as buckets drain) for one process, or in Redis, where one
//! Lua script per decision makes every gateway instance sharing the server
//! admit exactly the limit together.
//!
//! **Tokens** are reserved before the call: the prompt, counted with the
//! model's tokenizer, plus `max_tokens` (or
//! [`DEFAULT_MAX_COMPLETION_TOKENS`](towergate_tokens::DEFAULT_MAX_COMPLETION_TOKENS)
//! when unset), times `n`. When the request's usage is final (its answer,
//! the end of its stream, a stream the client dropped, an error), the
//! reservation is settled through the request's
//! [`Settlements`](towergate_core::settle::Settlements): unused tokens go
//! back, tokens used beyond it are taken. Settlements run in the usage
//! accounting layer (`towergate_tokens::accounting`), which must sit above
//! this one; without it a reservation stays taken in full.
//!
//! **How far a token limit can be overshot.** Admission counts the
//! reservation, so while every answer stays within its `max_tokens` no
//! bucket goes past its limit. An answer can use more than was reserved
//! only when the prompt count is an estimate that fell short (models
//! whose tokenizer the gateway does not have; the estimate is raised by
//! 25% against that) or when the request set no `max_tokens` and its
//! answer ran past the default. Then only that request's excess goes past
//! the limit; it is taken from the bucket at settlement (up to a full
//! bucket), so the caller waits it out before the next request fits.
//!
//! Every answer of a limited request carries OpenAI's headers,
//! `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`,
//! `x-ratelimit-reset-requests` and the same three for tokens, for the
//! limit closest to refusing it. A refusal is 429 with `Retry-After` (none
//! when the request asks for more tokens than the limit ever allows).
//! When the store cannot answer, the layer refuses with 503 or admits
//! ([`OnStoreError`](towergate_tokens::budget::OnStoreError)), and either
//! way logs a warning and counts it in
//! [`store_errors`](RateLimitLayer::store_errors); calls to Redis are
//! bounded by a timeout, so a store that is down never hangs a request.
//!
//! ```
//! use std::sync::Arc;
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{Caller, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
//! use towergate_ratelimit::{KeyBy, Limits, RateLimitLayer};
//! use towergate_state::{MemoryRateStore, Rate};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limits = Limits::new().requests(Rate::per_minute(2).unwrap());
//! let layer = RateLimitLayer::new(Arc::new(MemoryRateStore::new())).limits(KeyBy::Caller, &limits);
//! let service = layer.layer(service_fn(|_request: GatewayRequest| async {
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! }));
//! let chat = || serde_json::from_value(serde_json::json!({"messages": []})).unwrap();
//! let request = |caller: &str| {
//!     let mut request = GatewayRequest::new("chat", Operation::Chat(chat()));
//!     request.extensions.insert(Caller::new(caller));
//!     request
//! };
//!
//! let answer = service.clone().oneshot(request("alice")).await.unwrap();
//! assert_eq!(answer.meta.headers["x-ratelimit-remaining-requests"], "1");
//! service.clone().oneshot(request("alice")).await.unwrap();
//! let refused = service.clone().oneshot(request("alice")).await.unwrap_err();
//! assert_eq!(refused.kind(), ErrorKind::RateLimited);
//! assert!(refused.retry_after().is_some());
//! // Each caller has a bucket of its own.
//! assert!(service.oneshot(request("bob")).await.is_ok());
//! # }
//! ```

pub mod admission;
mod call_limit;
mod estimate;
mod headers;
mod layer;
mod limits;
mod rule;

pub use call_limit::{CallLimit, CallLimitError, RenewalPeriod};
pub use estimate::TokenEstimate;
pub use layer::{RateLimitLayer, RateLimited};
pub use limits::{Limits, LimitsError, Unit};
pub use rule::KeyBy;
