//! What every adapter's builder sets the same way: the model, the base URL,
//! the key, and how long to wait; and the checks that turn them into an
//! [`Upstream`].
//!
//! A builder holds a [`Settings`] next to its provider's own options, gets
//! its common setters from [`settings_setters!`], and in its `into_config`
//! reads the base ([`Settings::base`]), the key ([`Settings::key`]), joins
//! its paths ([`endpoints`]) and ends with [`Settings::into_upstream`].

use std::time::Duration;

use http::{
    HeaderMap, HeaderValue, Uri,
    header::{CONTENT_TYPE, USER_AGENT},
};

use crate::{
    ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::{Secret, Upstream, describe_host},
};

/// The settings every provider's builder shares.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The model sent upstream, or named in answers.
    pub(crate) model: String,
    /// The base URL set on the builder; the provider's own default otherwise.
    pub(crate) api_base: Option<String>,
    /// The key (or token) set on the builder.
    pub(crate) api_key: Option<Secret>,
    pub(crate) request_timeout: Duration,
    pub(crate) stream_idle_timeout: Duration,
}

impl Settings {
    /// Settings for `model` with no base, no key and the default timeouts.
    pub(crate) fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            api_base: None,
            api_key: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    #[cfg(any(
        feature = "anthropic",
        feature = "bedrock",
        feature = "cohere",
        feature = "mistral",
    ))]
    /// Refuses an empty model name, naming the config key `name`.
    pub(crate) fn require_model(&self) -> Result<(), ProviderConfigError> {
        if self.model.trim().is_empty() {
            return Err(ProviderConfigError::for_key(
                "name",
                "missing the model `name`",
            ));
        }
        Ok(())
    }

    #[cfg(any(
        feature = "anthropic",
        feature = "bedrock",
        feature = "cohere",
        feature = "gemini",
        feature = "mistral",
    ))]
    /// The base URL set, else `default`, checked as an `http(s)` URL under
    /// config key `key`, without its trailing `/`.
    pub(crate) fn base<'a>(
        &'a self,
        default: &'a str,
        key: &'static str,
    ) -> Result<&'a str, ProviderConfigError> {
        checked_base(self.api_base.as_deref().unwrap_or(default), key)
    }

    #[cfg(any(feature = "anthropic", feature = "cohere", feature = "mistral",))]
    /// The key, which `provider` ("Mistral") cannot do without.
    pub(crate) fn key(&self, provider: &str) -> Result<&Secret, ProviderConfigError> {
        self.api_key.as_ref().ok_or_else(|| {
            ProviderConfigError::for_key("api_key", format!("{provider} needs an api key"))
        })
    }

    /// What every call needs: the host of `endpoint` (for error messages),
    /// the `headers` and the timeouts.
    pub(crate) fn into_upstream(
        self,
        provider: &'static str,
        endpoint: &Uri,
        headers: HeaderMap,
    ) -> Upstream {
        Upstream {
            provider,
            host: describe_host(endpoint),
            model: self.model,
            headers,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        }
    }
}

/// `base` checked as an `http(s)` URL (a problem names config key `key`),
/// without its trailing `/`.
pub(crate) fn checked_base<'a>(
    base: &'a str,
    key: &'static str,
) -> Result<&'a str, ProviderConfigError> {
    crate::openai::check_base_url(base)
        .map_err(|message| ProviderConfigError::for_key(key, message))?;
    Ok(base.trim_end_matches('/'))
}

/// `base` followed by each of `paths`, as URLs; a problem names config key `key`.
pub(crate) fn endpoints<const N: usize>(
    base: &str,
    key: &'static str,
    paths: [impl AsRef<str>; N],
) -> Result<[Uri; N], ProviderConfigError> {
    let mut parsed = Vec::with_capacity(N);
    for path in paths {
        let uri = format!("{base}{}", path.as_ref())
            .parse::<Uri>()
            .map_err(|_| {
                ProviderConfigError::for_key(key, format!("`{base}` does not make a valid URL"))
            })?;
        parsed.push(uri);
    }
    parsed
        .try_into()
        .map_err(|_| ProviderConfigError::for_key(key, "internal: endpoint count"))
}

/// `Content-Type: application/json` and towergate's `User-Agent`, the
/// headers every JSON call starts with.
pub(crate) fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("towergate/", env!("CARGO_PKG_VERSION"))),
    );
    headers
}

/// The setters a builder shares with the others, each writing its
/// `settings: Settings` field, each with the doc comment written before its
/// name: `api_base`, `api_key`, `token` (the key under another name),
/// `request_timeout`, `stream_idle_timeout`; and `build(Service)`, which
/// builds `Service { config, client }` from the builder's `into_config`.
///
/// A builder is its own type for each provider (so that its setters need no
/// trait in scope), which is why the shared setters are written by a macro.
macro_rules! settings_setters {
    ($( $(#[$doc:meta])* $name:ident $(($service:ident))?; )*) => {
        $( $crate::settings::settings_setters!(@one $(#[$doc])* $name $(($service))?); )*
    };
    (@one $(#[$doc:meta])* api_base) => {
        $(#[$doc])*
        pub fn api_base(mut self, api_base: impl Into<String>) -> Self {
            self.settings.api_base = Some(api_base.into());
            self
        }
    };
    (@one $(#[$doc:meta])* api_key) => {
        $(#[$doc])*
        pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
            self.settings.api_key = Some($crate::upstream::Secret::new(api_key));
            self
        }
    };
    (@one $(#[$doc:meta])* token) => {
        $(#[$doc])*
        pub fn token(mut self, token: impl Into<String>) -> Self {
            self.settings.api_key = Some($crate::upstream::Secret::new(token));
            self
        }
    };
    (@one $(#[$doc:meta])* request_timeout) => {
        $(#[$doc])*
        pub fn request_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.request_timeout = timeout;
            self
        }
    };
    (@one $(#[$doc:meta])* stream_idle_timeout) => {
        $(#[$doc])*
        pub fn stream_idle_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.stream_idle_timeout = timeout;
            self
        }
    };
    (@one $(#[$doc:meta])* build ($service:ident)) => {
        $(#[$doc])*
        pub fn build(
            self,
            client: &$crate::HttpClient,
        ) -> Result<$service, $crate::ProviderConfigError> {
            Ok($service {
                config: std::sync::Arc::new(self.into_config()?),
                client: client.clone(),
            })
        }
    };
}

pub(crate) use settings_setters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_join_the_base_and_name_the_key_when_they_cannot() {
        let joined = endpoints("http://127.0.0.1:9/v1", "api_base", ["/a", "/b"]);
        let joined = joined.map(|[a, b]| (a.to_string(), b.to_string()));
        assert_eq!(
            joined.ok(),
            Some((
                "http://127.0.0.1:9/v1/a".to_owned(),
                "http://127.0.0.1:9/v1/b".to_owned()
            ))
        );
        let error = endpoints("http://127.0.0.1:9", "server_url", ["/a b"]).err();
        assert_eq!(error.as_ref().and_then(|e| e.key()), Some("server_url"));
    }

    #[test]
    #[cfg(any(
        feature = "anthropic",
        feature = "bedrock",
        feature = "cohere",
        feature = "mistral",
    ))]
    fn an_empty_model_is_refused() {
        let error = Settings::new(" ").require_model().err();
        assert_eq!(error.as_ref().and_then(|e| e.key()), Some("name"));
        assert!(Settings::new("m").require_model().is_ok());
    }
}
