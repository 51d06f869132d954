//! [`WorstCaseCost`]: the most a request can cost, from its prompt, its
//! `max_tokens` and the endpoint's prices; what budgets reserve.

use towergate_core::{GatewayRequest, Operation, Usage};

use crate::{PriceBook, TokenCounter, budget::CostEstimate};

/// Completion tokens assumed for a request that sets no `max_tokens`.
pub const DEFAULT_MAX_COMPLETION_TOKENS: u64 = 4096;

/// How much an estimated prompt count is raised, for models whose own
/// tokenizer the gateway does not have (their count is an estimate that can
/// fall short by this much).
pub const ESTIMATE_MARGIN: f64 = 1.25;

/// Estimates a request's worst-case cost from a [`PriceBook`]: its prompt
/// tokens (counted with the endpoint model's tokenizer, or estimated and
/// raised by [`ESTIMATE_MARGIN`] for other models) plus `max_tokens` (or
/// `max_completion_tokens`; [`DEFAULT_MAX_COMPLETION_TOKENS`] when neither
/// is set, times `n` choices), at the endpoint's prices.
///
/// A request whose completion runs past what was assumed (no `max_tokens`
/// and a longer answer than the default) can cost more than its estimate;
/// budgets then settle the real cost, and only that request's excess can
/// take a caller past its budget.
///
/// ```
/// use towergate_core::{GatewayRequest, Operation};
/// use towergate_tokens::{PriceBook, Pricing, WorstCaseCost, budget::CostEstimate};
///
/// let prices = PriceBook::builder()
///     .endpoint("chat", "gpt-4o", Some(Pricing::new(1.0, 10.0)))
///     .build();
/// let chat = serde_json::from_value(serde_json::json!({
///     "messages": [{"role": "user", "content": "hello world"}], "max_tokens": 100
/// })).unwrap();
/// let request = GatewayRequest::new("chat", Operation::Chat(chat));
/// // 9 prompt tokens (2 of text, 7 of message framing) and 100 completion tokens.
/// let usd = WorstCaseCost::new(prices).worst_case_usd(&request).unwrap();
/// assert!((usd - (9.0 * 1.0 + 100.0 * 10.0) / 1e6).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct WorstCaseCost {
    prices: PriceBook,
}

impl WorstCaseCost {
    /// Estimates by `prices`.
    pub fn new(prices: PriceBook) -> Self {
        Self { prices }
    }
}

impl CostEstimate for WorstCaseCost {
    fn worst_case_usd(&self, request: &GatewayRequest) -> Option<f64> {
        let pricing = self.prices.pricing_for(&request.endpoint, None)?;
        let counter = self.prices.counter_for(&request.endpoint);
        Some(pricing.cost(&worst_case_usage(&counter, &request.operation)))
    }
}

/// The most tokens `operation` can use: its prompt counted by `counter`
/// (raised by [`ESTIMATE_MARGIN`] when the count is an estimate) and its
/// `max_tokens` or `max_completion_tokens` ([`DEFAULT_MAX_COMPLETION_TOKENS`]
/// when neither is set), times `n` choices. What budgets and token limits
/// reserve.
///
/// ```
/// use towergate_core::{GatewayRequest, Operation};
/// use towergate_tokens::{TokenCounter, worst_case_usage};
///
/// let chat = serde_json::from_value(serde_json::json!({
///     "messages": [{"role": "user", "content": "hello world"}], "max_tokens": 100, "n": 2
/// })).unwrap();
/// let usage = worst_case_usage(&TokenCounter::for_model("gpt-4o"), &Operation::Chat(chat));
/// assert_eq!((usage.prompt_tokens, usage.completion_tokens), (9, 200));
/// ```
pub fn worst_case_usage(counter: &TokenCounter, operation: &Operation) -> Usage {
    let mut prompt = counter.count_request(operation);
    if !counter.is_exact() {
        prompt = (prompt as f64 * ESTIMATE_MARGIN).ceil() as u64;
    }
    Usage::new(prompt, max_completion(operation))
}

/// The most completion tokens `operation` can produce.
fn max_completion(operation: &Operation) -> u64 {
    let (max, choices) = match operation {
        Operation::Chat(chat) => (chat.max_completion_tokens.or(chat.max_tokens), chat.n),
        Operation::Completion(completion) => (completion.max_tokens, completion.n),
        Operation::Embeddings(_) | Operation::ListEndpoints => return 0,
    };
    max.map_or(DEFAULT_MAX_COMPLETION_TOKENS, u64::from)
        .saturating_mul(u64::from(choices.unwrap_or(1).max(1)))
}
