//! Fixed windows that quotas are counted in: calendar periods and N-second slices.
//!
//! A [`Window`] is a kind of period (a day, a minute); a [`Span`] is one
//! concrete period of it (2026-11-05, the minute that started at 12:04:00),
//! with an id that names it in a store and the instant it ends.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use towergate_state::Window;
//!
//! // 2025-11-05T12:00:00Z, a Wednesday.
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_762_344_000);
//! assert_eq!(Window::Day.span_at(now).id().to_string(), "2025-11-05");
//! assert_eq!(Window::Week.span_at(now).id().to_string(), "2025-W45");
//! assert_eq!(Window::Month.span_at(now).id().to_string(), "2025-11");
//! assert_eq!(Window::Total.span_at(now).ends_at(), None);
//! // The day resets at midnight UTC, twelve hours later.
//! let day = Window::Day.span_at(now);
//! assert_eq!(day.remaining(now), Some(Duration::from_secs(12 * 3600)));
//! ```

use std::{
    fmt,
    num::NonZeroU64,
    time::{Duration, SystemTime},
};

use crate::calendar::{self, SECONDS_PER_DAY};

/// A kind of fixed window; counters start again from zero in each new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// A calendar day, from midnight UTC.
    Day,
    /// An ISO week, from Monday midnight UTC.
    Week,
    /// A calendar month, from the first at midnight UTC.
    Month,
    /// Forever: the counter never resets.
    Total,
    /// Slices of this many seconds, aligned on the Unix epoch (so
    /// `Every(60)` slices are calendar minutes).
    Every(NonZeroU64),
}

impl Window {
    /// Slices of `length`, which must be a whole, non-zero number of seconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use towergate_state::Window;
    /// assert!(Window::every(Duration::from_secs(60)).is_some());
    /// assert!(Window::every(Duration::from_millis(1500)).is_none());
    /// assert!(Window::every(Duration::ZERO).is_none());
    /// ```
    pub fn every(length: Duration) -> Option<Self> {
        if length.subsec_nanos() != 0 {
            return None;
        }
        NonZeroU64::new(length.as_secs()).map(Window::Every)
    }

    /// The span of this window that holds `now`.
    pub fn span_at(self, now: SystemTime) -> Span {
        let seconds = unix_seconds(now);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let (index, end_seconds) = match self {
            Window::Day => (days, day_start(days.saturating_add(1))),
            Window::Week => {
                let monday = calendar::monday_of(days);
                (monday, day_start(monday.saturating_add(7)))
            }
            Window::Month => {
                let date = calendar::civil_from_days(days);
                let index = date.year * 12 + i64::from(date.month) - 1;
                let end = calendar::first_of_next_month(date.year, date.month);
                (index, day_start(end))
            }
            Window::Total => return Span::total(),
            Window::Every(length) => {
                let length = i64::try_from(length.get()).unwrap_or(i64::MAX);
                let index = seconds.div_euclid(length);
                (index, index.saturating_add(1).saturating_mul(length))
            }
        };
        Span {
            window: self,
            index,
            end: system_time(end_seconds),
        }
    }
}

/// `day`, `week`, `month`, `total`, or `60s` for `Every(60)`.
impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Day => f.write_str("day"),
            Window::Week => f.write_str("week"),
            Window::Month => f.write_str("month"),
            Window::Total => f.write_str("total"),
            Window::Every(length) => write!(f, "{length}s"),
        }
    }
}

/// One concrete period of a [`Window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    window: Window,
    index: i64,
    end: Option<SystemTime>,
}

impl Span {
    fn total() -> Self {
        Self {
            window: Window::Total,
            index: 0,
            end: None,
        }
    }

    /// The window this span is a period of.
    pub fn window(&self) -> Window {
        self.window
    }

    /// A number that orders the spans of one window: a later span has a
    /// larger index.
    pub fn index(&self) -> i64 {
        self.index
    }

    /// When the span ends and its counter resets; `None` for [`Window::Total`].
    pub fn ends_at(&self) -> Option<SystemTime> {
        self.end
    }

    /// How long from `now` until the span ends; `None` if it never does.
    pub fn remaining(&self, now: SystemTime) -> Option<Duration> {
        self.end
            .map(|end| end.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// Whether the span is over at `now`.
    pub fn has_ended(&self, now: SystemTime) -> bool {
        self.end.is_some_and(|end| end <= now)
    }

    /// The span's id, stable across processes: `2026-11-05`, `2026-W45`,
    /// `2026-11`, `total`, or `60s-29412345` for slices of 60 seconds.
    pub fn id(&self) -> SpanId {
        SpanId(*self)
    }
}

/// A span's id, as [`Span::id`] gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId(Span);

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Span { window, index, .. } = self.0;
        match window {
            Window::Day => {
                let date = calendar::civil_from_days(index);
                write!(f, "{:04}-{:02}-{:02}", date.year, date.month, date.day)
            }
            Window::Week => {
                let (year, week) = calendar::iso_week(index);
                write!(f, "{year:04}-W{week:02}")
            }
            Window::Month => {
                let year = index.div_euclid(12);
                let month = index.rem_euclid(12) + 1;
                write!(f, "{year:04}-{month:02}")
            }
            Window::Total => f.write_str("total"),
            Window::Every(length) => write!(f, "{length}s-{index}"),
        }
    }
}

fn day_start(days: i64) -> i64 {
    days.saturating_mul(SECONDS_PER_DAY)
}

/// Whole seconds since the Unix epoch, rounded down (also before the epoch).
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            if before.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    }
}

/// The instant `seconds` after the epoch, if the platform can hold it.
fn system_time(seconds: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    // 2025-11-05T00:00:00Z, a Wednesday (`date -u -d 2025-11-05 +%s`).
    const NOV_5: u64 = 1_762_300_800;
    const DAY: u64 = 86_400;

    #[test]
    fn a_day_runs_from_midnight_to_midnight() {
        let first = Window::Day.span_at(at(NOV_5));
        let last = Window::Day.span_at(at(NOV_5 + DAY - 1));
        assert_eq!(first, last);
        assert_eq!(first.id().to_string(), "2025-11-05");
        assert_eq!(first.ends_at(), Some(at(NOV_5 + DAY)));
        let next = Window::Day.span_at(at(NOV_5 + DAY));
        assert_eq!(next.id().to_string(), "2025-11-06");
        assert!(next.index() > first.index());
        assert!(first.has_ended(at(NOV_5 + DAY)));
        assert!(!first.has_ended(at(NOV_5 + DAY - 1)));
    }

    #[test]
    fn a_week_runs_from_monday_to_monday() {
        // Monday 2025-11-03 to Monday 2025-11-10.
        let monday = NOV_5 - 2 * DAY;
        let span = Window::Week.span_at(at(NOV_5));
        assert_eq!(span, Window::Week.span_at(at(monday)));
        assert_eq!(span, Window::Week.span_at(at(monday + 7 * DAY - 1)));
        assert_eq!(span.id().to_string(), "2025-W45");
        assert_eq!(span.ends_at(), Some(at(monday + 7 * DAY)));
        assert_eq!(
            Window::Week.span_at(at(monday - 1)).id().to_string(),
            "2025-W44"
        );
        // 2021-01-01 is in the last ISO week of 2020.
        assert_eq!(
            Window::Week.span_at(at(1_609_459_200)).id().to_string(),
            "2020-W53"
        );
    }

    #[test]
    fn a_month_runs_to_the_first_of_the_next() {
        let span = Window::Month.span_at(at(NOV_5));
        assert_eq!(span.id().to_string(), "2025-11");
        // 2025-12-01T00:00:00Z.
        assert_eq!(span.ends_at(), Some(at(1_764_547_200)));
        let december = Window::Month.span_at(at(1_764_547_200));
        assert_eq!(december.id().to_string(), "2025-12");
        // 2026-01-01T00:00:00Z.
        assert_eq!(december.ends_at(), Some(at(1_767_225_600)));
        assert_eq!(
            Window::Month.span_at(at(1_767_225_600)).id().to_string(),
            "2026-01"
        );
    }

    #[test]
    fn total_never_ends() {
        let span = Window::Total.span_at(at(NOV_5));
        assert_eq!(span, Window::Total.span_at(at(0)));
        assert_eq!(span.id().to_string(), "total");
        assert_eq!(span.remaining(at(NOV_5)), None);
        assert!(!span.has_ended(at(u64::from(u32::MAX))));
    }

    #[test]
    fn slices_align_on_the_epoch() {
        let minute = Window::every(Duration::from_secs(60)).unwrap();
        let span = minute.span_at(at(NOV_5 + 90));
        assert_eq!(span.ends_at(), Some(at(NOV_5 + 120)));
        assert_eq!(
            span.remaining(at(NOV_5 + 90)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(span.id().to_string(), format!("60s-{}", (NOV_5 + 90) / 60));
        assert_eq!(minute.to_string(), "60s");
    }

    #[test]
    fn times_before_the_epoch_round_down() {
        let before = SystemTime::UNIX_EPOCH - Duration::from_millis(500);
        let span = Window::Day.span_at(before);
        assert_eq!(span.id().to_string(), "1969-12-31");
        assert_eq!(span.ends_at(), Some(SystemTime::UNIX_EPOCH));
    }
}
