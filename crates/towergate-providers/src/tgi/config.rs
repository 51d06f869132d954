//! A TGI server's URLs and headers, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderValue, Uri,
    header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT},
};

use super::Tgi;
use crate::{
    HttpClient, ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::{Secret, describe_host},
};

/// Sets up a [`Tgi`] service; see [`Tgi::builder`].
#[derive(Debug, Clone)]
pub struct TgiBuilder {
    server_url: String,
    model: String,
    api_key: Option<Secret>,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
}

impl TgiBuilder {
    pub(super) fn new(server_url: String) -> Self {
        Self {
            server_url,
            model: String::from("tgi"),
            api_key: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    /// The model's name, given in answers (TGI serves one model and does
    /// not say which); default `tgi`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// A token sent as `Authorization: Bearer TOKEN`, for a server behind
    /// Hugging Face Inference Endpoints; a plain TGI server needs none.
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

    /// How long a stream may stay silent between tokens (default 300 s);
    /// beyond it the stream yields a timeout error and ends.
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Checks the settings and builds the service over `client`.
    pub fn build(self, client: &HttpClient) -> Result<Tgi, ProviderConfigError> {
        Ok(Tgi {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let base = self.server_url.trim();
        let base = crate::upstream::checked_base(base, "server_url")?;
        let (Ok(generate), Ok(stream)) = (
            format!("{base}/generate").parse::<Uri>(),
            format!("{base}/generate_stream").parse::<Uri>(),
        ) else {
            return Err(ProviderConfigError::for_key(
                "server_url",
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
            headers.insert(AUTHORIZATION, key.header("Bearer ", "api_key")?);
        }
        Ok(Config {
            host: describe_host(&generate),
            model: self.model,
            generate,
            stream,
            headers,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        })
    }
}

/// What one [`Tgi`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    pub(super) model: String,
    pub(super) generate: Uri,
    pub(super) stream: Uri,
    /// `host:port`, for error messages.
    pub(super) host: Arc<str>,
    pub(super) headers: HeaderMap,
    pub(super) request_timeout: Duration,
    pub(super) stream_idle_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("generate", &self.generate)
            .field("headers", &self.headers)
            .field("request_timeout", &self.request_timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .finish_non_exhaustive()
    }
}
