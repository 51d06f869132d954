//! The prices a gateway charges by, per endpoint.

use std::{collections::HashMap, sync::Arc};

use towergate_core::Usage;

use super::{Pricing, builtin_pricing};
use crate::TokenCounter;

/// What one endpoint is known to cost.
#[derive(Debug)]
struct EndpointPrices {
    /// The model the endpoint is configured with.
    model: String,
    /// The endpoint's `pricing` from the config file.
    configured: Option<Pricing>,
    /// The built-in price of `model`, looked up once.
    builtin: Option<Pricing>,
}

/// The prices of every endpoint of a gateway, to price requests with.
///
/// Immutable and cheap to clone (one [`Arc`]): a config reload builds a new
/// book rather than changing this one. See the [module docs](super) for an
/// example.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    endpoints: Arc<HashMap<String, EndpointPrices>>,
}

impl PriceBook {
    /// A builder of a book.
    pub fn builder() -> PriceBookBuilder {
        PriceBookBuilder::default()
    }

    /// The pricing of a request to `endpoint` that `upstream_model`
    /// answered (the model name the upstream reported, if it did):
    ///
    /// 1. the endpoint's configured `pricing`;
    /// 2. else the built-in price of `upstream_model`;
    /// 3. else the built-in price of the model the endpoint is configured
    ///    with.
    ///
    /// `None` means the price is unknown; such a request is recorded as
    /// costing 0 (see [`PriceBook::cost`]). For an endpoint the book does not
    /// hold, only step 2 applies.
    pub fn pricing_for(&self, endpoint: &str, upstream_model: Option<&str>) -> Option<Pricing> {
        let prices = self.endpoints.get(endpoint);
        prices
            .and_then(|p| p.configured)
            .or_else(|| upstream_model.and_then(builtin_pricing))
            .or_else(|| prices.and_then(|p| p.builtin))
    }

    /// What `usage` of `endpoint`, answered by `upstream_model`, cost in US
    /// dollars, priced by [`PriceBook::pricing_for`]; 0 when the price is
    /// unknown.
    pub fn cost(&self, endpoint: &str, upstream_model: Option<&str>, usage: &Usage) -> f64 {
        self.pricing_for(endpoint, upstream_model)
            .map_or(0.0, |pricing| pricing.cost(usage))
    }

    /// The model `endpoint` is configured with, if the book holds it.
    pub fn model_for(&self, endpoint: &str) -> Option<&str> {
        self.endpoints.get(endpoint).map(|p| p.model.as_str())
    }

    /// The token counter for `endpoint`'s configured model; the estimating
    /// counter for an endpoint the book does not hold.
    pub fn counter_for(&self, endpoint: &str) -> TokenCounter {
        self.model_for(endpoint)
            .map_or_else(TokenCounter::default, TokenCounter::for_model)
    }

    /// How many endpoints the book holds.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether the book holds no endpoint.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }
}

/// Builds a [`PriceBook`], one endpoint at a time.
#[derive(Debug, Default)]
pub struct PriceBookBuilder {
    endpoints: HashMap<String, EndpointPrices>,
}

impl PriceBookBuilder {
    /// Adds endpoint `name`, configured with upstream model `model` and,
    /// if the config file gives one, its `pricing`. For a model run in
    /// process (`provider: local`) pass `Some(Pricing::FREE)`. Adding a
    /// name again replaces it.
    pub fn endpoint(
        mut self,
        name: impl Into<String>,
        model: impl Into<String>,
        pricing: Option<Pricing>,
    ) -> Self {
        let model = model.into();
        let builtin = builtin_pricing(&model);
        self.endpoints.insert(
            name.into(),
            EndpointPrices {
                model,
                configured: pricing,
                builtin,
            },
        );
        self
    }

    /// The book.
    pub fn build(self) -> PriceBook {
        PriceBook {
            endpoints: Arc::new(self.endpoints),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Encoding;

    fn book() -> PriceBook {
        PriceBook::builder()
            .endpoint("chat", "gpt-4o", None)
            .endpoint("priced", "gpt-4o", Some(Pricing::new(1.0, 2.0)))
            .endpoint("local", "qwen2.5-0.5b-instruct", Some(Pricing::FREE))
            .endpoint("custom", "my-deployment", None)
            .build()
    }

    #[test]
    fn configured_pricing_wins() {
        let book = book();
        assert_eq!(
            book.pricing_for("priced", Some("gpt-4o-2024-08-06")),
            Some(Pricing::new(1.0, 2.0))
        );
        assert_eq!(
            book.pricing_for("priced", None),
            Some(Pricing::new(1.0, 2.0))
        );
        assert_eq!(
            book.pricing_for("local", Some("qwen2.5-0.5b-instruct")),
            Some(Pricing::FREE)
        );
    }

    #[test]
    fn then_the_model_that_answered_then_the_configured_model() {
        let book = book();
        // A traffic split or a fallback answered with another model.
        assert_eq!(
            book.pricing_for("chat", Some("gpt-4o-mini-2024-07-18")),
            Some(Pricing::new(0.15, 0.60))
        );
        // The upstream named a model the table does not know.
        assert_eq!(
            book.pricing_for("chat", Some("some-proxy-alias")),
            Some(Pricing::new(2.50, 10.00))
        );
        assert_eq!(
            book.pricing_for("chat", None),
            Some(Pricing::new(2.50, 10.00))
        );
        assert_eq!(
            book.pricing_for("custom", Some("gpt-4.1")),
            Some(Pricing::new(2.00, 8.00))
        );
    }

    #[test]
    fn an_unknown_price_is_none_and_costs_nothing() {
        let book = book();
        assert_eq!(book.pricing_for("custom", None), None);
        assert_eq!(book.pricing_for("custom", Some("also-unknown")), None);
        assert_eq!(book.cost("custom", None, &Usage::new(1_000, 1_000)), 0.0);
        assert_eq!(book.pricing_for("missing", None), None);
        assert_eq!(
            book.pricing_for("missing", Some("gpt-4o")),
            Some(Pricing::new(2.50, 10.00))
        );
    }

    #[test]
    fn cost_uses_the_pricing_found() {
        let cost = book().cost("chat", Some("gpt-4o"), &Usage::new(1_000_000, 100_000));
        assert!((cost - 3.5).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn models_and_counters_by_endpoint() {
        let book = book();
        assert_eq!(book.model_for("chat"), Some("gpt-4o"));
        assert_eq!(book.model_for("missing"), None);
        assert_eq!(book.counter_for("chat").encoding(), Encoding::O200kBase);
        assert_eq!(
            book.counter_for("custom").encoding(),
            Encoding::Cl100kEstimate
        );
        assert_eq!(
            book.counter_for("missing").encoding(),
            Encoding::Cl100kEstimate
        );
        assert_eq!(book.len(), 4);
        assert!(PriceBook::default().is_empty());
    }

    #[test]
    fn adding_a_name_again_replaces_it_and_clones_share_the_table() {
        let book = PriceBook::builder()
            .endpoint("chat", "gpt-4o", None)
            .endpoint("chat", "gpt-4o-mini", None)
            .build();
        let clone = book.clone();
        assert!(Arc::ptr_eq(&book.endpoints, &clone.endpoints));
        assert_eq!(clone.model_for("chat"), Some("gpt-4o-mini"));
        assert_eq!(clone.len(), 1);
    }
}
