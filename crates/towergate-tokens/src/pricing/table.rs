//! Built-in list prices of common hosted models.

use super::Pricing;
use crate::count::model_name::{bare, has_family_prefix};

/// The day the built-in prices were the providers' list prices.
pub const PRICES_AS_OF: &str = "2025-12-01";

/// Built-in prices by model family, in US dollars per million prompt and
/// completion tokens.
///
/// The numbers are the list prices on the public pricing pages of OpenAI,
/// Anthropic, Google (Gemini API, paid tier), Mistral and Cohere as of
/// [`PRICES_AS_OF`], for standard (not batch, not priority) requests. Where
/// a provider charges more for long prompts (Gemini above 128k or 200k
/// tokens, Claude Sonnet above 200k) the lower, short-prompt price is
/// listed. Prices change: an endpoint's `pricing` in the config file
/// overrides this table.
const PRICES: &[(&str, Pricing)] = &[
    // OpenAI
    ("gpt-5", Pricing::new(1.25, 10.00)),
    ("gpt-5.1", Pricing::new(1.25, 10.00)),
    ("gpt-5-mini", Pricing::new(0.25, 2.00)),
    ("gpt-5-nano", Pricing::new(0.05, 0.40)),
    ("gpt-5-pro", Pricing::new(15.00, 120.00)),
    ("gpt-4.1", Pricing::new(2.00, 8.00)),
    ("gpt-4.1-mini", Pricing::new(0.40, 1.60)),
    ("gpt-4.1-nano", Pricing::new(0.10, 0.40)),
    ("gpt-4.5-preview", Pricing::new(75.00, 150.00)),
    ("gpt-4o", Pricing::new(2.50, 10.00)),
    ("gpt-4o-2024-05-13", Pricing::new(5.00, 15.00)),
    ("gpt-4o-mini", Pricing::new(0.15, 0.60)),
    ("chatgpt-4o-latest", Pricing::new(5.00, 15.00)),
    ("o1", Pricing::new(15.00, 60.00)),
    ("o1-preview", Pricing::new(15.00, 60.00)),
    ("o1-mini", Pricing::new(1.10, 4.40)),
    ("o1-pro", Pricing::new(150.00, 600.00)),
    ("o3", Pricing::new(2.00, 8.00)),
    ("o3-mini", Pricing::new(1.10, 4.40)),
    ("o3-pro", Pricing::new(20.00, 80.00)),
    ("o4-mini", Pricing::new(1.10, 4.40)),
    ("gpt-4-turbo", Pricing::new(10.00, 30.00)),
    ("gpt-4-0125-preview", Pricing::new(10.00, 30.00)),
    ("gpt-4-1106-preview", Pricing::new(10.00, 30.00)),
    ("gpt-4", Pricing::new(30.00, 60.00)),
    ("gpt-4-32k", Pricing::new(60.00, 120.00)),
    ("gpt-3.5-turbo", Pricing::new(0.50, 1.50)),
    ("gpt-3.5-turbo-instruct", Pricing::new(1.50, 2.00)),
    ("text-embedding-3-small", Pricing::new(0.02, 0.0)),
    ("text-embedding-3-large", Pricing::new(0.13, 0.0)),
    ("text-embedding-ada-002", Pricing::new(0.10, 0.0)),
    // Anthropic
    ("claude-opus-4-5", Pricing::new(5.00, 25.00)),
    ("claude-opus-4-1", Pricing::new(15.00, 75.00)),
    ("claude-opus-4", Pricing::new(15.00, 75.00)),
    ("claude-sonnet-4-5", Pricing::new(3.00, 15.00)),
    ("claude-sonnet-4", Pricing::new(3.00, 15.00)),
    ("claude-haiku-4-5", Pricing::new(1.00, 5.00)),
    ("claude-3-7-sonnet", Pricing::new(3.00, 15.00)),
    ("claude-3-5-sonnet", Pricing::new(3.00, 15.00)),
    ("claude-3-5-haiku", Pricing::new(0.80, 4.00)),
    ("claude-3-opus", Pricing::new(15.00, 75.00)),
    ("claude-3-sonnet", Pricing::new(3.00, 15.00)),
    ("claude-3-haiku", Pricing::new(0.25, 1.25)),
    // Google Gemini API
    ("gemini-3-pro", Pricing::new(2.00, 12.00)),
    ("gemini-2.5-pro", Pricing::new(1.25, 10.00)),
    ("gemini-2.5-flash", Pricing::new(0.30, 2.50)),
    ("gemini-2.5-flash-lite", Pricing::new(0.10, 0.40)),
    ("gemini-2.0-flash", Pricing::new(0.10, 0.40)),
    ("gemini-2.0-flash-lite", Pricing::new(0.075, 0.30)),
    ("gemini-1.5-pro", Pricing::new(1.25, 5.00)),
    ("gemini-1.5-flash", Pricing::new(0.075, 0.30)),
    ("gemini-1.5-flash-8b", Pricing::new(0.0375, 0.15)),
    ("gemini-embedding-001", Pricing::new(0.15, 0.0)),
    // Mistral
    ("mistral-large", Pricing::new(2.00, 6.00)),
    ("mistral-medium", Pricing::new(0.40, 2.00)),
    ("mistral-small", Pricing::new(0.10, 0.30)),
    ("codestral", Pricing::new(0.30, 0.90)),
    ("mistral-embed", Pricing::new(0.10, 0.0)),
    // Cohere
    ("command-a", Pricing::new(2.50, 10.00)),
    ("command-r-plus", Pricing::new(2.50, 10.00)),
    ("command-r", Pricing::new(0.15, 0.60)),
    ("embed-english-v3.0", Pricing::new(0.10, 0.0)),
    ("embed-multilingual-v3.0", Pricing::new(0.10, 0.0)),
];

/// The built-in list price of `model`, an upstream model name, or `None`
/// for a model the table does not know.
///
/// Dated and tagged variants take their family's price: the longest
/// family name that `model` starts with wins, and a family name must end
/// where a word does. So `gpt-4o-mini-2024-07-18` is priced as
/// `gpt-4o-mini`, not as `gpt-4o`, and `gpt-4o` is never priced as
/// `gpt-4`. A vendor path (`openai/gpt-4o`, `models/gemini-1.5-pro`) and a
/// fine-tune's `ft:` are ignored; a fine-tuned model is priced as its base
/// model, which is lower than what providers charge for fine-tunes, so
/// configure `pricing` for those.
///
/// Models run in process (`provider: local`) are not in the table: they
/// cost nothing, which the config gives them as [`Pricing::FREE`].
///
/// ```
/// use towergate_tokens::{Pricing, builtin_pricing};
/// assert_eq!(builtin_pricing("gpt-4o-mini-2024-07-18"), Some(Pricing::new(0.15, 0.60)));
/// assert_eq!(builtin_pricing("gpt-4o-2024-11-20"), Some(Pricing::new(2.50, 10.00)));
/// assert_eq!(builtin_pricing("claude-3-5-haiku-latest"), Some(Pricing::new(0.80, 4.00)));
/// assert_eq!(builtin_pricing("llama3.2:3b"), None);
/// ```
pub fn builtin_pricing(model: &str) -> Option<Pricing> {
    let name = bare(model);
    PRICES
        .iter()
        .filter(|(family, _)| has_family_prefix(name, family))
        .max_by_key(|(family, _)| family.len())
        .map(|(_, pricing)| *pricing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_family_wins() {
        let cases = [
            ("gpt-4o", (2.50, 10.00)),
            ("gpt-4o-2024-08-06", (2.50, 10.00)),
            ("gpt-4o-2024-05-13", (5.00, 15.00)),
            ("gpt-4o-mini", (0.15, 0.60)),
            ("gpt-4o-mini-2024-07-18", (0.15, 0.60)),
            ("gpt-4.1-mini-2025-04-14", (0.40, 1.60)),
            ("gpt-4.1-2025-04-14", (2.00, 8.00)),
            ("gpt-4-0613", (30.00, 60.00)),
            ("gpt-4-turbo-2024-04-09", (10.00, 30.00)),
            ("gpt-3.5-turbo-0125", (0.50, 1.50)),
            ("o1-mini-2024-09-12", (1.10, 4.40)),
            ("o3-mini", (1.10, 4.40)),
            ("o3-2025-04-16", (2.00, 8.00)),
            ("o4-mini-2025-04-16", (1.10, 4.40)),
            ("gpt-5-mini-2025-08-07", (0.25, 2.00)),
            ("claude-3-5-sonnet-20241022", (3.00, 15.00)),
            ("claude-3-7-sonnet-latest", (3.00, 15.00)),
            ("claude-sonnet-4-20250514", (3.00, 15.00)),
            ("claude-opus-4-1-20250805", (15.00, 75.00)),
            ("claude-opus-4-5-20251101", (5.00, 25.00)),
            ("claude-3-haiku-20240307", (0.25, 1.25)),
            ("gemini-1.5-flash-002", (0.075, 0.30)),
            ("gemini-1.5-flash-8b-001", (0.0375, 0.15)),
            ("gemini-2.0-flash-lite-001", (0.075, 0.30)),
            ("models/gemini-2.5-pro", (1.25, 10.00)),
            ("mistral-large-latest", (2.00, 6.00)),
            ("mistral-small-2503", (0.10, 0.30)),
            ("command-r-08-2024", (0.15, 0.60)),
            ("command-r-plus-08-2024", (2.50, 10.00)),
            ("text-embedding-3-small", (0.02, 0.0)),
            ("openai/gpt-4o-mini", (0.15, 0.60)),
            ("ft:gpt-4o-mini-2024-07-18:acme::abc123", (0.15, 0.60)),
        ];
        for (model, (input, output)) in cases {
            assert_eq!(
                builtin_pricing(model),
                Some(Pricing::new(input, output)),
                "{model}"
            );
        }
    }

    #[test]
    fn unknown_models_have_no_price() {
        for model in [
            "llama3.1:8b",
            "my-deployment",
            "gpt",
            "o10",
            "command-r7b",
            "",
            "東京",
        ] {
            assert_eq!(builtin_pricing(model), None, "{model}");
        }
    }

    #[test]
    fn every_family_is_listed_once_with_sane_prices() {
        let mut seen = std::collections::HashSet::new();
        for (family, pricing) in PRICES {
            assert!(seen.insert(*family), "{family} listed twice");
            assert!(pricing.input_per_million >= 0.0 && pricing.input_per_million < 1_000.0);
            assert!(pricing.output_per_million >= 0.0 && pricing.output_per_million < 1_000.0);
            assert_eq!(builtin_pricing(family), Some(*pricing), "{family}");
        }
    }
}
