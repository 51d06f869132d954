//! A budget reservation waiting for the request's real cost.

use std::{fmt, sync::Arc};

use tokio::runtime::Handle;
use towergate_core::{GatewayRequest, gate::Admitted, settle::Settlements};
use towergate_state::{QuotaStore, Span};

use super::config::micros;

/// What one admitted request reserved of its caller's budget.
///
/// [`settle`](Self::settle) replaces the reservation with the real cost:
/// it gives back what was not used, or counts what was used beyond it.
/// A reservation dropped without being settled (no accounting layer ran,
/// or the request was dropped before its answer) stays spent in full:
/// unknown spending is counted as the worst case, never as nothing. That
/// is why dropping it does nothing but say so in a debug log.
pub struct BudgetReservation {
    store: Arc<dyn QuotaStore>,
    key: Arc<str>,
    caller: Arc<str>,
    span: Span,
    reserved: u64,
    runtime: Option<Handle>,
    settled: bool,
}

impl BudgetReservation {
    pub(crate) fn new(
        store: Arc<dyn QuotaStore>,
        key: Arc<str>,
        caller: Arc<str>,
        span: Span,
        reserved: u64,
    ) -> Self {
        Self {
            store,
            key,
            caller,
            span,
            reserved,
            runtime: Handle::try_current().ok(),
            settled: false,
        }
    }

    /// The caller whose budget this is.
    pub fn caller(&self) -> &str {
        &self.caller
    }

    /// What was reserved, in US dollars.
    pub fn reserved_usd(&self) -> f64 {
        self.reserved as f64 / 1e6
    }

    /// Settles the reservation with what the request really cost.
    ///
    /// A store that answers at once (in memory) is adjusted here; any other
    /// is adjusted on the Tokio runtime in the background, so this never
    /// blocks. If the store cannot be reached then, the reservation stays
    /// spent as it was and a warning is logged.
    pub fn settle(mut self, cost_usd: f64) {
        self.settled = true;
        let delta = i128::from(micros(cost_usd)) - i128::from(self.reserved);
        let delta = i64::try_from(delta).unwrap_or(if delta > 0 { i64::MAX } else { i64::MIN });
        if delta == 0 {
            return;
        }
        let store = Arc::clone(&self.store);
        let key = Arc::clone(&self.key);
        let caller = Arc::clone(&self.caller);
        let span = self.span;
        let adjust = async move {
            if let Err(error) = store.adjust(&key, span, delta).await {
                tracing::warn!(
                    %caller,
                    delta_micro_usd = delta,
                    %error,
                    "could not settle a budget reservation; it stays as reserved"
                );
            }
        };
        if !towergate_state::run_soon(adjust, self.runtime.take()) {
            tracing::warn!(
                caller = %self.caller,
                cost_usd,
                "no Tokio runtime to settle a budget reservation on; it stays as reserved"
            );
        }
    }
}

/// Entering the request, the reservation is pushed onto its settlements,
/// so whoever settles the request's usage settles the reservation too.
impl Admitted for BudgetReservation {
    type Leave = ();

    fn enter(self, request: &mut GatewayRequest) {
        Settlements::of(request).push(move |spent| self.settle(spent.cost_usd));
    }
}

impl Drop for BudgetReservation {
    fn drop(&mut self) {
        // Deliberately nothing to undo: unsettled means spent as reserved.
        if !self.settled && self.reserved > 0 {
            tracing::debug!(
                caller = %self.caller,
                reserved_usd = self.reserved_usd(),
                "budget reservation dropped unsettled; it stays spent"
            );
        }
    }
}

impl fmt::Debug for BudgetReservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetReservation")
            .field("caller", &self.caller)
            .field("span", &self.span.id().to_string())
            .field("reserved_usd", &self.reserved_usd())
            .field("settled", &self.settled)
            .finish()
    }
}
