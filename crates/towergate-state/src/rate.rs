//! Rates (`limit` units per `period`) and the bucket arithmetic every
//! [`RateStore`](crate::RateStore) shares.
//!
//! A rate is enforced as a GCRA, a leaky bucket: a burst of up to `limit`
//! units is admitted at once, and capacity comes back evenly over the
//! period, `limit` units per `period`. The bucket's level is kept in whole
//! scaled units (one unit is `period_ms` scaled units, and the bucket
//! drains `limit` scaled units per millisecond), so every step is integer
//! arithmetic: the same numbers in this process and in Redis' Lua, which
//! is exact up to 2^53.

use std::{fmt, time::Duration};

/// The largest bucket, in scaled units, that Redis' Lua numbers (doubles)
/// still count exactly; overage may double it, hence 2^52.
const MAX_CAPACITY: u64 = 1 << 52;

/// `limit` units (requests, tokens) per `period`.
///
/// ```
/// use std::time::Duration;
/// use towergate_state::Rate;
///
/// let rate = Rate::per_minute(600).unwrap();
/// assert_eq!(rate.limit(), 600);
/// assert_eq!(rate.period(), Duration::from_secs(60));
/// assert!(Rate::new(0, Duration::from_secs(1)).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    limit: u64,
    period_ms: u64,
}

/// Why a [`Rate`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateError(String);

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RateError {}

impl Rate {
    /// `limit` units per `period` (whole milliseconds; at least one).
    ///
    /// # Errors
    ///
    /// `limit` is 0, `period` is under a millisecond, or the two are so
    /// large that the bucket cannot be counted exactly (`limit` times the
    /// period in milliseconds must stay under 2^52: a day takes limits up
    /// to 52 billion).
    pub fn new(limit: u64, period: Duration) -> Result<Self, RateError> {
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX);
        if limit == 0 {
            return Err(RateError("a rate limit must be at least 1".to_owned()));
        }
        if period_ms == 0 {
            return Err(RateError(
                "a rate's period must be at least 1 ms".to_owned(),
            ));
        }
        if limit
            .checked_mul(period_ms)
            .is_none_or(|c| c > MAX_CAPACITY)
        {
            return Err(RateError(format!(
                "{limit} per {} is too large to count exactly",
                format_duration(period)
            )));
        }
        Ok(Self { limit, period_ms })
    }

    /// `limit` per second.
    ///
    /// # Errors
    ///
    /// See [`Rate::new`].
    pub fn per_second(limit: u64) -> Result<Self, RateError> {
        Self::new(limit, Duration::from_secs(1))
    }

    /// `limit` per minute.
    ///
    /// # Errors
    ///
    /// See [`Rate::new`].
    pub fn per_minute(limit: u64) -> Result<Self, RateError> {
        Self::new(limit, Duration::from_secs(60))
    }

    /// `limit` per hour.
    ///
    /// # Errors
    ///
    /// See [`Rate::new`].
    pub fn per_hour(limit: u64) -> Result<Self, RateError> {
        Self::new(limit, Duration::from_secs(3600))
    }

    /// `limit` per day.
    ///
    /// # Errors
    ///
    /// See [`Rate::new`].
    pub fn per_day(limit: u64) -> Result<Self, RateError> {
        Self::new(limit, Duration::from_secs(86_400))
    }

    /// Units admitted per period, and at most in one burst.
    pub fn limit(self) -> u64 {
        self.limit
    }

    /// The period over which `limit` units come back.
    pub fn period(self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    pub(crate) fn period_ms(self) -> u64 {
        self.period_ms
    }

    /// The full bucket, in scaled units.
    pub(crate) fn capacity(self) -> u64 {
        self.limit * self.period_ms
    }

    /// `amount` units, scaled.
    fn scaled(self, amount: u64) -> u64 {
        amount.saturating_mul(self.period_ms)
    }

    /// What the bucket drains in `elapsed_ms`, in scaled units.
    pub(crate) fn drain(self, elapsed_ms: u64) -> u64 {
        elapsed_ms.saturating_mul(self.limit)
    }

    /// The level after admitting `cost` units at `level`, or `None` when
    /// they do not fit. A cost of zero fits while the bucket is not full.
    pub(crate) fn admit(self, level: u64, cost: u64) -> Option<u64> {
        let room = self.capacity().saturating_sub(level);
        let need = self.scaled(cost);
        let fits = need <= room && (cost > 0 || room > 0);
        fits.then_some(level + need)
    }

    /// The level after giving back (`delta < 0`) or charging (`delta > 0`)
    /// units, never below empty nor above full.
    pub(crate) fn adjusted(self, level: u64, delta: i64) -> u64 {
        let change = self.scaled(delta.unsigned_abs());
        if delta >= 0 {
            level.saturating_add(change).min(self.capacity())
        } else {
            level.saturating_sub(change)
        }
    }

    /// What a bucket at `level` tells a client.
    pub(crate) fn state(self, level: u64) -> RateState {
        let level = level.min(self.capacity());
        RateState {
            limit: self.limit,
            remaining: (self.capacity() - level) / self.period_ms,
            reset_after: Duration::from_millis(level.div_ceil(self.limit)),
        }
    }

    /// How long until `cost` units fit in a bucket at `level`; `None` when
    /// they never can (more than the limit).
    pub(crate) fn retry_after(self, level: u64, cost: u64) -> Option<Duration> {
        if cost > self.limit {
            return None;
        }
        let excess = (level + self.scaled(cost)).saturating_sub(self.capacity());
        Some(Duration::from_millis(excess.div_ceil(self.limit).max(1)))
    }

    /// The decision for `cost` units at `level` (before) and `after`.
    pub(crate) fn decision(self, level: u64, cost: u64, after: Option<u64>) -> RateDecision {
        match after {
            Some(after) => RateDecision {
                admitted: true,
                state: self.state(after),
                retry_after: None,
            },
            None => RateDecision {
                admitted: false,
                state: self.state(level),
                retry_after: self.retry_after(level, cost),
            },
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} per {}", self.limit, format_duration(self.period()))
    }
}

/// Where a rate's bucket stands: OpenAI's `x-ratelimit-*` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// Units per period.
    pub limit: u64,
    /// Units that would be admitted now.
    pub remaining: u64,
    /// How long until the bucket is full again (all `limit` units free).
    pub reset_after: Duration,
}

/// What [`RateStore::acquire`](crate::RateStore::acquire) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the units were admitted (and are now counted).
    pub admitted: bool,
    /// The bucket after the decision.
    pub state: RateState,
    /// For a refusal, how long until the same cost would fit; `None` when
    /// admitted, or when the cost is more than the limit and never fits.
    pub retry_after: Option<Duration>,
}

/// A duration as OpenAI's rate-limit headers write it: `20ms`, `1.5s`,
/// `6m0s`, `1h2m3s`.
///
/// ```
/// use std::time::Duration;
/// use towergate_state::format_duration;
///
/// assert_eq!(format_duration(Duration::from_millis(20)), "20ms");
/// assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
/// assert_eq!(format_duration(Duration::from_secs(360)), "6m0s");
/// assert_eq!(format_duration(Duration::from_secs(3723)), "1h2m3s");
/// assert_eq!(format_duration(Duration::ZERO), "0s");
/// ```
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let (hours, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let seconds = match rest % 1000 {
        0 => format!("{}s", rest / 1000),
        fraction => {
            let fraction = format!("{fraction:03}");
            format!("{}.{}s", rest / 1000, fraction.trim_end_matches('0'))
        }
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, minutes) => format!("{minutes}m{seconds}"),
        (hours, minutes) => format!("{hours}h{minutes}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(limit: u64, period_ms: u64) -> Rate {
        Rate::new(limit, Duration::from_millis(period_ms)).unwrap()
    }

    #[test]
    fn a_burst_admits_exactly_the_limit() {
        let rate = rate(7, 60_000);
        let mut level = 0;
        for _ in 0..7 {
            level = rate.admit(level, 1).unwrap();
        }
        assert_eq!(rate.admit(level, 1), None);
        assert_eq!(rate.state(level).remaining, 0);
        assert_eq!(rate.state(level).reset_after, Duration::from_secs(60));
    }

    #[test]
    fn capacity_comes_back_evenly() {
        let rate = rate(60, 60_000);
        let full = rate.capacity();
        assert_eq!(rate.retry_after(full, 1), Some(Duration::from_secs(1)));
        let after_a_second = full - rate.drain(1000);
        assert_eq!(rate.state(after_a_second).remaining, 1);
        assert!(rate.admit(after_a_second, 1).is_some());
        assert!(rate.admit(after_a_second, 2).is_none());
        assert_eq!(
            rate.retry_after(after_a_second, 2),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn a_cost_above_the_limit_never_fits() {
        let rate = rate(100, 1000);
        assert_eq!(rate.admit(0, 101), None);
        assert_eq!(rate.retry_after(0, 101), None);
        assert!(rate.admit(0, 100).is_some());
    }

    #[test]
    fn a_zero_cost_fits_until_the_bucket_is_full() {
        let rate = rate(2, 1000);
        assert_eq!(rate.admit(0, 0), Some(0));
        assert_eq!(rate.admit(rate.capacity(), 0), None);
    }

    #[test]
    fn adjustments_stay_within_the_bucket() {
        let rate = rate(10, 1000);
        let level = rate.admit(0, 8).unwrap();
        assert_eq!(rate.state(rate.adjusted(level, -5)).remaining, 7);
        assert_eq!(rate.adjusted(level, -50), 0);
        assert_eq!(rate.adjusted(level, 50), rate.capacity());
    }

    #[test]
    fn rates_too_large_to_count_exactly_are_refused() {
        assert!(Rate::per_day(50_000_000).is_ok());
        let error = Rate::per_day(60_000_000).unwrap_err();
        assert_eq!(
            error.to_string(),
            "60000000 per 24h0m0s is too large to count exactly"
        );
        assert!(Rate::new(1, Duration::from_micros(10)).is_err());
    }
}
