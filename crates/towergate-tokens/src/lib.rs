//! Tokens and what they cost: counting, usage accounting, prices, budgets
//! and fitting prompts into a model's context window.
//!
//! - [`TokenCounter`] ([`count`]) counts text, requests, streamed chunks and
//!   answers with tiktoken's vocabularies: exactly for OpenAI models, as an
//!   estimate for the others ([`TokenCounter::is_exact`] tells which). Call
//!   [`TokenCounter::warm`] at start-up so the first request does not load
//!   the vocabularies.
//! - [`Pricing`] and [`PriceBook`] ([`pricing`]) turn usage into US
//!   dollars: an endpoint's configured `pricing`, else the built-in list
//!   prices of common models ([`builtin_pricing`], dated [`PRICES_AS_OF`]).
//! - [`ContextWindowLayer`] ([`context`]) fits a chat into an endpoint's
//!   `context_window` by dropping its oldest turns, and refuses with a 400
//!   what cannot fit.
//!
//! ```
//! use towergate_core::Usage;
//! use towergate_tokens::{PriceBook, TokenCounter};
//!
//! TokenCounter::warm();
//! let book = PriceBook::builder().endpoint("chat", "gpt-4o-mini", None).build();
//! let counter = book.counter_for("chat");
//! let prompt_tokens = counter.count_text("How many tokens is this?");
//! assert_eq!(prompt_tokens, 6);
//! let cost = book.cost("chat", None, &Usage::new(prompt_tokens, 0));
//! assert!((cost - 6.0 * 0.15 / 1e6).abs() < 1e-15);
//! ```

pub mod accounting;
pub mod budget;
pub mod context;
pub mod count;
pub mod pricing;
mod worst_case;

pub use context::{ContextFitted, ContextWindow, ContextWindowLayer};
pub use count::{Encoding, TokenCounter};
pub use pricing::{PRICES_AS_OF, PriceBook, Pricing, builtin_pricing};
pub use worst_case::{
    DEFAULT_MAX_COMPLETION_TOKENS, ESTIMATE_MARGIN, WorstCaseCost, worst_case_usage,
};
