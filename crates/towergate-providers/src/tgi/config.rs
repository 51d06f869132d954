//! A TGI server's URLs and headers, and the builder.

use http::{Uri, header::AUTHORIZATION};

use super::{PROVIDER, Tgi};
use crate::{
    ProviderConfigError,
    settings::{Settings, endpoints, json_headers, settings_setters},
    upstream::Upstream,
};

/// Sets up a [`Tgi`] service; see [`Tgi::builder`].
#[derive(Debug, Clone)]
pub struct TgiBuilder {
    /// Its `api_base` is the server's URL.
    settings: Settings,
}

impl TgiBuilder {
    pub(super) fn new(server_url: String) -> Self {
        let mut settings = Settings::new("tgi");
        settings.api_base = Some(server_url);
        Self { settings }
    }

    /// The model's name, given in answers (TGI serves one model and does
    /// not say which); default `tgi`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.settings.model = model.into();
        self
    }

    settings_setters! {
        /// A token sent as `Authorization: Bearer TOKEN`, for a server behind
        /// Hugging Face Inference Endpoints; a plain TGI server needs none.
        api_key;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body. Beyond it the call fails with a
        /// timeout (504).
        request_timeout;
        /// How long a stream may stay silent between tokens (default 300 s);
        /// beyond it the stream yields a timeout error and ends.
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(Tgi);
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        let server_url = settings.api_base.as_deref().unwrap_or_default().trim();
        let base = crate::settings::checked_base(server_url, "server_url")?;
        let [generate, stream] = endpoints(base, "server_url", ["/generate", "/generate_stream"])?;
        let mut headers = json_headers();
        if let Some(key) = &settings.api_key {
            headers.insert(AUTHORIZATION, key.header("Bearer ", "api_key")?);
        }
        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &generate, headers),
            generate,
            stream,
        })
    }
}

/// What one [`Tgi`] service needs for every call, shared behind an `Arc`.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    pub(super) generate: Uri,
    pub(super) stream: Uri,
}
