//! What is limited: requests and tokens per period, as the config file
//! spells it.

use std::{fmt, time::Duration};

use serde::Deserialize;
use towergate_state::{Rate, RateError};

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Requests, one each.
    Requests,
    /// Tokens, prompt and completion together: reserved before the call
    /// (the prompt plus `max_tokens`) and settled with the real usage.
    Tokens,
}

impl Unit {
    /// `requests` or `tokens`: OpenAI's header suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Requests => "requests",
            Unit::Tokens => "tokens",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request and token rates: `limits: {requests_per_minute: 600,
/// tokens_per_minute: 100000}`.
///
/// Each of `requests_per_second`, `_minute`, `_hour` and `_day`, and the
/// same four for `tokens_`, is optional; every one given is enforced.
///
/// ```
/// use towergate_ratelimit::{Limits, Unit};
///
/// let limits: Limits = serde_json::from_str(
///     r#"{"requests_per_minute": 600, "tokens_per_minute": 100000, "tokens_per_day": 1000000}"#,
/// ).unwrap();
/// assert_eq!(limits.rates().count(), 3);
/// assert_eq!(limits.rates().filter(|(unit, _)| *unit == Unit::Tokens).count(), 2);
///
/// let error = serde_json::from_str::<Limits>(r#"{"requests_per_week": 5}"#).unwrap_err();
/// assert!(error.to_string().contains("unknown field `requests_per_week`"), "{error}");
/// let error = serde_json::from_str::<Limits>(r#"{"tokens_per_minute": 0}"#).unwrap_err();
/// assert!(error.to_string().contains("tokens_per_minute"), "{error}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "LimitsSpec")]
pub struct Limits {
    rates: Vec<(Unit, Rate)>,
}

impl Limits {
    /// No limit yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a limit of `rate` on `unit`.
    pub fn with(mut self, unit: Unit, rate: Rate) -> Self {
        self.rates.push((unit, rate));
        self
    }

    /// Adds a request rate.
    pub fn requests(self, rate: Rate) -> Self {
        self.with(Unit::Requests, rate)
    }

    /// Adds a token rate.
    pub fn tokens(self, rate: Rate) -> Self {
        self.with(Unit::Tokens, rate)
    }

    /// Every rate, with what it counts.
    pub fn rates(&self) -> impl Iterator<Item = (Unit, Rate)> + '_ {
        self.rates.iter().copied()
    }

    /// Whether no rate is set.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }
}

/// The config file's spelling of [`Limits`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSpec {
    requests_per_second: Option<u64>,
    requests_per_minute: Option<u64>,
    requests_per_hour: Option<u64>,
    requests_per_day: Option<u64>,
    tokens_per_second: Option<u64>,
    tokens_per_minute: Option<u64>,
    tokens_per_hour: Option<u64>,
    tokens_per_day: Option<u64>,
}

/// Why a `limits` entry is not a rate.
#[derive(Debug)]
pub struct LimitsError(String);

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitsError {}

impl TryFrom<LimitsSpec> for Limits {
    type Error = LimitsError;

    fn try_from(spec: LimitsSpec) -> Result<Self, Self::Error> {
        let entries = [
            (
                "requests_per_second",
                Unit::Requests,
                1,
                spec.requests_per_second,
            ),
            (
                "requests_per_minute",
                Unit::Requests,
                60,
                spec.requests_per_minute,
            ),
            (
                "requests_per_hour",
                Unit::Requests,
                3600,
                spec.requests_per_hour,
            ),
            (
                "requests_per_day",
                Unit::Requests,
                86_400,
                spec.requests_per_day,
            ),
            ("tokens_per_second", Unit::Tokens, 1, spec.tokens_per_second),
            (
                "tokens_per_minute",
                Unit::Tokens,
                60,
                spec.tokens_per_minute,
            ),
            ("tokens_per_hour", Unit::Tokens, 3600, spec.tokens_per_hour),
            ("tokens_per_day", Unit::Tokens, 86_400, spec.tokens_per_day),
        ];
        let mut limits = Limits::new();
        for (name, unit, seconds, limit) in entries {
            let Some(limit) = limit else { continue };
            let rate = Rate::new(limit, Duration::from_secs(seconds))
                .map_err(|error: RateError| LimitsError(format!("`{name}`: {error}")))?;
            limits = limits.with(unit, rate);
        }
        if limits.is_empty() {
            return Err(LimitsError(
                "expected at least one of `requests_per_minute`, `tokens_per_minute` \
                 (or `_second`, `_hour`, `_day`)"
                    .to_owned(),
            ));
        }
        Ok(limits)
    }
}
