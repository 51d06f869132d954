//! How many tokens a request may use, before it runs: what token limits
//! reserve.

use towergate_core::GatewayRequest;
use towergate_tokens::{PriceBook, TokenCounter, worst_case_usage};

/// Estimates the most tokens a request can use (prompt plus completion).
///
/// Token limits reserve this much before the call and settle the real
/// usage after it. Implemented for [`TokenCounter`] (one model's
/// tokenizer, for a layer in front of one endpoint) and for [`PriceBook`]
/// (each endpoint's model's tokenizer, for a layer in front of many).
pub trait TokenEstimate: Send + Sync + 'static {
    /// The most tokens `request` can use.
    fn worst_case_tokens(&self, request: &GatewayRequest) -> u64;
}

/// The prompt, counted with this tokenizer (raised by
/// [`ESTIMATE_MARGIN`](towergate_tokens::ESTIMATE_MARGIN) when it is not the
/// model's own), plus `max_tokens` or
/// [`DEFAULT_MAX_COMPLETION_TOKENS`](towergate_tokens::DEFAULT_MAX_COMPLETION_TOKENS),
/// times `n`.
impl TokenEstimate for TokenCounter {
    fn worst_case_tokens(&self, request: &GatewayRequest) -> u64 {
        worst_case_usage(self, &request.operation).total_tokens
    }
}

/// As for [`TokenCounter`], with the tokenizer of the endpoint's model.
impl TokenEstimate for PriceBook {
    fn worst_case_tokens(&self, request: &GatewayRequest) -> u64 {
        let counter = self.counter_for(&request.endpoint);
        worst_case_usage(&counter, &request.operation).total_tokens
    }
}
