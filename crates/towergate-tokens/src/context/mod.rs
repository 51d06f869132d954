//! Fitting prompts into a model's context window (the config file's
//! `context_window`).
//!
//! A model reads the prompt and writes the answer in one window of tokens.
//! [`ContextWindowLayer`] counts a request's prompt, adds what the caller
//! reserved for the answer (`max_completion_tokens`, else `max_tokens`;
//! when neither is set it reserves nothing, since the caller has not said
//! how much it wants and the provider caps the answer itself) and, when the
//! sum is more than the window:
//!
//! - **chat**: drops the oldest turns until it fits. A turn runs from one
//!   user message up to the next, so an assistant message that calls tools
//!   goes with the tool messages that answer it, and no tool message is
//!   ever left without its call. System and developer messages are never
//!   dropped, nor is the last user message or anything after it. If the
//!   chat still does not fit, the request is refused.
//! - **text completion**: a prompt cannot be shortened without changing
//!   its meaning, so a request whose longest prompt does not fit is
//!   refused.
//! - **embeddings**: a request with an input longer than the window is
//!   refused (it reserves no answer tokens).
//!
//! A refusal is a 400 ([`ErrorKind::InvalidRequest`](towergate_core::ErrorKind::InvalidRequest))
//! with OpenAI's code `context_length_exceeded`, naming the field
//! (`messages`, `prompt` or `input`), both sizes and the endpoint; the inner
//! service is not called. A request that passes carries a [`ContextFitted`]
//! in its extensions saying what was done. Counts use the layer's
//! [`TokenCounter`](crate::TokenCounter): exact for OpenAI models, an
//! estimate for others.
//!
//! ```
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{
//!     GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
//!     chat::{ChatMessage, ChatRequest, Role},
//! };
//! use towergate_tokens::{ContextFitted, ContextWindowLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let service = ContextWindowLayer::new(40).model("gpt-4o").layer(service_fn(
//!     |request: GatewayRequest| async move {
//!         let Operation::Chat(chat) = &request.operation else { unreachable!() };
//!         // The first question and its answer were dropped.
//!         assert_eq!(chat.messages.len(), 2);
//!         let fitted = request.extensions.get::<ContextFitted>().unwrap();
//!         assert_eq!(fitted.dropped_messages, 2);
//!         Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//!     },
//! ));
//!
//! let chat = ChatRequest {
//!     messages: vec![
//!         ChatMessage::text(Role::System, "Answer briefly."),
//!         ChatMessage::text(Role::User, "What is the tallest mountain on Earth, above sea level?"),
//!         ChatMessage::text(Role::Assistant, "Mount Everest, at 8,849 metres above sea level."),
//!         ChatMessage::text(Role::User, "And the deepest lake?"),
//!     ],
//!     max_tokens: Some(10),
//!     ..ChatRequest::default()
//! };
//! service.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await.unwrap();
//! # }
//! ```

mod fit;
pub mod future;
mod layer;

pub use layer::{ContextWindow, ContextWindowLayer};

use crate::Encoding;

/// What a [`ContextWindow`] did to a request it passed on; in the request's
/// extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextFitted {
    /// Chat messages dropped to fit (0 when the request fitted as it came).
    pub dropped_messages: usize,
    /// The prompt tokens of the request as passed on.
    pub prompt_tokens: u64,
    /// The tokenizer counted with; [`Encoding::is_exact`] tells whether
    /// `prompt_tokens` is exact or an estimate.
    pub encoding: Encoding,
}
