//! Mistral's URLs and headers, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderValue, Uri,
    header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT},
};

use super::Mistral;
use crate::{
    HttpClient, ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::{Secret, describe_host},
};

/// Mistral's API; `/chat/completions` and `/embeddings` are appended to it.
pub const MISTRAL_API_BASE: &str = "https://api.mistral.ai/v1";

/// Sets up a [`Mistral`] service; see [`Mistral::builder`].
#[derive(Debug, Clone)]
pub struct MistralBuilder {
    model: String,
    api_base: Option<String>,
    api_key: Option<Secret>,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
}

impl MistralBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            model,
            api_base: None,
            api_key: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    /// The base URL the operation paths are appended to (default [`MISTRAL_API_BASE`]).
    pub fn api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = Some(api_base.into());
        self
    }

    /// The API key, sent as `Authorization: Bearer KEY`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(api_key));
        self
    }

    /// How long to wait for the answer's headers (default 600 s); for a
    /// complete answer, its whole body. Beyond it the call fails with a
    /// timeout (504).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a stream may stay silent between chunks (default 300 s);
    /// beyond it the stream yields a timeout error and ends.
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Checks the settings and builds the service over `client`.
    pub fn build(self, client: &HttpClient) -> Result<Mistral, ProviderConfigError> {
        Ok(Mistral {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        crate::upstream::require_model(&self.model)?;
        let key = self
            .api_key
            .as_ref()
            .ok_or_else(|| ProviderConfigError::for_key("api_key", "Mistral needs an api key"))?;
        let base = self.api_base.as_deref().unwrap_or(MISTRAL_API_BASE);
        let base = crate::upstream::checked_base(base, "api_base")?;
        let (Ok(chat), Ok(embeddings)) = (
            format!("{base}/chat/completions").parse::<Uri>(),
            format!("{base}/embeddings").parse::<Uri>(),
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
            embeddings,
            headers,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        })
    }
}

/// What one [`Mistral`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    pub(super) model: String,
    pub(super) chat: Uri,
    pub(super) embeddings: Uri,
    /// `host:port`, for error messages.
    pub(super) host: Arc<str>,
    /// Content type, user agent and `Authorization` (sensitive).
    pub(super) headers: HeaderMap,
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
