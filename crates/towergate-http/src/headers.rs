//! The `x-towergate-*` headers that tell a caller what the gateway knows about an answer.

use http::{HeaderMap, HeaderName, HeaderValue};
use towergate_core::ResponseMeta;

/// The endpoint that answered (after a traffic split, the one chosen).
pub static X_TOWERGATE_ENDPOINT: HeaderName = HeaderName::from_static("x-towergate-endpoint");
/// Prompt tokens of a complete answer.
pub static X_TOWERGATE_PROMPT_TOKENS: HeaderName =
    HeaderName::from_static("x-towergate-prompt-tokens");
/// Completion tokens of a complete answer.
pub static X_TOWERGATE_COMPLETION_TOKENS: HeaderName =
    HeaderName::from_static("x-towergate-completion-tokens");
/// Cost in USD of a complete answer.
pub static X_TOWERGATE_COST_USD: HeaderName = HeaderName::from_static("x-towergate-cost-usd");
/// `hit`, `miss` or `bypass`.
pub static X_TOWERGATE_CACHE: HeaderName = HeaderName::from_static("x-towergate-cache");

/// Writes what `meta` knows onto an answer's headers.
pub(crate) fn apply_meta(headers: &mut HeaderMap, meta: &ResponseMeta) {
    if let Some(endpoint) = meta.endpoint.as_deref()
        && let Ok(value) = HeaderValue::from_str(endpoint)
    {
        headers.insert(&X_TOWERGATE_ENDPOINT, value);
    }
    if let Some(usage) = &meta.usage {
        headers.insert(
            &X_TOWERGATE_PROMPT_TOKENS,
            HeaderValue::from(usage.prompt_tokens),
        );
        headers.insert(
            &X_TOWERGATE_COMPLETION_TOKENS,
            HeaderValue::from(usage.completion_tokens),
        );
    }
    if let Some(cost) = meta.cost_usd
        && let Ok(value) = HeaderValue::from_str(&format!("{cost:.6}"))
    {
        headers.insert(&X_TOWERGATE_COST_USD, value);
    }
    if let Some(cache) = meta.cache {
        headers.insert(&X_TOWERGATE_CACHE, HeaderValue::from_static(cache.as_str()));
    }
    for (name, value) in &meta.headers {
        headers.insert(name.clone(), value.clone());
    }
}
