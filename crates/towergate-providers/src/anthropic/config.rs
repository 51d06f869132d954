//! Anthropic's URL and headers, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderName, HeaderValue, Uri,
    header::{CONTENT_TYPE, USER_AGENT},
};

use super::Anthropic;
use crate::{
    HttpClient, ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::{Secret, describe_host},
};

/// Anthropic's API; `/messages` is appended to it.
pub const ANTHROPIC_API_BASE: &str = "https://api.anthropic.com/v1";

/// The `anthropic-version` sent unless the builder sets another (MLflow's default).
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// The `max_tokens` sent when the caller sets none: Anthropic requires one.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Sets up an [`Anthropic`] service; see [`Anthropic::builder`].
#[derive(Debug, Clone)]
pub struct AnthropicBuilder {
    model: String,
    api_base: Option<String>,
    api_key: Option<Secret>,
    version: String,
    default_max_tokens: u32,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
}

impl AnthropicBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            model,
            api_base: None,
            api_key: None,
            version: DEFAULT_ANTHROPIC_VERSION.to_owned(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    /// The base URL `/messages` is appended to (default
    /// [`ANTHROPIC_API_BASE`]); a base with no path, such as
    /// `https://api.anthropic.com/`, gets `/v1`.
    pub fn api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = Some(api_base.into());
        self
    }

    /// The API key, sent as `x-api-key`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(api_key));
        self
    }

    /// The `anthropic-version` header (default [`DEFAULT_ANTHROPIC_VERSION`]).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The `max_tokens` sent when the caller sets neither `max_tokens` nor
    /// `max_completion_tokens` (default [`DEFAULT_MAX_TOKENS`]).
    pub fn default_max_tokens(mut self, max_tokens: u32) -> Self {
        self.default_max_tokens = max_tokens;
        self
    }

    /// How long to wait for the answer's headers (default 600 s); for a
    /// complete answer, its whole body. Beyond it the call fails with a
    /// timeout (504).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a stream may stay silent between events (default 300 s);
    /// beyond it the stream yields a timeout error and ends.
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Checks the settings and builds the service over `client`.
    pub fn build(self, client: &HttpClient) -> Result<Anthropic, ProviderConfigError> {
        Ok(Anthropic {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        crate::upstream::require_model(&self.model)?;
        if self.default_max_tokens == 0 {
            return Err(ProviderConfigError::for_key(
                "max_tokens",
                "the default `max_tokens` must be at least 1",
            ));
        }
        let base = self.api_base.as_deref().unwrap_or(ANTHROPIC_API_BASE);
        let base = crate::upstream::checked_base(base, "api_base")?;
        let has_path = base
            .parse::<Uri>()
            .is_ok_and(|uri| !matches!(uri.path(), "" | "/"));
        let messages = if has_path {
            format!("{base}/messages")
        } else {
            format!("{base}/v1/messages")
        };
        let messages: Uri = messages.parse().map_err(|_| {
            ProviderConfigError::for_key("api_base", format!("`{base}` does not make a valid URL"))
        })?;

        let key = self
            .api_key
            .as_ref()
            .ok_or_else(|| ProviderConfigError::for_key("api_key", "Anthropic needs an api key"))?;
        let version = HeaderValue::from_str(&self.version).map_err(|_| {
            ProviderConfigError::for_key(
                "version",
                "the version contains characters not allowed in a header",
            )
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("towergate/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(
            HeaderName::from_static("x-api-key"),
            key.header("", "api_key")?,
        );
        headers.insert(HeaderName::from_static("anthropic-version"), version);

        Ok(Config {
            host: describe_host(&messages),
            model: self.model,
            messages,
            headers,
            default_max_tokens: self.default_max_tokens,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        })
    }
}

/// What one [`Anthropic`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    pub(super) model: String,
    /// `{api_base}/messages`.
    pub(super) messages: Uri,
    /// `host:port`, for error messages.
    pub(super) host: Arc<str>,
    /// Content type, user agent, `x-api-key` (sensitive) and `anthropic-version`.
    pub(super) headers: HeaderMap,
    pub(super) default_max_tokens: u32,
    pub(super) request_timeout: Duration,
    pub(super) stream_idle_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `HeaderMap`'s Debug prints sensitive values as `Sensitive`.
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("messages", &self.messages)
            .field("headers", &self.headers)
            .field("default_max_tokens", &self.default_max_tokens)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn url(base: &str) -> String {
        AnthropicBuilder::new("claude".into())
            .api_key("k")
            .api_base(base)
            .into_config()
            .unwrap()
            .messages
            .to_string()
    }

    #[test]
    fn the_messages_path_follows_the_base() {
        assert_eq!(
            url("https://api.anthropic.com/v1"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            url("https://api.anthropic.com/"),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            url("http://127.0.0.1:9/proxy/v1/"),
            "http://127.0.0.1:9/proxy/v1/messages"
        );
    }

    #[test]
    fn the_key_is_sensitive_and_required() {
        let config = AnthropicBuilder::new("claude".into())
            .api_key("sk-ant-secret")
            .into_config()
            .unwrap();
        assert!(config.headers["x-api-key"].is_sensitive());
        assert!(!format!("{config:?}").contains("sk-ant-secret"));
        assert_eq!(config.headers["anthropic-version"], "2023-06-01");
        let error = AnthropicBuilder::new("claude".into())
            .into_config()
            .unwrap_err();
        assert_eq!(error.key(), Some("api_key"));
    }
}
