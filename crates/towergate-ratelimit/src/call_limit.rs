//! MLflow's per-endpoint `limit`: `calls` per `renewal_period`.

use std::{fmt, num::NonZeroU32, time::Duration};

use towergate_state::Rate;

/// How often a `limit` renews (MLflow's `renewal_period`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RenewalPeriod {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
}

impl RenewalPeriod {
    /// The period's length.
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            RenewalPeriod::Second => 1,
            RenewalPeriod::Minute => 60,
            RenewalPeriod::Hour => 3600,
            RenewalPeriod::Day => 86_400,
        })
    }

    /// MLflow's name for it: `second`, `minute`, `hour`, `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalPeriod::Second => "second",
            RenewalPeriod::Minute => "minute",
            RenewalPeriod::Hour => "hour",
            RenewalPeriod::Day => "day",
        }
    }
}

/// `calls` per renewal period: MLflow's `limit` of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallLimit {
    calls: NonZeroU32,
    period: RenewalPeriod,
    rate: Rate,
}

/// Why a [`CallLimit`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimitError(String);

impl fmt::Display for CallLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CallLimitError {}

impl CallLimit {
    /// `calls` per `period`.
    ///
    /// # Errors
    ///
    /// `calls` is 0 or larger than `u32::MAX`.
    pub fn new(calls: u64, period: RenewalPeriod) -> Result<Self, CallLimitError> {
        let calls = u32::try_from(calls)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| CallLimitError(format!("`calls` must be between 1 and {}", u32::MAX)))?;
        let rate = Rate::new(u64::from(calls.get()), period.duration())
            .map_err(|error| CallLimitError(error.to_string()))?;
        Ok(Self {
            calls,
            period,
            rate,
        })
    }

    /// Calls admitted per period.
    pub fn calls(self) -> u32 {
        self.calls.get()
    }

    /// The renewal period.
    pub fn period(self) -> RenewalPeriod {
        self.period
    }

    /// The rate it enforces: `calls` per period.
    pub fn rate(self) -> Rate {
        self.rate
    }

    /// MLflow's words for a refusal: `Rate limit exceeded: 10 per 1 minute`.
    pub(crate) fn refusal_message(self) -> String {
        format!(
            "Rate limit exceeded: {} per 1 {}",
            self.calls,
            self.period.as_str()
        )
    }
}
