//! A model server's URL and headers, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use http::{
    HeaderMap, HeaderValue, Uri,
    header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT},
};

use super::MlflowServing;
use crate::{
    HttpClient, ProviderConfigError,
    openai::DEFAULT_REQUEST_TIMEOUT,
    upstream::{Secret, describe_host},
};

/// Sets up an [`MlflowServing`] service; see [`MlflowServing::builder`].
#[derive(Debug, Clone)]
pub struct MlflowServingBuilder {
    server_url: String,
    model: String,
    token: Option<Secret>,
    request_timeout: Duration,
}

impl MlflowServingBuilder {
    pub(super) fn new(server_url: String, model: String) -> Self {
        Self {
            server_url,
            model,
            token: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// A token sent as `Authorization: Bearer TOKEN`, for a server behind
    /// a proxy that wants one; `mlflow models serve` needs none.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token));
        self
    }

    /// How long to wait for the whole answer (default 600 s); beyond it the
    /// call fails with a timeout (504).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Checks the settings and builds the service over `client`.
    pub fn build(self, client: &HttpClient) -> Result<MlflowServing, ProviderConfigError> {
        Ok(MlflowServing {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let base = self.server_url.trim();
        let base = crate::upstream::checked_base(base, "server_url")?;
        let Ok(invocations) = format!("{base}/invocations").parse::<Uri>() else {
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
        if let Some(token) = &self.token {
            headers.insert(AUTHORIZATION, token.header("Bearer ", "token")?);
        }
        Ok(Config {
            host: describe_host(&invocations),
            model: self.model,
            invocations,
            headers,
            request_timeout: self.request_timeout,
        })
    }
}

/// What one [`MlflowServing`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    pub(super) model: String,
    pub(super) invocations: Uri,
    /// `host:port`, for error messages.
    pub(super) host: Arc<str>,
    pub(super) headers: HeaderMap,
    pub(super) request_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("invocations", &self.invocations)
            .field("headers", &self.headers)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}
