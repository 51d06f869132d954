//! Quota counters in this process's memory: the default, for one gateway instance.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime},
};

use crate::{
    clock::{Clock, SystemClock},
    store::{Decision, QuotaStore, Refusal, Reservation, StoreFuture},
    window::{Span, Window},
};

/// How often, in clock time, counters of ended spans are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A [`QuotaStore`] in memory, for one process.
///
/// A counter whose span has ended is replaced on its next use, and a
/// sweep at most once a minute (run by whichever call comes next) drops
/// every counter whose span has ended, so memory stays bounded by the keys
/// used in the current spans.
///
/// ```
/// use towergate_state::{Decision, MemoryQuotaStore, QuotaStore, Window};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = MemoryQuotaStore::new();
/// let first = store.reserve("team-a", Window::Day, 600, 1000).await.unwrap();
/// assert!(first.is_admitted());
/// let second = store.reserve("team-a", Window::Day, 600, 1000).await.unwrap();
/// assert!(!second.is_admitted());
/// // Give back 500 of the first reservation: now the second fits.
/// if let Decision::Admitted(reservation) = first {
///     store.adjust("team-a", reservation.span, -500).await.unwrap();
/// }
/// assert!(store.reserve("team-a", Window::Day, 600, 1000).await.unwrap().is_admitted());
/// assert_eq!(store.used("team-a", Window::Day).await.unwrap(), 700);
/// # }
/// ```
pub struct MemoryQuotaStore {
    clock: Arc<dyn Clock>,
    state: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    by_window: HashMap<Window, HashMap<Box<str>, Counter>>,
    next_sweep: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    span: Span,
    used: u64,
}

impl MemoryQuotaStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// An empty store reading the time from `clock`.
    pub fn with_clock(clock: impl Clock) -> Self {
        Self {
            clock: Arc::new(clock),
            state: Mutex::new(Counters::default()),
        }
    }

    /// How many counters the store holds (ended spans not yet swept included).
    pub fn len(&self) -> usize {
        self.lock().by_window.values().map(HashMap::len).sum()
    }

    /// Whether the store holds no counter.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Counters> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the counters, sweeping ended spans first when a sweep is due.
    fn counters_at(&self, now: SystemTime) -> MutexGuard<'_, Counters> {
        let mut counters = self.lock();
        match counters.next_sweep {
            Some(due) if now < due => {}
            _ => {
                counters.sweep(now);
                counters.next_sweep = now.checked_add(SWEEP_EVERY);
            }
        }
        counters
    }

    fn reserve_now(&self, key: &str, window: Window, amount: u64, limit: u64) -> Decision {
        let now = self.clock.now();
        let span = window.span_at(now);
        let mut counters = self.counters_at(now);
        let in_window = counters.by_window.entry(window).or_default();
        let used = match in_window.get(key) {
            Some(counter) if counter.span == span => counter.used,
            _ => 0,
        };
        if !fits(used, amount, limit) {
            return Decision::Refused(Refusal {
                span,
                used,
                retry_after: span.remaining(now),
            });
        }
        let used = used + amount;
        if amount > 0 {
            match in_window.get_mut(key) {
                Some(counter) => *counter = Counter { span, used },
                None => {
                    in_window.insert(key.into(), Counter { span, used });
                }
            }
        }
        Decision::Admitted(Reservation { span, amount, used })
    }

    fn adjust_now(&self, key: &str, span: Span, delta: i64) -> u64 {
        let now = self.clock.now();
        if span.has_ended(now) {
            return 0;
        }
        let mut counters = self.counters_at(now);
        let in_window = counters.by_window.entry(span.window()).or_default();
        match in_window.get_mut(key) {
            Some(counter) if counter.span == span => {
                counter.used = apply(counter.used, delta);
                counter.used
            }
            // A later span already counts: the earlier one is over.
            Some(counter) if counter.span.index() > span.index() => 0,
            Some(counter) => {
                *counter = Counter {
                    span,
                    used: apply(0, delta),
                };
                counter.used
            }
            None if delta > 0 => {
                let used = apply(0, delta);
                in_window.insert(key.into(), Counter { span, used });
                used
            }
            None => 0,
        }
    }

    fn used_now(&self, key: &str, window: Window) -> u64 {
        let now = self.clock.now();
        let span = window.span_at(now);
        let counters = self.counters_at(now);
        counters
            .by_window
            .get(&window)
            .and_then(|in_window| in_window.get(key))
            .filter(|counter| counter.span == span)
            .map_or(0, |counter| counter.used)
    }
}

impl Counters {
    fn sweep(&mut self, now: SystemTime) {
        self.by_window.retain(|_, in_window| {
            in_window.retain(|_, counter| !counter.span.has_ended(now));
            !in_window.is_empty()
        });
    }
}

/// Whether `amount` more fits under `limit` when `used` is counted.
pub(crate) fn fits(used: u64, amount: u64, limit: u64) -> bool {
    used < limit && amount <= limit - used
}

/// `used + delta`, clamped to `0..=u64::MAX`.
fn apply(used: u64, delta: i64) -> u64 {
    if delta >= 0 {
        used.saturating_add(delta.unsigned_abs())
    } else {
        used.saturating_sub(delta.unsigned_abs())
    }
}

impl Default for MemoryQuotaStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryQuotaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryQuotaStore")
            .field("clock", &self.clock)
            .field("counters", &self.len())
            .finish()
    }
}

impl QuotaStore for MemoryQuotaStore {
    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    fn reserve<'a>(
        &'a self,
        key: &'a str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> StoreFuture<'a, Decision> {
        let decision = self.reserve_now(key, window, amount, limit);
        Box::pin(std::future::ready(Ok(decision)))
    }

    fn adjust<'a>(&'a self, key: &'a str, span: Span, delta: i64) -> StoreFuture<'a, u64> {
        let used = self.adjust_now(key, span, delta);
        Box::pin(std::future::ready(Ok(used)))
    }

    fn used<'a>(&'a self, key: &'a str, window: Window) -> StoreFuture<'a, u64> {
        let used = self.used_now(key, window);
        Box::pin(std::future::ready(Ok(used)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_checks_the_limit_and_a_spent_quota() {
        assert!(fits(0, 10, 10));
        assert!(!fits(1, 10, 10));
        assert!(fits(9, 0, 10));
        assert!(!fits(10, 0, 10));
        assert!(!fits(0, 0, 0));
        assert!(fits(u64::MAX - 1, 1, u64::MAX));
    }

    #[test]
    fn apply_never_goes_below_zero_or_wraps() {
        assert_eq!(apply(5, -10), 0);
        assert_eq!(apply(5, 3), 8);
        assert_eq!(apply(u64::MAX, 1), u64::MAX);
        assert_eq!(apply(5, i64::MIN), 0);
    }
}
