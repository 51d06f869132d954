//! OpenAI's `x-ratelimit-*` headers.

use http::{HeaderMap, HeaderName, HeaderValue};
use towergate_state::{RateState, format_duration};

use crate::Unit;

/// The three header names of `unit`: limit, remaining, reset.
fn names(unit: Unit) -> [HeaderName; 3] {
    match unit {
        Unit::Requests => [
            HeaderName::from_static("x-ratelimit-limit-requests"),
            HeaderName::from_static("x-ratelimit-remaining-requests"),
            HeaderName::from_static("x-ratelimit-reset-requests"),
        ],
        Unit::Tokens => [
            HeaderName::from_static("x-ratelimit-limit-tokens"),
            HeaderName::from_static("x-ratelimit-remaining-tokens"),
            HeaderName::from_static("x-ratelimit-reset-tokens"),
        ],
    }
}

/// The remaining count `headers` already report for `unit`.
fn remaining(headers: &HeaderMap, unit: Unit) -> Option<u64> {
    let [_, remaining, _] = names(unit);
    headers.get(remaining)?.to_str().ok()?.parse().ok()
}

/// Writes `state` as `unit`'s headers, unless `headers` already report a
/// tighter limit (fewer remaining): with several limits on one request,
/// the headers speak of the one closest to refusing it.
pub(crate) fn report(headers: &mut HeaderMap, unit: Unit, state: &RateState) {
    if remaining(headers, unit).is_some_and(|already| already <= state.remaining) {
        return;
    }
    let [limit, remaining, reset] = names(unit);
    headers.insert(limit, HeaderValue::from(state.limit));
    headers.insert(remaining, HeaderValue::from(state.remaining));
    if let Ok(value) = HeaderValue::from_str(&format_duration(state.reset_after)) {
        headers.insert(reset, value);
    }
}

/// Copies what `ours` reports into `headers`, keeping whichever is tighter.
pub(crate) fn merge(headers: &mut HeaderMap, ours: &HeaderMap) {
    for unit in [Unit::Requests, Unit::Tokens] {
        let [limit, remaining_name, reset] = names(unit);
        let Some(count) = remaining(ours, unit) else {
            continue;
        };
        if remaining(headers, unit).is_some_and(|already| already <= count) {
            continue;
        }
        for name in [limit, remaining_name, reset] {
            if let Some(value) = ours.get(&name) {
                headers.insert(name, value.clone());
            }
        }
    }
}
