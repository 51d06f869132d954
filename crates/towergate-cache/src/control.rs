//! The caller's `Cache-Control`: `no-cache` and `no-store`.

use http::{HeaderMap, header::CACHE_CONTROL};

/// What the caller's `Cache-Control` asks of the cache.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::CACHE_CONTROL};
/// use towergate_cache::CallerControl;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=0, No-Store"));
/// let control = CallerControl::from_headers(&headers);
/// assert!(control.no_store);
/// assert!(!control.may_read());
/// assert!(!control.may_write());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallerControl {
    /// `no-cache`: do not answer from the cache; a fresh answer may be stored.
    pub no_cache: bool,
    /// `no-store`: do not answer from the cache, and store nothing.
    pub no_store: bool,
}

impl CallerControl {
    /// Reads every `Cache-Control` header; directives are case-insensitive
    /// and unknown ones are ignored.
    pub fn from_headers(headers: &HeaderMap) -> CallerControl {
        let mut control = CallerControl::default();
        let directives = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','));
        for directive in directives {
            let name = directive.split('=').next().unwrap_or_default().trim();
            if name.eq_ignore_ascii_case("no-cache") {
                control.no_cache = true;
            } else if name.eq_ignore_ascii_case("no-store") {
                control.no_store = true;
            }
        }
        control
    }

    /// Whether a cached answer may answer this request.
    pub fn may_read(&self) -> bool {
        !self.no_cache && !self.no_store
    }

    /// Whether this request's answer may be stored.
    pub fn may_write(&self) -> bool {
        !self.no_store
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn control(values: &[&'static str]) -> CallerControl {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_static(value));
        }
        CallerControl::from_headers(&headers)
    }

    #[test]
    fn no_header_reads_and_writes() {
        let control = control(&[]);
        assert!(control.may_read() && control.may_write());
    }

    #[test]
    fn no_cache_skips_the_read_but_stores() {
        let control = control(&["NO-CACHE"]);
        assert!(!control.may_read());
        assert!(control.may_write());
    }

    #[test]
    fn directives_are_found_in_lists_and_in_several_headers() {
        assert!(control(&["max-age=0 , no-store"]).no_store);
        assert!(control(&["private", "no-cache=\"set-cookie\""]).no_cache);
        assert_eq!(
            control(&["max-age=60", "must-revalidate"]),
            CallerControl::default()
        );
    }
}
