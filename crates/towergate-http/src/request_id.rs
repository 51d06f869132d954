//! `x-request-id`: echoed when the caller sent a usable one, made up otherwise.

use http::{HeaderMap, HeaderName, HeaderValue};
use towergate_core::RequestId;

/// The header that carries the request id.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const MAX_LEN: usize = 200;

/// The caller's request id if it is short, visible ASCII; a fresh UUID otherwise.
pub(crate) fn from_headers(headers: &HeaderMap) -> RequestId {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= MAX_LEN)
        .map(RequestId::new)
        .unwrap_or_else(fresh)
}

/// A fresh id: 128 random bits as 32 hex digits. Ids need to be unique,
/// not secret, so a fast thread-local generator serves (no system call).
fn fresh() -> RequestId {
    RequestId::new(format!(
        "{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    ))
}

/// The id as a header value (it was checked or generated as visible ASCII).
pub(crate) fn header_value(id: &RequestId) -> HeaderValue {
    HeaderValue::from_str(id.as_str()).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_a_usable_id_and_replaces_others() {
        let mut headers = HeaderMap::new();
        headers.insert(&X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(from_headers(&headers).as_str(), "abc-123");

        headers.insert(
            &X_REQUEST_ID,
            HeaderValue::from_str(&"x".repeat(201)).unwrap(),
        );
        assert_eq!(from_headers(&headers).as_str().len(), 32);

        assert_eq!(from_headers(&HeaderMap::new()).as_str().len(), 32);
    }
}
