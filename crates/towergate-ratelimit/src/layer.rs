//! The rate-limit layer and the service it makes.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tower_layer::Layer;
use towergate_core::{
    GatewayRequest, Operation,
    gate::{Admission, Gate, Gated},
};
use towergate_state::RateStore;
use towergate_tokens::{TokenCounter, budget::OnStoreError};

use crate::{
    CallLimit,
    admission::{Admitted, admit},
    estimate::TokenEstimate,
    limits::{Limits, Unit},
    rule::{KeyBy, Rule, Wording},
};

/// Limits the requests and tokens of the requests that pass.
///
/// Cheap to clone: the rules, the store and the counters are shared.
#[derive(Clone)]
pub struct RateLimitLayer {
    shared: Arc<Shared>,
}

/// What every clone of a layer shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn RateStore>,
    pub(crate) rules: Vec<Rule>,
    estimate: Arc<dyn TokenEstimate>,
    pub(crate) on_store_error: OnStoreError,
    store_errors: AtomicU64,
    refusals: AtomicU64,
}

impl Shared {
    pub(crate) fn count_store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_refusal(&self) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
    }
}

impl RateLimitLayer {
    /// A layer counting in `store`, with no limit yet.
    pub fn new(store: Arc<dyn RateStore>) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                rules: Vec::new(),
                estimate: Arc::new(TokenCounter::default()),
                on_store_error: OnStoreError::default(),
                store_errors: AtomicU64::new(0),
                refusals: AtomicU64::new(0),
            }),
        }
    }

    /// Changes the configuration; only while building, before any clone.
    fn configure(mut self, change: impl FnOnce(&mut Shared)) -> Self {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => change(shared),
            None => {
                let old = &self.shared;
                let mut shared = Shared {
                    store: Arc::clone(&old.store),
                    rules: old.rules.clone(),
                    estimate: Arc::clone(&old.estimate),
                    on_store_error: old.on_store_error,
                    store_errors: AtomicU64::new(0),
                    refusals: AtomicU64::new(0),
                };
                change(&mut shared);
                self.shared = Arc::new(shared);
            }
        }
        self
    }

    fn rule(self, key_by: KeyBy, caller: Option<Arc<str>>, limits: &Limits) -> Self {
        self.configure(|shared| {
            for (unit, rate) in limits.rates() {
                shared.rules.push(Rule {
                    key_by,
                    caller: caller.clone(),
                    unit,
                    rate,
                    wording: Wording::Standard,
                });
            }
        })
    }

    /// Enforces `limits` on every request, counted per `key_by`.
    pub fn limits(self, key_by: KeyBy, limits: &Limits) -> Self {
        self.rule(key_by, None, limits)
    }

    /// Enforces `limits` on the requests of the caller named `caller` (the
    /// key's name in the config), across every endpoint it calls.
    pub fn caller_limits(self, caller: impl Into<Arc<str>>, limits: &Limits) -> Self {
        self.rule(KeyBy::Caller, Some(caller.into()), limits)
    }

    /// Enforces MLflow's `limit`: `calls` per period for each endpoint, all
    /// callers together, refused in MLflow's words.
    pub fn call_limit(self, limit: CallLimit) -> Self {
        self.configure(|shared| {
            shared.rules.push(Rule {
                key_by: KeyBy::Endpoint,
                caller: None,
                unit: Unit::Requests,
                rate: limit.rate(),
                wording: Wording::Mlflow(limit),
            });
        })
    }

    /// Estimates the tokens a request may use with `estimate` (by default,
    /// a `cl100k` count of the prompt, raised as an estimate, plus
    /// `max_tokens`).
    pub fn estimate(self, estimate: impl TokenEstimate) -> Self {
        self.configure(|shared| shared.estimate = Arc::new(estimate))
    }

    /// What to do when the store cannot answer (default: refuse with 503).
    pub fn on_store_error(self, policy: OnStoreError) -> Self {
        self.configure(|shared| shared.on_store_error = policy)
    }

    /// Whether the layer has no limit (it then passes every request as is).
    pub fn is_empty(&self) -> bool {
        self.shared.rules.is_empty()
    }

    /// How many times the store could not answer, across this layer's clones.
    pub fn store_errors(&self) -> u64 {
        self.shared.store_errors.load(Ordering::Relaxed)
    }

    /// How many requests were refused, across this layer's clones.
    pub fn refusals(&self) -> u64 {
        self.shared.refusals.load(Ordering::Relaxed)
    }

    /// The decision to make on `request`, or `None` when no limit applies.
    fn admission(&self, request: &GatewayRequest) -> Option<Admission<Admitted>> {
        if matches!(request.operation, Operation::ListEndpoints) {
            return None;
        }
        let shared = &self.shared;
        let mut tokens = None;
        let checks: Vec<_> = shared
            .rules
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| {
                let cost = match rule.unit {
                    Unit::Requests => 0,
                    Unit::Tokens => {
                        *tokens.get_or_insert_with(|| shared.estimate.worst_case_tokens(request))
                    }
                };
                rule.check(index, request, cost)
            })
            .collect();
        if checks.is_empty() {
            return None;
        }
        Some(Box::pin(admit(Arc::clone(shared), checks)))
    }
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("store", &self.shared.store)
            .field("rules", &self.shared.rules)
            .field("on_store_error", &self.shared.on_store_error)
            .finish()
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated::new(inner, self.clone())
    }
}

/// A service whose requests are limited by a [`RateLimitLayer`].
pub type RateLimited<S> = Gated<S, RateLimitLayer>;

impl Gate for RateLimitLayer {
    type Admitted = Admitted;

    fn admission(&self, request: &GatewayRequest) -> Option<Admission<Admitted>> {
        RateLimitLayer::admission(self, request)
    }
}
