use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use governor::{RateLimiter, clock::DefaultClock};

use crate::call_limit::{CallLimit, CallLimitLayer, Limiter};

/// Limiters by endpoint name and limit.
type Limiters = HashMap<(String, CallLimit), Arc<Limiter<DefaultClock>>>;

/// The limiters of a process, by endpoint, kept across config reloads.
///
/// Asking again for the same endpoint and the same limit returns the same
/// limiter, so what was spent stays spent; a changed limit starts afresh.
/// Cheap to clone: clones share the limiters.
#[derive(Clone, Default)]
pub struct LimitStore {
    limiters: Arc<Mutex<Limiters>>,
}

impl LimitStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that applies `limit` to `endpoint`, sharing its limiter with
    /// every other layer made for the same endpoint and limit.
    pub fn layer(&self, endpoint: &str, limit: CallLimit) -> CallLimitLayer {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        let limiter = limiters
            .entry((endpoint.to_owned(), limit))
            .or_insert_with(|| Arc::new(RateLimiter::direct(limit.quota())));
        CallLimitLayer::from_shared(limit, Arc::clone(limiter))
    }

    /// Drops the limiters of endpoints and limits not in `keep` (after a
    /// reload, so that removed endpoints do not hold memory forever).
    pub fn retain<'a>(&self, keep: impl IntoIterator<Item = (&'a str, CallLimit)>) {
        let keep: std::collections::HashSet<(String, CallLimit)> = keep
            .into_iter()
            .map(|(name, limit)| (name.to_owned(), limit))
            .collect();
        self.limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|key, _| keep.contains(key));
    }

    /// How many limiters the store holds.
    pub fn len(&self) -> usize {
        self.limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the store holds no limiter.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for LimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitStore")
            .field("limiters", &self.len())
            .finish()
    }
}
