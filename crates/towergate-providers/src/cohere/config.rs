//! Cohere's URLs and headers, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderValue, Uri,
    header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT},
};

use super::Cohere;
use crate::{
    HttpClient, ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::{Secret, describe_host},
};

/// Cohere's API; `/v2/chat` and `/v2/embed` are appended to it.
pub const COHERE_API_BASE: &str = "https://api.cohere.com";

/// The `input_type` of embed requests unless the builder or the request says otherwise.
pub const DEFAULT_EMBED_INPUT_TYPE: &str = "search_document";

/// Sets up a [`Cohere`] service; see [`Cohere::builder`].
#[derive(Debug, Clone)]
pub struct CohereBuilder {
    model: String,
    api_base: Option<String>,
    api_key: Option<Secret>,
    embed_input_type: String,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
}

impl CohereBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            model,
            api_base: None,
            api_key: None,
            embed_input_type: DEFAULT_EMBED_INPUT_TYPE.to_owned(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    /// The base URL `/v2/chat` and `/v2/embed` are appended to (default
    /// [`COHERE_API_BASE`]); a trailing `/v1` or `/v2` is dropped first.
    pub fn api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = Some(api_base.into());
        self
    }

    /// The API key, sent as `Authorization: Bearer KEY`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(api_key));
        self
    }

    /// The `input_type` of embed requests (default
    /// [`DEFAULT_EMBED_INPUT_TYPE`]); a request's own `input_type` field wins.
    pub fn embed_input_type(mut self, input_type: impl Into<String>) -> Self {
        self.embed_input_type = input_type.into();
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
    pub fn build(self, client: &HttpClient) -> Result<Cohere, ProviderConfigError> {
        Ok(Cohere {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        crate::upstream::require_model(&self.model)?;
        let key = self
            .api_key
            .as_ref()
            .ok_or_else(|| ProviderConfigError::for_key("api_key", "Cohere needs an api key"))?;
        let base = self.api_base.as_deref().unwrap_or(COHERE_API_BASE);
        let base = crate::upstream::checked_base(base, "api_base")?;
        let base = base
            .strip_suffix("/v2")
            .or_else(|| base.strip_suffix("/v1"))
            .unwrap_or(base);
        let (Ok(chat), Ok(embed)) = (
            format!("{base}/v2/chat").parse::<Uri>(),
            format!("{base}/v2/embed").parse::<Uri>(),
        ) else {
            return Err(ProviderConfigError::for_key(
                "api_base",
                format!("`{base}` does not make a valid URL"),
            ));
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("towergate/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(AUTHORIZATION, key.header("Bearer ", "api_key")?);
        Ok(Config {
            host: describe_host(&chat),
            model: self.model,
            chat,
            embed,
            headers,
            embed_input_type: self.embed_input_type,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        })
    }
}

/// What one [`Cohere`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    pub(super) model: String,
    pub(super) chat: Uri,
    pub(super) embed: Uri,
    /// `host:port`, for error messages.
    pub(super) host: Arc<str>,
    /// Content type, user agent and `Authorization` (sensitive).
    pub(super) headers: HeaderMap,
    pub(super) embed_input_type: String,
    pub(super) request_timeout: Duration,
    pub(super) stream_idle_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("chat", &self.chat)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_base_is_not_versioned_twice() {
        for base in [
            "https://api.cohere.com",
            "https://api.cohere.com/v2/",
            "https://api.cohere.com/v1",
        ] {
            let config = CohereBuilder::new("command-r".into())
                .api_key("k")
                .api_base(base)
                .into_config()
                .unwrap();
            assert_eq!(
                config.chat.to_string(),
                "https://api.cohere.com/v2/chat",
                "{base}"
            );
            assert_eq!(config.embed.to_string(), "https://api.cohere.com/v2/embed");
        }
    }
}
