//! A model server's URL and headers, and the builder.

use http::{Uri, header::AUTHORIZATION};

use super::{MlflowServing, PROVIDER};
use crate::{
    ProviderConfigError,
    settings::{Settings, checked_base, endpoints, json_headers, settings_setters},
    upstream::Upstream,
};

/// Sets up an [`MlflowServing`] service; see [`MlflowServing::builder`].
#[derive(Debug, Clone)]
pub struct MlflowServingBuilder {
    /// Its `api_base` is the server's URL, its key the token.
    settings: Settings,
}

impl MlflowServingBuilder {
    pub(super) fn new(server_url: String, model: String) -> Self {
        let mut settings = Settings::new(model);
        settings.api_base = Some(server_url);
        Self { settings }
    }

    settings_setters! {
        /// A token sent as `Authorization: Bearer TOKEN`, for a server behind
        /// a proxy that wants one; `mlflow models serve` needs none.
        token;
        /// How long to wait for the whole answer (default 600 s); beyond it the
        /// call fails with a timeout (504).
        request_timeout;
        /// Checks the settings and builds the service over `client`.
        build(MlflowServing);
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        let server_url = settings.api_base.as_deref().unwrap_or_default().trim();
        let base = checked_base(server_url, "server_url")?;
        let [invocations] = endpoints(base, "server_url", ["/invocations"])?;
        let mut headers = json_headers();
        if let Some(token) = &settings.api_key {
            headers.insert(AUTHORIZATION, token.header("Bearer ", "token")?);
        }
        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &invocations, headers),
            invocations,
        })
    }
}

/// What one [`MlflowServing`] service needs for every call, shared behind an `Arc`.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    pub(super) invocations: Uri,
}
