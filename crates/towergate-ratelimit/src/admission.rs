//! Deciding one request: every bucket it counts in, in turn.

use std::{fmt, sync::Arc};

use http::HeaderMap;
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest,
    gate::{self, Answer, Leave},
    settle::{Settlements, Spent},
};
use towergate_state::{RateDecision, format_duration, run_soon};
use towergate_tokens::budget::OnStoreError;

use crate::{
    headers,
    layer::Shared,
    limits::Unit,
    rule::{Check, Rule, Wording},
};

/// An admitted request: what to tell the client, and the tokens it
/// reserved, to settle when its usage is known.
pub struct Admitted {
    shared: Arc<Shared>,
    headers: HeaderMap,
    reserved: Vec<Reserved>,
}

impl fmt::Debug for Admitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admitted")
            .field("headers", &self.headers)
            .field("reserved", &self.reserved)
            .finish()
    }
}

/// Entering the request, token reservations are pushed onto its
/// settlements, so whoever settles the request's usage settles them too.
impl gate::Admitted for Admitted {
    type Leave = RateHeaders;

    fn enter(self, request: &mut GatewayRequest) -> RateHeaders {
        if !self.reserved.is_empty() {
            let (shared, reserved) = (self.shared, self.reserved);
            let runtime = tokio::runtime::Handle::try_current().ok();
            Settlements::of(request).push(move |spent| {
                settle(&shared, reserved, spent, runtime.as_ref());
            });
        }
        RateHeaders(self.headers)
    }
}

/// The limits' `x-ratelimit-*` headers, for the answer or the error.
#[derive(Debug)]
pub struct RateHeaders(HeaderMap);

impl Leave for RateHeaders {
    fn leave(self, answer: Answer) -> Answer {
        if self.0.is_empty() {
            return answer;
        }
        match answer {
            Ok(mut response) => {
                headers::merge(&mut response.meta.headers, &self.0);
                Ok(response)
            }
            Err(mut error) => {
                headers::merge(error.headers_mut(), &self.0);
                Err(error)
            }
        }
    }
}

/// Tokens taken from one bucket before the call.
#[derive(Debug, Clone)]
struct Reserved {
    key: String,
    rule: usize,
    cost: u64,
}

/// Takes the request's units from every bucket in `checks`. On a refusal,
/// or a store error under `closed`, what was already taken is given back.
pub(crate) async fn admit(
    shared: Arc<Shared>,
    checks: Vec<Check>,
) -> Result<Admitted, GatewayError> {
    let mut headers = HeaderMap::new();
    let mut taken: Vec<&Check> = Vec::with_capacity(checks.len());
    for check in &checks {
        let rule = &shared.rules[check.rule];
        match shared
            .store
            .acquire(&check.key, rule.rate, check.cost)
            .await
        {
            Ok(decision) if decision.admitted => {
                headers::report(&mut headers, rule.unit, &decision.state);
                taken.push(check);
            }
            Ok(decision) => {
                give_back(&shared, &taken).await;
                shared.count_refusal();
                headers::report(&mut headers, rule.unit, &decision.state);
                let mut error = refusal(rule, check, &decision);
                *error.headers_mut() = headers;
                return Err(error);
            }
            Err(error) => {
                shared.count_store_error();
                match shared.on_store_error {
                    OnStoreError::Closed => {
                        tracing::warn!(bucket = %check.key, %error, "rate limit store unavailable; refusing (on_redis_error: closed)");
                        give_back(&shared, &taken).await;
                        return Err(GatewayError::new(
                            ErrorKind::Unavailable,
                            format!(
                                "the rate limit of {} cannot be checked now: its store is unavailable; try again later",
                                check.whose
                            ),
                        ));
                    }
                    OnStoreError::Open => {
                        tracing::warn!(bucket = %check.key, %error, "rate limit store unavailable; admitting (on_redis_error: open)");
                    }
                }
            }
        }
    }
    let reserved = taken
        .into_iter()
        .filter(|check| shared.rules[check.rule].unit == Unit::Tokens)
        .map(|check| Reserved {
            key: check.key.clone(),
            rule: check.rule,
            cost: check.cost,
        })
        .collect();
    Ok(Admitted {
        shared,
        headers,
        reserved,
    })
}

/// Returns what `taken` acquired; a store error leaves it taken.
async fn give_back(shared: &Shared, taken: &[&Check]) {
    for check in taken {
        let rate = shared.rules[check.rule].rate;
        let delta = i64::try_from(check.cost).unwrap_or(i64::MAX);
        if let Err(error) = shared.store.adjust(&check.key, rate, -delta).await {
            tracing::warn!(bucket = %check.key, %error, "could not give back a refused request's units");
        }
    }
}

/// The refusal of `check` under `rule`.
fn refusal(rule: &Rule, check: &Check, decision: &RateDecision) -> GatewayError {
    let message = match (rule.wording, decision.retry_after) {
        (Wording::Mlflow(limit), _) => limit.refusal_message(),
        (Wording::Standard, Some(wait)) => format!(
            "Rate limit reached for {} ({}): limit {}, remaining {}, requested {}; try again in {}",
            rule.phrase(),
            check.whose,
            rule.rate.limit(),
            decision.state.remaining,
            check.cost,
            format_duration(wait),
        ),
        (Wording::Standard, None) => format!(
            "Request too large for {} ({}): it may use up to {} tokens (the prompt plus \
             `max_tokens`), more than the limit of {}; lower `max_tokens` or shorten the prompt",
            rule.phrase(),
            check.whose,
            check.cost,
            rule.rate.limit(),
        ),
    };
    let error = GatewayError::new(ErrorKind::RateLimited, message).with_code("rate_limit_exceeded");
    match decision.retry_after {
        Some(wait) => error.with_retry_after(wait),
        None => error,
    }
}

/// Settles token reservations with what the request really used: gives
/// back what it did not use, takes what it used beyond them.
fn settle(
    shared: &Shared,
    reserved: Vec<Reserved>,
    spent: &Spent,
    runtime: Option<&tokio::runtime::Handle>,
) {
    let used = i128::from(spent.usage.total_tokens);
    for reservation in reserved {
        let delta = used - i128::from(reservation.cost);
        let delta = i64::try_from(delta).unwrap_or(if delta > 0 { i64::MAX } else { i64::MIN });
        if delta == 0 {
            continue;
        }
        let rate = shared.rules[reservation.rule].rate;
        let store = Arc::clone(&shared.store);
        let work = async move {
            if let Err(error) = store.adjust(&reservation.key, rate, delta).await {
                tracing::warn!(bucket = %reservation.key, delta, %error, "could not settle a token reservation; it stays as reserved");
            }
        };
        if !run_soon(work, runtime.cloned()) {
            tracing::warn!(
                "no Tokio runtime to settle a token reservation on; it stays as reserved"
            );
        }
    }
}
