//! Anthropic's URL and headers, and the builder.

use http::{HeaderName, HeaderValue, Uri};

use super::{Anthropic, PROVIDER};
use crate::{
    ProviderConfigError,
    settings::{Settings, endpoints, json_headers, settings_setters},
    upstream::Upstream,
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
    settings: Settings,
    version: String,
    default_max_tokens: u32,
}

impl AnthropicBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            settings: Settings::new(model),
            version: DEFAULT_ANTHROPIC_VERSION.to_owned(),
            default_max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    settings_setters! {
        /// The base URL `/messages` is appended to (default
        /// [`ANTHROPIC_API_BASE`]); a base with no path, such as
        /// `https://api.anthropic.com/`, gets `/v1`.
        api_base;
        /// The API key, sent as `x-api-key`.
        api_key;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body. Beyond it the call fails with a
        /// timeout (504).
        request_timeout;
        /// How long a stream may stay silent between events (default 300 s);
        /// beyond it the stream yields a timeout error and ends.
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(Anthropic);
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

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        settings.require_model()?;
        if self.default_max_tokens == 0 {
            return Err(ProviderConfigError::for_key(
                "max_tokens",
                "the default `max_tokens` must be at least 1",
            ));
        }
        let base = settings.base(ANTHROPIC_API_BASE, "api_base")?;
        let has_path = base
            .parse::<Uri>()
            .is_ok_and(|uri| !matches!(uri.path(), "" | "/"));
        let path = if has_path {
            "/messages"
        } else {
            "/v1/messages"
        };
        let [messages] = endpoints(base, "api_base", [path])?;

        let key = settings.key("Anthropic")?;
        let version = HeaderValue::from_str(&self.version).map_err(|_| {
            ProviderConfigError::for_key(
                "version",
                "the version contains characters not allowed in a header",
            )
        })?;
        let mut headers = json_headers();
        headers.insert(
            HeaderName::from_static("x-api-key"),
            key.header("", "api_key")?,
        );
        headers.insert(HeaderName::from_static("anthropic-version"), version);

        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &messages, headers),
            messages,
            default_max_tokens: self.default_max_tokens,
        })
    }
}

/// What one [`Anthropic`] service needs for every call, shared behind an
/// `Arc`; its headers hold content type, user agent, `x-api-key`
/// (sensitive) and `anthropic-version`.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    /// `{api_base}/messages`.
    pub(super) messages: Uri,
    pub(super) default_max_tokens: u32,
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
        assert!(config.upstream.headers["x-api-key"].is_sensitive());
        assert!(!format!("{config:?}").contains("sk-ant-secret"));
        assert_eq!(config.upstream.headers["anthropic-version"], "2023-06-01");
        let error = AnthropicBuilder::new("claude".into())
            .into_config()
            .unwrap_err();
        assert_eq!(error.key(), Some("api_key"));
    }
}
