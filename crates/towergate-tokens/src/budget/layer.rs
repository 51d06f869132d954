//! The budget layer and the service it makes.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use tower_layer::Layer;
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest,
    gate::{Admission, Gate, Gated},
};
use towergate_state::{Decision, QuotaStore, Refusal, StoreError};

use super::{
    config::{Budget, OnStoreError, dollars, micros},
    estimate::{CostEstimate, UnknownCost},
    reservation::BudgetReservation,
};

/// Applies per-caller budgets to the requests that pass.
///
/// Cheap to clone: the budgets, the estimate and the store are shared.
#[derive(Clone)]
pub struct BudgetLayer {
    store: Arc<dyn QuotaStore>,
    budgets: Arc<HashMap<Box<str>, CallerBudget>>,
    estimate: Arc<dyn CostEstimate>,
    on_store_error: OnStoreError,
    store_errors: Arc<AtomicU64>,
}

/// One caller's budget, with what the store needs precomputed.
#[derive(Debug, Clone)]
struct CallerBudget {
    caller: Arc<str>,
    key: Arc<str>,
    budget: Budget,
    limit: u64,
}

impl BudgetLayer {
    /// A layer counting spend in `store`, with no budget yet: every request
    /// passes until [`budget`](Self::budget) sets one for its caller.
    pub fn new(store: Arc<dyn QuotaStore>) -> Self {
        Self {
            store,
            budgets: Arc::new(HashMap::new()),
            estimate: Arc::new(UnknownCost),
            on_store_error: OnStoreError::default(),
            store_errors: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Gives the caller named `caller` (the key's name in the config) a budget.
    ///
    /// Spend is counted under the store key `budget:{caller}`, so layers
    /// built with the same store (after a config reload, say) share it.
    pub fn budget(mut self, caller: impl Into<Arc<str>>, budget: Budget) -> Self {
        let caller = caller.into();
        let entry = CallerBudget {
            key: format!("budget:{caller}").into(),
            caller: Arc::clone(&caller),
            budget,
            limit: micros(budget.usd),
        };
        Arc::make_mut(&mut self.budgets).insert(Box::from(&*caller), entry);
        self
    }

    /// Estimates each request's worst-case cost with `estimate` (by default
    /// every price is unknown: nothing is reserved, and a request is refused
    /// only once its caller's budget is spent).
    pub fn estimate(mut self, estimate: impl CostEstimate) -> Self {
        self.estimate = Arc::new(estimate);
        self
    }

    /// What to do when the store cannot answer (default: refuse with 503).
    pub fn on_store_error(mut self, policy: OnStoreError) -> Self {
        self.on_store_error = policy;
        self
    }

    /// How many times the store could not answer, across this layer's clones.
    pub fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    /// The reservation to make for `request`, or `None` if it has no budget.
    fn admission(&self, request: &GatewayRequest) -> Option<Admission<BudgetReservation>> {
        let caller = request.caller()?;
        let entry = self.budgets.get(caller.name())?.clone();
        let amount = self.estimate.worst_case_usd(request).map_or(0, micros);
        let store = Arc::clone(&self.store);
        let on_store_error = self.on_store_error;
        let store_errors = Arc::clone(&self.store_errors);
        Some(Box::pin(async move {
            let window = entry.budget.period.window();
            let decision = store.reserve(&entry.key, window, amount, entry.limit).await;
            match decision {
                Ok(Decision::Admitted(reservation)) => Ok(BudgetReservation::new(
                    store,
                    entry.key,
                    entry.caller,
                    reservation.span,
                    amount,
                )),
                Ok(Decision::Refused(refusal)) => Err(exceeded(&entry, amount, &refusal)),
                Err(error) => {
                    store_errors.fetch_add(1, Ordering::Relaxed);
                    unavailable(store, entry, &error, on_store_error)
                }
            }
        }))
    }
}

/// The refusal of a request that does not fit its caller's budget.
fn exceeded(entry: &CallerBudget, amount: u64, refusal: &Refusal) -> GatewayError {
    let mut message = format!(
        "budget of {} exceeded: {} {}, {} spent or reserved",
        entry.caller,
        dollars(entry.limit),
        entry.budget.period.phrase(),
        dollars(refusal.used),
    );
    if amount > 0 {
        message.push_str(&format!(
            ", and this request may cost up to {}",
            dollars(amount)
        ));
    }
    let error = GatewayError::new(ErrorKind::BudgetExceeded, message).with_code("budget_exceeded");
    match refusal.retry_after {
        Some(wait) => error.with_retry_after(wait),
        None => error,
    }
}

/// The answer when the store cannot say whether a request fits.
fn unavailable(
    store: Arc<dyn QuotaStore>,
    entry: CallerBudget,
    error: &StoreError,
    policy: OnStoreError,
) -> Result<BudgetReservation, GatewayError> {
    match policy {
        OnStoreError::Closed => {
            tracing::warn!(caller = %entry.caller, %error, "budget store unavailable; refusing (on_store_error: closed)");
            Err(GatewayError::new(
                ErrorKind::Unavailable,
                format!(
                    "the budget of {} cannot be checked now: its store is unavailable; try again later",
                    entry.caller
                ),
            ))
        }
        OnStoreError::Open => {
            tracing::warn!(caller = %entry.caller, %error, "budget store unavailable; admitting (on_store_error: open)");
            // Nothing reserved; the real cost is still counted at settlement
            // if the store is back by then.
            let span = entry.budget.period.window().span_at(store.now());
            Ok(BudgetReservation::new(
                store,
                entry.key,
                entry.caller,
                span,
                0,
            ))
        }
    }
}

impl fmt::Debug for BudgetLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let budgets: HashMap<&str, &Budget> = self
            .budgets
            .iter()
            .map(|(caller, entry)| (&**caller, &entry.budget))
            .collect();
        f.debug_struct("BudgetLayer")
            .field("store", &self.store)
            .field("budgets", &budgets)
            .field("on_store_error", &self.on_store_error)
            .finish()
    }
}

impl<S> Layer<S> for BudgetLayer {
    type Service = Budgeted<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated::new(inner, self.clone())
    }
}

/// A service whose callers' spending is capped by a [`BudgetLayer`].
pub type Budgeted<S> = Gated<S, BudgetLayer>;

impl Gate for BudgetLayer {
    type Admitted = BudgetReservation;

    fn admission(&self, request: &GatewayRequest) -> Option<Admission<BudgetReservation>> {
        BudgetLayer::admission(self, request)
    }
}
