//! The trait every rate store implements.

use std::fmt;

use crate::{
    rate::{Rate, RateDecision, RateState},
    store::StoreFuture,
};

/// Buckets of [`Rate`]-limited units (requests, tokens) per key.
///
/// Each key has one bucket per rate: the same key under another rate is
/// another bucket, so a changed limit starts afresh. Every call is atomic
/// with respect to every other call on the same store, including calls
/// from other processes on a shared store, so concurrent acquisitions
/// never admit more than the limit together.
///
/// The trait is dyn-compatible: a gateway picks its store at run time and
/// hands `Arc<dyn RateStore>` to the layers that limit.
pub trait RateStore: Send + Sync + fmt::Debug + 'static {
    /// Takes `cost` units from `key`'s bucket of `rate` if they fit. A
    /// refusal changes nothing.
    fn acquire<'a>(&'a self, key: &'a str, rate: Rate, cost: u64) -> StoreFuture<'a, RateDecision>;

    /// Gives back (`delta < 0`) units that were acquired but not used, or
    /// takes more (`delta > 0`) that were used beyond what was acquired,
    /// whether they fit or not. The bucket never goes below empty nor
    /// above full. Answers the bucket after the change.
    fn adjust<'a>(&'a self, key: &'a str, rate: Rate, delta: i64) -> StoreFuture<'a, RateState>;
}
