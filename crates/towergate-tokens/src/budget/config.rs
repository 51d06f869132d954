//! What a budget is, as the config file spells it.

use serde::{Deserialize, Serialize};
use towergate_state::Window;

/// A caller's spending cap: `budget: {usd: 25.0, period: month}`.
///
/// ```
/// use towergate_tokens::budget::{Budget, BudgetPeriod};
/// let budget: Budget = serde_json::from_str(r#"{"usd": 25.0, "period": "month"}"#).unwrap();
/// assert_eq!(budget, Budget::new(25.0, BudgetPeriod::Month));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// US dollars that may be spent per period.
    pub usd: f64,
    /// The period after which spending starts again from zero.
    pub period: BudgetPeriod,
}

impl Budget {
    /// `usd` per `period`.
    pub fn new(usd: f64, period: BudgetPeriod) -> Self {
        Self { usd, period }
    }
}

/// When a budget starts again from zero: calendar periods in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    /// Each day, at midnight UTC.
    Day,
    /// Each ISO week, on Monday at midnight UTC.
    Week,
    /// Each month, on the first at midnight UTC.
    Month,
    /// Never: the budget is for all time.
    Total,
}

impl BudgetPeriod {
    /// The store window that counts this period.
    pub fn window(self) -> Window {
        match self {
            BudgetPeriod::Day => Window::Day,
            BudgetPeriod::Week => Window::Week,
            BudgetPeriod::Month => Window::Month,
            BudgetPeriod::Total => Window::Total,
        }
    }

    /// The config's name: `day`, `week`, `month` or `total`.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
            BudgetPeriod::Total => "total",
        }
    }

    /// `per day`, …, `in total`: how a message says it.
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "per day",
            BudgetPeriod::Week => "per week",
            BudgetPeriod::Month => "per month",
            BudgetPeriod::Total => "in total",
        }
    }
}

/// What to do when the budget store cannot answer (`state.on_redis_error`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnStoreError {
    /// Refuse the request with 503: no spending that cannot be counted.
    #[default]
    Closed,
    /// Admit the request, log a warning and count the error.
    Open,
}

/// Whole micro-dollars (1e-6 USD) in `usd`, rounded; negative and NaN are 0.
pub(crate) fn micros(usd: f64) -> u64 {
    // A float-to-integer `as` saturates, and maps NaN to 0.
    (usd * 1e6).round() as u64
}

/// `$25.00`, `$0.0005`: at least two decimals, more when they matter.
pub(crate) fn dollars(micros: u64) -> String {
    let whole = micros / 1_000_000;
    let fraction = format!("{:06}", micros % 1_000_000);
    let significant = fraction.trim_end_matches('0').len().max(2);
    format!("${whole}.{}", &fraction[..significant])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_show_what_matters() {
        assert_eq!(dollars(25_000_000), "$25.00");
        assert_eq!(dollars(24_980_000), "$24.98");
        assert_eq!(dollars(500), "$0.0005");
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(1_234_567), "$1.234567");
    }

    #[test]
    fn micros_round_and_never_go_negative() {
        assert_eq!(micros(0.0005), 500);
        assert_eq!(micros(0.01), 10_000);
        assert_eq!(micros(25.0), 25_000_000);
        assert_eq!(micros(-1.0), 0);
        assert_eq!(micros(f64::NAN), 0);
        assert_eq!(micros(f64::INFINITY), u64::MAX);
    }

    #[test]
    fn periods_use_the_config_names() {
        for period in [
            BudgetPeriod::Day,
            BudgetPeriod::Week,
            BudgetPeriod::Month,
            BudgetPeriod::Total,
        ] {
            let json = serde_json::to_string(&period).unwrap();
            assert_eq!(json, format!("\"{}\"", period.as_str()));
        }
        let error = serde_json::from_str::<Budget>(r#"{"usd": 1.0, "period": "year"}"#);
        assert!(error.is_err());
        let error = serde_json::from_str::<Budget>(r#"{"usd": 1.0, "period": "day", "x": 1}"#);
        assert!(error.is_err());
        let policy: OnStoreError = serde_json::from_str(r#""open""#).unwrap();
        assert_eq!(policy, OnStoreError::Open);
    }
}
