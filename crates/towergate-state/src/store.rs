//! The trait every quota store implements, and what its calls answer.

use std::{fmt, future::Future, pin::Pin, time::Duration, time::SystemTime};

use crate::window::{Span, Window};

/// The future a [`QuotaStore`] call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Counters of quota use per key and window, shared by limits and budgets.
///
/// Amounts are whole units chosen by the caller: micro-dollars (1e-6 USD)
/// for budgets, tokens or requests for limits. Every call is atomic with
/// respect to every other call on the same store, including calls from
/// other processes on a shared store, so concurrent reservations never
/// admit more than the limit together.
///
/// The trait is dyn-compatible: a gateway picks its store at run time and
/// hands `Arc<dyn QuotaStore>` to the layers that count.
pub trait QuotaStore: Send + Sync + fmt::Debug + 'static {
    /// The store's current time, which decides the window's span.
    fn now(&self) -> SystemTime;

    /// Adds `amount` to `key`'s counter in the current span of `window`, if
    /// it fits: when `used + amount <= limit` and `used < limit`. So a
    /// reservation of zero is admitted until the quota is spent, and then
    /// refused.
    ///
    /// A refusal changes nothing and says how much is used and when the
    /// span resets.
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> StoreFuture<'a, Decision>;

    /// Adds `delta` to `key`'s counter in `span` (the span a
    /// [`Reservation`] was made in), never going below zero: a negative
    /// delta gives back what was reserved but not used, a positive one
    /// records use beyond the reservation. Answers the counter after the
    /// change; a span that has ended is left alone and answers zero.
    fn adjust<'a>(&'a self, key: &'a str, span: Span, delta: i64) -> StoreFuture<'a, u64>;

    /// How much of `key`'s quota is used in the current span of `window`.
    fn used<'a>(&'a self, key: &'a str, window: Window) -> StoreFuture<'a, u64>;
}

/// What [`QuotaStore::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The amount fit and is now counted.
    Admitted(Reservation),
    /// The amount did not fit; nothing changed.
    Refused(Refusal),
}

impl Decision {
    /// Whether the reservation was admitted.
    pub fn is_admitted(&self) -> bool {
        matches!(self, Decision::Admitted(_))
    }

    /// The span the decision was made in.
    pub fn span(&self) -> Span {
        match self {
            Decision::Admitted(reservation) => reservation.span,
            Decision::Refused(refusal) => refusal.span,
        }
    }
}

/// An admitted reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// The span it is counted in; settle it with [`QuotaStore::adjust`] there.
    pub span: Span,
    /// The amount reserved.
    pub amount: u64,
    /// The counter after the reservation.
    pub used: u64,
}

/// A refused reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The span it was refused in.
    pub span: Span,
    /// The counter, unchanged.
    pub used: u64,
    /// How long until the span resets; `None` for [`Window::Total`].
    pub retry_after: Option<Duration>,
}

/// Why a store could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached, or did not answer in time.
    Unavailable(String),
    /// The store answered something that makes no sense (a counter that is
    /// not a number, say).
    Corrupt(String),
    /// The store cannot be used as configured (a malformed URL, say).
    Config(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "quota store unavailable: {why}"),
            StoreError::Corrupt(why) => write!(f, "quota store answered garbage: {why}"),
            StoreError::Config(why) => write!(f, "quota store misconfigured: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}
