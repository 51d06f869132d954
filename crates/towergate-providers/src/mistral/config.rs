//! Mistral's URLs and headers, and the builder.

use http::{Uri, header::AUTHORIZATION};

use super::{Mistral, PROVIDER};
use crate::{
    ProviderConfigError,
    settings::{Settings, endpoints, json_headers, settings_setters},
    upstream::Upstream,
};

/// Mistral's API; `/chat/completions` and `/embeddings` are appended to it.
pub const MISTRAL_API_BASE: &str = "https://api.mistral.ai/v1";

/// Sets up a [`Mistral`] service; see [`Mistral::builder`].
#[derive(Debug, Clone)]
pub struct MistralBuilder {
    settings: Settings,
}

impl MistralBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            settings: Settings::new(model),
        }
    }

    settings_setters! {
        /// The base URL the operation paths are appended to (default [`MISTRAL_API_BASE`]).
        api_base;
        /// The API key, sent as `Authorization: Bearer KEY`.
        api_key;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body. Beyond it the call fails with a
        /// timeout (504).
        request_timeout;
        /// How long a stream may stay silent between chunks (default 300 s);
        /// beyond it the stream yields a timeout error and ends.
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(Mistral);
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        settings.require_model()?;
        let key = settings.key("Mistral")?;
        let base = settings.base(MISTRAL_API_BASE, "api_base")?;
        let [chat, embeddings] = endpoints(base, "api_base", ["/chat/completions", "/embeddings"])?;
        let mut headers = json_headers();
        headers.insert(AUTHORIZATION, key.header("Bearer ", "api_key")?);
        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &chat, headers),
            chat,
            embeddings,
        })
    }
}

/// What one [`Mistral`] service needs for every call, shared behind an `Arc`.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    pub(super) chat: Uri,
    pub(super) embeddings: Uri,
}
