//! Usage and cost for every answer, and a record of every request.
//!
//! [`TokenAccountingLayer`] gives each answer its usage: the upstream's
//! where the upstream reports it, else counted with [`TokenCounter`](crate::TokenCounter)
//! (prompt from the request, completion from the text that came back). It
//! prices the usage with a [`PriceBook`](crate::PriceBook), puts both into the response's
//! [`ResponseMeta`](towergate_core::ResponseMeta) (the HTTP fronts turn
//! them into `x-towergate-*` headers), and hands a [`UsageRecord`] to a
//! [`UsageSink`].
//!
//! A stream is counted as its chunks pass and recorded when it ends, when
//! it fails, or when the client drops it, charged for what was generated
//! by then. A failed request is recorded too (no tokens, its status and
//! error type). Once a record is final, the request's
//! [`Settlements`](towergate_core::settle::Settlements) run with what it
//! spent, so budgets and token limits above this layer correct their
//! reservations. A cache hit is recorded with its tokens and a cost of 0.
//!
//! ```
//! use std::sync::Arc;
//! use tower::{ServiceExt, service_fn};
//! use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, chat::ChatResponse};
//! use towergate_tokens::{PriceBook, Pricing, accounting::{MemorySink, TokenAccountingLayer}};
//! use tower::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let prices = PriceBook::builder()
//!     .endpoint("chat", "gpt-4o-mini", Some(Pricing::new(0.15, 0.60)))
//!     .build();
//! let sink = MemorySink::new();
//! let upstream = service_fn(|_request: GatewayRequest| async {
//!     let answer: ChatResponse = serde_json::from_value(serde_json::json!({
//!         "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
//!         "choices": [{"index": 0, "finish_reason": "stop",
//!                      "message": {"role": "assistant", "content": "Paris."}}],
//!         "usage": {"prompt_tokens": 1000, "completion_tokens": 1000, "total_tokens": 2000}
//!     })).unwrap();
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Chat(answer)))
//! });
//! let gateway = TokenAccountingLayer::new(prices).sink(Arc::new(sink.clone())).layer(upstream);
//!
//! let chat = serde_json::from_value(serde_json::json!({
//!     "model": "chat", "messages": [{"role": "user", "content": "Capital of France?"}]
//! })).unwrap();
//! let response = gateway.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await.unwrap();
//! assert_eq!(response.meta.usage.unwrap().total_tokens, 2000);
//! assert!((response.meta.cost_usd.unwrap() - 0.00075).abs() < 1e-12);
//! assert_eq!(sink.records()[0].endpoint, "chat");
//! # }
//! ```

mod chunk;
mod future;
mod layer;
mod ledger;
mod record;
mod sink;
mod stream;

pub use chunk::AccountedChunk;
pub use future::ResponseFuture;
pub use layer::{TokenAccounting, TokenAccountingLayer};
pub use record::{Outcome, UsageRecord, UsageSource};
pub use sink::{FlushFuture, JsonlSink, MemorySink, UsageSink};
pub use stream::AccountedStream;

#[cfg(test)]
mod tests;
