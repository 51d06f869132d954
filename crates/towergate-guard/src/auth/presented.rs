//! Finding the key a caller presented in its headers.

use http::{HeaderMap, header::AUTHORIZATION};

/// The header that carries a bare key.
const X_API_KEY: &str = "x-api-key";

/// The key the caller sent: `Authorization: Bearer KEY` (scheme in any case),
/// else `x-api-key: KEY`. `None` when neither carries a non-empty key.
pub(crate) fn presented_key(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get_all(AUTHORIZATION)
        .iter()
        .find_map(|value| bearer_token(value.as_bytes()))
        .or_else(|| {
            headers
                .get_all(X_API_KEY)
                .iter()
                .map(|value| value.as_bytes().trim_ascii())
                .find(|key| !key.is_empty())
        })
}

/// The token of a `Bearer TOKEN` credential, if `value` is one.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let split = value.iter().position(u8::is_ascii_whitespace)?;
    let (scheme, token) = value.split_at(split);
    let token = token.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn reads_bearer_in_any_case_and_x_api_key() {
        let key = |pairs| presented_key(&headers(pairs)).map(<[u8]>::to_vec);
        assert_eq!(
            key(&[("authorization", "Bearer abc")]),
            Some(b"abc".to_vec())
        );
        assert_eq!(
            key(&[("authorization", "bEaReR   abc ")]),
            Some(b"abc".to_vec())
        );
        assert_eq!(key(&[("x-api-key", " abc ")]), Some(b"abc".to_vec()));
        assert_eq!(
            key(&[("authorization", "Bearer first"), ("x-api-key", "second")]),
            Some(b"first".to_vec())
        );
        assert_eq!(
            key(&[("authorization", "Basic dXNlcjpwYXNz"), ("x-api-key", "k")]),
            Some(b"k".to_vec())
        );
    }

    #[test]
    fn nothing_usable_is_no_key() {
        let key = |pairs| presented_key(&headers(pairs)).map(<[u8]>::to_vec);
        assert_eq!(key(&[]), None);
        assert_eq!(key(&[("authorization", "Bearer")]), None);
        assert_eq!(key(&[("authorization", "Bearer   ")]), None);
        assert_eq!(key(&[("authorization", "Basic dXNlcjpwYXNz")]), None);
        assert_eq!(key(&[("authorization", "Bearerabc")]), None);
        assert_eq!(key(&[("x-api-key", "")]), None);
    }
}
