//! An endpoint's `limit`: MLflow's `calls` per `renewal_period`.

use std::{fmt, time::Duration};

use serde_yaml_ng::{Mapping, Value};
use towergate_core::RateLimitInfo;

use crate::{
    loader::{Keys, Loader},
    number::whole_number,
    path::FieldPath,
};

/// The keys of a `limit`. MLflow also takes `key`, which is read apart.
const LIMIT_KEYS: Keys = Keys {
    known: &["calls", "renewal_period", "key"],
    planned: &[],
};

/// What a renewal period looks like, for messages.
const EXPECTED_PERIOD: &str = "`second`, `minute`, `hour` or `day`";

/// What `calls` looks like, for messages.
const EXPECTED_CALLS: &str = "how many calls each `renewal_period` allows, at least 1";

/// The period over which a [`LimitConfig`]'s calls are counted.
///
/// ```
/// use std::time::Duration;
/// use towergate_config::RenewalPeriod;
///
/// assert_eq!(RenewalPeriod::Minute.as_str(), "minute");
/// assert_eq!(RenewalPeriod::Minute.duration(), Duration::from_secs(60));
/// assert_eq!(RenewalPeriod::Day.to_string(), "day");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RenewalPeriod {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day (24 hours).
    Day,
}

impl RenewalPeriod {
    const ALL: [Self; 4] = [Self::Second, Self::Minute, Self::Hour, Self::Day];

    /// MLflow's name for the period: `second`, `minute`, `hour` or `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Second => "second",
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// How long the period lasts.
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 60 * 60,
            Self::Day => 24 * 60 * 60,
        })
    }
}

impl fmt::Display for RenewalPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An endpoint's `limit` (MLflow's): at most `calls` calls per
/// `renewal_period`, for all callers together.
///
/// ```
/// use towergate_config::{Config, RenewalPeriod};
///
/// let yaml = "\
/// endpoints:
///   - name: chat
///     endpoint_type: llm/v1/chat
///     model: {provider: openai, name: gpt-4o-mini}
///     limit: {renewal_period: minute, calls: 10}
/// ";
/// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
/// let limit = config.endpoint("chat").unwrap().limit().unwrap();
/// assert_eq!(limit.renewal_period(), RenewalPeriod::Minute);
/// assert_eq!(limit.calls(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitConfig {
    renewal_period: RenewalPeriod,
    calls: u64,
}

impl LimitConfig {
    /// The period the calls are counted over.
    pub fn renewal_period(&self) -> RenewalPeriod {
        self.renewal_period
    }

    /// How many calls each period allows (at least 1).
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// What clients are told about the limit.
    pub fn info(&self) -> RateLimitInfo {
        RateLimitInfo {
            renewal_period: self.renewal_period.as_str().to_owned(),
            calls: self.calls,
        }
    }
}

/// Reads an endpoint's `limit`, the value at `at`: `None` when it is
/// absent, `null` or has a problem (which is recorded).
pub(crate) fn parse_limit(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
) -> Option<LimitConfig> {
    let map = loader.mapping(value, at, "expected a mapping with `calls` and `renewal_period`, such as `{calls: 10, renewal_period: minute}`")?;
    loader.check_keys(map, at, &LIMIT_KEYS);
    let key = limit_key(loader, map, at);
    let calls = calls(loader, map, at);
    let renewal_period = renewal_period(loader, map, at);
    key.then_some(LimitConfig {
        renewal_period: renewal_period?,
        calls: calls?,
    })
}

/// MLflow's `key` (a per-user limit on Databricks): refused unless null.
/// Returns whether it is absent.
fn limit_key(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> bool {
    match map.get("key") {
        None | Some(Value::Null) => true,
        Some(_) => {
            loader.key_error(at.key("key"), "`limit.key` is not supported yet");
            false
        }
    }
}

fn calls(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<u64> {
    let value = match map.get("calls") {
        None | Some(Value::Null) => {
            loader.missing(map, "calls", at, EXPECTED_CALLS);
            return None;
        }
        Some(value) => value,
    };
    let calls = whole_number(value).and_then(|calls| u64::try_from(calls).ok());
    match calls {
        Some(calls) if calls >= 1 => Some(calls),
        _ => {
            let shown = match value {
                Value::Number(number) => format!("`{number}`: "),
                Value::String(text) => format!("`{text}`: "),
                _ => String::new(),
            };
            loader.error(at.key("calls"), format!("{shown}expected {EXPECTED_CALLS}"));
            None
        }
    }
}

fn renewal_period(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<RenewalPeriod> {
    let text = match map.get("renewal_period") {
        None | Some(Value::Null) => {
            loader.missing(map, "renewal_period", at, EXPECTED_PERIOD);
            return None;
        }
        Some(Value::String(text)) => text,
        Some(_) => {
            loader.error(
                at.key("renewal_period"),
                format!("expected {EXPECTED_PERIOD}"),
            );
            return None;
        }
    };
    let parsed = parse_period(text);
    if let Err(message) = &parsed {
        loader.error(at.key("renewal_period"), message.clone());
    }
    parsed.ok()
}

/// Reads a renewal period as MLflow does: any case, singular or plural
/// (`minute`, `Minutes`).
fn parse_period(text: &str) -> Result<RenewalPeriod, String> {
    let lower = text.trim().to_ascii_lowercase();
    let unit = lower.strip_suffix('s').unwrap_or(&lower);
    if let Some(period) = RenewalPeriod::ALL
        .into_iter()
        .find(|period| period.as_str() == unit)
    {
        return Ok(period);
    }
    // MLflow also takes these; towergate does not count them yet.
    if matches!(unit, "month" | "year") {
        return Err(format!(
            "a renewal period of a {unit} is not supported yet: expected {EXPECTED_PERIOD}"
        ));
    }
    let counted = unit
        .split_once(char::is_whitespace)
        .is_some_and(|(count, rest)| {
            count.chars().all(|c| c.is_ascii_digit()) && !rest.trim().is_empty()
        });
    if counted {
        return Err(format!(
            "`{text}`: a count in `renewal_period` is not supported yet: expected {EXPECTED_PERIOD} (one unit)"
        ));
    }
    Err(format!(
        "`{text}` is not a renewal period: expected {EXPECTED_PERIOD}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_read_in_any_case_and_number() {
        for (text, period) in [
            ("second", RenewalPeriod::Second),
            ("minute", RenewalPeriod::Minute),
            ("Minutes", RenewalPeriod::Minute),
            (" HOUR ", RenewalPeriod::Hour),
            ("days", RenewalPeriod::Day),
        ] {
            assert_eq!(parse_period(text), Ok(period), "{text}");
        }
    }

    #[test]
    fn other_periods_are_refused_with_what_was_expected() {
        for (text, start) in [
            ("month", "a renewal period of a month is not supported yet"),
            ("years", "a renewal period of a year is not supported yet"),
            (
                "2 minutes",
                "`2 minutes`: a count in `renewal_period` is not supported yet",
            ),
            ("fortnight", "`fortnight` is not a renewal period"),
            ("", "`` is not a renewal period"),
            ("s", "`s` is not a renewal period"),
        ] {
            let message = parse_period(text).unwrap_err();
            assert!(message.starts_with(start), "{text}: {message}");
            assert!(message.contains(EXPECTED_PERIOD), "{message}");
        }
    }

    #[test]
    fn durations_match_the_names() {
        assert_eq!(RenewalPeriod::Second.duration(), Duration::from_secs(1));
        assert_eq!(RenewalPeriod::Hour.duration(), Duration::from_secs(3600));
        assert_eq!(RenewalPeriod::Day.duration(), Duration::from_secs(86_400));
        assert_eq!(RenewalPeriod::Hour.as_str(), "hour");
    }
}
