//! State that towergate's limits and budgets share: quota counters.
//!
//! A [`QuotaStore`] counts use per key in fixed [`Window`]s (a calendar
//! day, week or month in UTC, forever, or slices of N seconds) and admits
//! a reservation only if it fits under a limit, atomically. Budgets count
//! micro-dollars in it, limits count tokens or requests. Two stores
//! implement it:
//!
//! - [`MemoryQuotaStore`], the default: one process, nothing to run.
//! - [`RedisQuotaStore`]: one Redis server shared by every gateway
//!   instance, so that together they admit exactly the limit. Every call is
//!   bounded by a timeout and fails with [`StoreError::Unavailable`] rather
//!   than hang when Redis is down; whether that admits or refuses a request
//!   is the caller's policy.
//!
//! Both are used as `Arc<dyn QuotaStore>`, so a gateway picks one from its
//! configuration at run time. Time comes from a [`Clock`], which tests
//! replace with a [`ManualClock`] to cross a window's end without waiting.
//!
//! ```
//! use std::{sync::Arc, time::{Duration, SystemTime}};
//! use towergate_state::{Decision, ManualClock, MemoryQuotaStore, QuotaStore, Window};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // 2025-11-30T23:00:00Z.
//! let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_543_600));
//! let store: Arc<dyn QuotaStore> = Arc::new(MemoryQuotaStore::with_clock(clock.clone()));
//!
//! // $1.00 a month, in micro-dollars.
//! let limit = 1_000_000;
//! assert!(store.reserve("team-a", Window::Month, 800_000, limit).await.unwrap().is_admitted());
//! match store.reserve("team-a", Window::Month, 800_000, limit).await.unwrap() {
//!     Decision::Refused(refusal) => {
//!         assert_eq!(refusal.used, 800_000);
//!         // November ends in an hour.
//!         assert_eq!(refusal.retry_after, Some(Duration::from_secs(3600)));
//!     }
//!     Decision::Admitted(_) => unreachable!("it does not fit"),
//! }
//!
//! // In December the counter starts again.
//! clock.advance(Duration::from_secs(3600));
//! assert!(store.reserve("team-a", Window::Month, 800_000, limit).await.unwrap().is_admitted());
//! # }
//! ```

mod background;
mod calendar;
mod clock;
mod memory;
mod memory_rate;
mod rate;
mod rate_store;
mod redis_rate;
mod redis_store;
mod store;
mod window;

pub use background::run_soon;
pub use clock::{Clock, ManualClock, SystemClock};
pub use memory::MemoryQuotaStore;
pub use memory_rate::{DEFAULT_PRUNE_EVERY, MemoryRateStore};
pub use rate::{Rate, RateDecision, RateError, RateState, format_duration};
pub use rate_store::RateStore;
pub use redis_store::{
    DEFAULT_PREFIX, DEFAULT_TIMEOUT, RedisQuotaStore, RedisQuotaStoreBuilder, connect_lazily,
};
pub use store::{Decision, QuotaStore, Refusal, Reservation, StoreError, StoreFuture};
pub use window::{Span, SpanId, Window};
