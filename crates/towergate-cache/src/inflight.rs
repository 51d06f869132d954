//! Coalescing: concurrent identical misses share one upstream call.
//!
//! The first miss of a key becomes its leader and calls the upstream; the
//! misses that come while it is in flight follow: they wait for the
//! leader's outcome instead of calling. A leader that goes away without an
//! outcome (its caller hung up) lets one follower lead in its place; one
//! whose answer cannot be cached (a cut stream) lets them all call at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::watch;
use towergate_core::GatewayError;

use crate::{CacheKey, CachedAnswer};

/// What a leader hands its followers.
#[derive(Clone)]
pub(crate) enum Outcome {
    /// The answer, for every follower.
    Answer(Arc<CachedAnswer>),
    /// The upstream's error, for every follower.
    Failed(GatewayError),
    /// An answer that cannot be cached: each follower calls on its own.
    Uncacheable,
}

type Slot = watch::Receiver<Option<Outcome>>;

/// The keys whose upstream calls are in flight.
#[derive(Default)]
pub(crate) struct InFlight {
    calls: Mutex<HashMap<CacheKey, Slot>>,
}

/// Whether a miss leads or follows.
pub(crate) enum Role {
    /// Call the upstream, then [`Leader::finish`].
    Leader(Leader),
    /// Wait with [`Follower::outcome`].
    Follower(Follower),
}

/// The one miss of a key that calls the upstream.
pub(crate) struct Leader {
    in_flight: Arc<InFlight>,
    key: CacheKey,
    sender: watch::Sender<Option<Outcome>>,
}

/// A miss that waits for its leader.
pub(crate) struct Follower(Slot);

impl InFlight {
    /// Leads `key` if no call for it is in flight, else follows that call.
    pub(crate) fn join(self: &Arc<Self>, key: CacheKey) -> Role {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = calls.get(&key)
            && slot.has_changed().is_ok()
        {
            return Role::Follower(Follower(slot.clone()));
        }
        let (sender, receiver) = watch::channel(None);
        calls.insert(key, receiver);
        Role::Leader(Leader {
            in_flight: Arc::clone(self),
            key,
            sender,
        })
    }

    /// How many keys have a call in flight.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Leader {
    /// Hands `outcome` to every follower; later misses of the key lead
    /// anew once the leader is dropped (after the answer is stored).
    pub(crate) fn finish(&self, outcome: Outcome) {
        self.sender.send_replace(Some(outcome));
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let mut calls = self
            .in_flight
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only this leader's own call: a newer leader of the key stays.
        if calls
            .get(&self.key)
            .is_some_and(|slot| slot.same_channel(&self.sender.subscribe()))
        {
            calls.remove(&self.key);
        }
    }
}

impl Follower {
    /// The leader's outcome; `None` when the leader went away without one.
    pub(crate) async fn outcome(mut self) -> Option<Outcome> {
        match self.0.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CachedBody;

    fn answer() -> Arc<CachedAnswer> {
        let embeddings =
            serde_json::from_str(r#"{"object":"list","data":[],"model":"m"}"#).unwrap();
        Arc::new(CachedAnswer::new(CachedBody::Embeddings(embeddings)))
    }

    #[tokio::test]
    async fn followers_get_the_leaders_outcome() {
        let in_flight = Arc::new(InFlight::default());
        let key = CacheKey::from_bytes([1; 32]);
        let Role::Leader(leader) = in_flight.join(key) else {
            panic!("the first miss leads")
        };
        let Role::Follower(follower) = in_flight.join(key) else {
            panic!("the second miss follows")
        };
        let waiting = tokio::spawn(follower.outcome());
        leader.finish(Outcome::Answer(answer()));
        let Some(Outcome::Answer(got)) = waiting.await.unwrap() else {
            panic!("the follower gets the answer")
        };
        assert_eq!(got, answer());
        drop(leader);
        assert_eq!(in_flight.len(), 0);
        assert!(matches!(in_flight.join(key), Role::Leader(_)));
    }

    #[tokio::test]
    async fn a_leader_gone_without_an_outcome_lets_a_follower_lead() {
        let in_flight = Arc::new(InFlight::default());
        let key = CacheKey::from_bytes([2; 32]);
        let Role::Leader(leader) = in_flight.join(key) else {
            panic!("the first miss leads")
        };
        let Role::Follower(follower) = in_flight.join(key) else {
            panic!("the second miss follows")
        };
        drop(leader);
        assert!(follower.outcome().await.is_none());
        let Role::Leader(next) = in_flight.join(key) else {
            panic!("a new miss leads")
        };
        // An older leader's drop does not remove a newer one.
        drop(next);
        assert_eq!(in_flight.len(), 0);
    }
}
