//! The worst-case cost of a request, decided before it runs.

use towergate_core::GatewayRequest;

/// Estimates the most a request can cost, in US dollars, before it runs.
///
/// The budget reserves this much and settles the real cost afterwards, so
/// an estimate that is too low lets a burst of requests overspend by the
/// difference, and one that is too high refuses requests that would have
/// fit. A gateway builds it from the token counter and the endpoint's
/// prices: the prompt's tokens plus `max_tokens` (or a default when the
/// request sets none). `None` means the price is unknown: nothing is
/// reserved, the real cost is still counted when it is settled, and the
/// request is refused only once the budget is spent.
///
/// Any `Fn(&GatewayRequest) -> Option<f64>` is an estimate:
///
/// ```
/// use towergate_core::{GatewayRequest, Operation};
/// use towergate_tokens::budget::CostEstimate;
///
/// let flat = |_request: &GatewayRequest| Some(0.002);
/// let request = GatewayRequest::new("chat", Operation::ListEndpoints);
/// assert_eq!(flat.worst_case_usd(&request), Some(0.002));
/// ```
pub trait CostEstimate: Send + Sync + 'static {
    /// The most `request` can cost, or `None` if its price is unknown.
    fn worst_case_usd(&self, request: &GatewayRequest) -> Option<f64>;
}

impl<F> CostEstimate for F
where
    F: Fn(&GatewayRequest) -> Option<f64> + Send + Sync + 'static,
{
    fn worst_case_usd(&self, request: &GatewayRequest) -> Option<f64> {
        self(request)
    }
}

/// The estimate a layer has until it is given one: every price is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnknownCost;

impl CostEstimate for UnknownCost {
    fn worst_case_usd(&self, _request: &GatewayRequest) -> Option<f64> {
        None
    }
}
