//! What tokens cost: per-model prices and the book a gateway prices with.
//!
//! A [`Pricing`] is a pair of list prices in US dollars per million tokens,
//! one for the prompt and one for the completion; it is what an endpoint's
//! `pricing` key in the config file holds. [`builtin_pricing`] knows the
//! list prices of common hosted models, as of [`PRICES_AS_OF`]. A
//! [`PriceBook`] puts both together for a whole gateway: the configured
//! price of an endpoint wins, then the built-in price of the model that
//! answered, then that of the model the endpoint is configured with.
//!
//! ```
//! use towergate_core::Usage;
//! use towergate_tokens::{PriceBook, Pricing};
//!
//! let book = PriceBook::builder()
//!     .endpoint("chat", "gpt-4o-mini", None)
//!     .endpoint("cheap", "my-finetune", Some(Pricing::new(0.10, 0.20)))
//!     .build();
//!
//! // The answer came from a dated variant: priced as gpt-4o-mini.
//! let pricing = book.pricing_for("chat", Some("gpt-4o-mini-2024-07-18")).unwrap();
//! assert_eq!(pricing, Pricing::new(0.15, 0.60));
//! let cost = pricing.cost(&Usage::new(1_000_000, 500_000));
//! assert!((cost - 0.45).abs() < 1e-9);
//!
//! assert_eq!(book.pricing_for("cheap", Some("whatever")), Some(Pricing::new(0.10, 0.20)));
//! assert_eq!(book.model_for("chat"), Some("gpt-4o-mini"));
//! ```

mod book;
mod table;

use std::fmt;

use serde::{Deserialize, Serialize};
use towergate_core::Usage;

pub use book::{PriceBook, PriceBookBuilder};
pub use table::{PRICES_AS_OF, builtin_pricing};

/// List prices of a model, in US dollars per million tokens: the config
/// file's `pricing: {input_per_million, output_per_million}`.
///
/// Deserializing refuses unknown keys and prices that are negative or not
/// finite.
///
/// ```
/// use towergate_tokens::Pricing;
/// let pricing: Pricing =
///     serde_json::from_str(r#"{"input_per_million": 0.15, "output_per_million": 0.6}"#).unwrap();
/// assert_eq!(pricing, Pricing::new(0.15, 0.6));
/// assert!(serde_json::from_str::<Pricing>(r#"{"input_per_million": 1, "output_per_million": 2, "cached": 0}"#).is_err());
/// assert!(serde_json::from_str::<Pricing>(r#"{"input_per_million": -1, "output_per_million": 2}"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPricing")]
pub struct Pricing {
    /// US dollars per million prompt tokens.
    pub input_per_million: f64,
    /// US dollars per million completion tokens.
    pub output_per_million: f64,
}

impl Pricing {
    /// Nothing: the price of a model run in process (`provider: local`) or
    /// of the mock provider.
    pub const FREE: Pricing = Pricing::new(0.0, 0.0);

    /// `input_per_million` and `output_per_million` US dollars per million
    /// prompt and completion tokens.
    pub const fn new(input_per_million: f64, output_per_million: f64) -> Self {
        Self {
            input_per_million,
            output_per_million,
        }
    }

    /// What `usage` costs, in US dollars.
    ///
    /// Every prompt token is priced at the input price, cached ones too:
    /// providers bill those at a discount, so for a request that hit a
    /// provider's prompt cache this is an upper bound.
    ///
    /// ```
    /// use towergate_core::Usage;
    /// use towergate_tokens::Pricing;
    /// let cost = Pricing::new(2.50, 10.00).cost(&Usage::new(2_000, 500));
    /// assert!((cost - 0.01).abs() < 1e-12);
    /// ```
    pub fn cost(&self, usage: &Usage) -> f64 {
        (usage.prompt_tokens as f64 * self.input_per_million
            + usage.completion_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// The config file's form of a [`Pricing`], before its prices are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPricing {
    input_per_million: f64,
    output_per_million: f64,
}

/// Why a configured [`Pricing`] was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingError(String);

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PricingError {}

impl TryFrom<RawPricing> for Pricing {
    type Error = PricingError;

    fn try_from(raw: RawPricing) -> Result<Self, Self::Error> {
        for (key, price) in [
            ("input_per_million", raw.input_per_million),
            ("output_per_million", raw.output_per_million),
        ] {
            if !price.is_finite() || price < 0.0 {
                return Err(PricingError(format!(
                    "`{key}` must be a price in US dollars of 0 or more, not {price}"
                )));
            }
        }
        Ok(Pricing::new(raw.input_per_million, raw.output_per_million))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_prices_prompt_and_completion_separately() {
        let pricing = Pricing::new(3.0, 15.0);
        let cost = pricing.cost(&Usage::new(1_000, 2_000));
        assert!((cost - (0.003 + 0.030)).abs() < 1e-12, "{cost}");
        assert_eq!(Pricing::FREE.cost(&Usage::new(1_000, 2_000)), 0.0);
        assert_eq!(pricing.cost(&Usage::default()), 0.0);
    }

    #[test]
    fn deserializing_names_the_bad_key() {
        let missing = serde_json::from_str::<Pricing>(r#"{"input_per_million": 1}"#).unwrap_err();
        assert!(
            missing.to_string().contains("output_per_million"),
            "{missing}"
        );
        let unknown = serde_json::from_str::<Pricing>(
            r#"{"input_per_million": 1, "output_per_million": 2, "per_request": 1}"#,
        )
        .unwrap_err();
        assert!(unknown.to_string().contains("per_request"), "{unknown}");
        let negative = serde_json::from_str::<Pricing>(
            r#"{"input_per_million": 1, "output_per_million": -2}"#,
        )
        .unwrap_err();
        assert!(
            negative.to_string().contains("`output_per_million`"),
            "{negative}"
        );
    }

    #[test]
    fn serializing_round_trips() {
        let pricing = Pricing::new(0.15, 0.6);
        let json = serde_json::to_string(&pricing).unwrap();
        assert_eq!(
            json,
            r#"{"input_per_million":0.15,"output_per_million":0.6}"#
        );
        assert_eq!(serde_json::from_str::<Pricing>(&json).unwrap(), pricing);
    }
}
