//! Gemini's URLs and headers, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderName, HeaderValue, Uri,
    header::{CONTENT_TYPE, USER_AGENT},
};

use super::Gemini;
use crate::{
    HttpClient, ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::{Secret, describe_host},
};

/// Google's Generative Language API (Gemini API), version `v1beta`.
pub const GEMINI_API_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Sets up a [`Gemini`] service; see [`Gemini::builder`].
#[derive(Debug, Clone)]
pub struct GeminiBuilder {
    model: String,
    api_base: Option<String>,
    api_key: Option<Secret>,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
}

impl GeminiBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            model,
            api_base: None,
            api_key: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    /// The base URL the `models/…` paths are appended to (default
    /// [`GEMINI_API_BASE`]).
    pub fn api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = Some(api_base.into());
        self
    }

    /// The API key, sent as `x-goog-api-key`.
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

    /// How long a stream may stay silent between events (default 300 s);
    /// beyond it the stream yields a timeout error and ends.
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Checks the settings and builds the service over `client`.
    pub fn build(self, client: &HttpClient) -> Result<Gemini, ProviderConfigError> {
        Ok(Gemini {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let model_path = model_path(&self.model)?;
        let base = self.api_base.as_deref().unwrap_or(GEMINI_API_BASE);
        let base = crate::upstream::checked_base(base, "api_base")?;

        let uri = |method: &str| format!("{base}/{model_path}:{method}").parse::<Uri>();
        let (Ok(generate), Ok(stream), Ok(embed), Ok(batch_embed)) = (
            uri("generateContent"),
            uri("streamGenerateContent?alt=sse"),
            uri("embedContent"),
            uri("batchEmbedContents"),
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
        if let Some(key) = &self.api_key {
            headers.insert(
                HeaderName::from_static("x-goog-api-key"),
                key.header("", "api_key")?,
            );
        }
        let host = describe_host(&generate);
        Ok(Config {
            model: self.model,
            model_path,
            generate,
            stream,
            embed,
            batch_embed,
            host,
            headers,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        })
    }
}

/// `models/NAME` for a model name; `models/…` and `tunedModels/…` are kept.
fn model_path(model: &str) -> Result<String, ProviderConfigError> {
    let model = model.trim();
    let (prefix, name) = match model.split_once('/') {
        Some((prefix @ ("models" | "tunedModels"), name)) => (prefix, name),
        _ => ("models", model),
    };
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(safe) {
        return Err(ProviderConfigError::for_key(
            "name",
            format!(
                "the Gemini model `{model}` may only hold letters, digits, `-`, `_` and `.` \
                 (optionally after `models/` or `tunedModels/`)"
            ),
        ));
    }
    Ok(format!("{prefix}/{name}"))
}

/// What one [`Gemini`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    /// The model as configured, named in answers that do not name theirs.
    pub(super) model: String,
    /// `models/NAME`, as the batch embedding body names it.
    pub(super) model_path: String,
    pub(super) generate: Uri,
    pub(super) stream: Uri,
    pub(super) embed: Uri,
    pub(super) batch_embed: Uri,
    /// `host:port`, for error messages (never the key).
    pub(super) host: Arc<str>,
    /// Content type, user agent and `x-goog-api-key` (marked sensitive).
    pub(super) headers: HeaderMap,
    pub(super) request_timeout: Duration,
    pub(super) stream_idle_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `HeaderMap`'s Debug prints sensitive values as `Sensitive`.
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("generate", &self.generate)
            .field("headers", &self.headers)
            .field("request_timeout", &self.request_timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_paths() {
        assert_eq!(
            model_path("gemini-2.0-flash").ok().as_deref(),
            Some("models/gemini-2.0-flash")
        );
        assert_eq!(
            model_path("tunedModels/my-tune").ok().as_deref(),
            Some("tunedModels/my-tune")
        );
        assert_eq!(model_path("models/x").ok().as_deref(), Some("models/x"));
        for bad in ["", "a b", "../x", "models/", "a?b", "other/x"] {
            assert!(model_path(bad).is_err(), "{bad}");
        }
    }
}
