//! Cohere's URLs and headers, and the builder.

use http::{Uri, header::AUTHORIZATION};

use super::{Cohere, PROVIDER};
use crate::{
    ProviderConfigError,
    settings::{Settings, endpoints, json_headers, settings_setters},
    upstream::Upstream,
};

/// Cohere's API; `/v2/chat` and `/v2/embed` are appended to it.
pub const COHERE_API_BASE: &str = "https://api.cohere.com";

/// The `input_type` of embed requests unless the builder or the request says otherwise.
pub const DEFAULT_EMBED_INPUT_TYPE: &str = "search_document";

/// Sets up a [`Cohere`] service; see [`Cohere::builder`].
#[derive(Debug, Clone)]
pub struct CohereBuilder {
    settings: Settings,
    embed_input_type: String,
}

impl CohereBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            settings: Settings::new(model),
            embed_input_type: DEFAULT_EMBED_INPUT_TYPE.to_owned(),
        }
    }

    settings_setters! {
        /// The base URL `/v2/chat` and `/v2/embed` are appended to (default
        /// [`COHERE_API_BASE`]); a trailing `/v1` or `/v2` is dropped first.
        api_base;
        /// The API key, sent as `Authorization: Bearer KEY`.
        api_key;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body. Beyond it the call fails with a
        /// timeout (504).
        request_timeout;
        /// How long a stream may stay silent between events (default 300 s);
        /// beyond it the stream yields a timeout error and ends.
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(Cohere);
    }

    /// The `input_type` of embed requests (default
    /// [`DEFAULT_EMBED_INPUT_TYPE`]); a request's own `input_type` field wins.
    pub fn embed_input_type(mut self, input_type: impl Into<String>) -> Self {
        self.embed_input_type = input_type.into();
        self
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        settings.require_model()?;
        let key = settings.key("Cohere")?;
        let base = settings.base(COHERE_API_BASE, "api_base")?;
        let base = base
            .strip_suffix("/v2")
            .or_else(|| base.strip_suffix("/v1"))
            .unwrap_or(base);
        let [chat, embed] = endpoints(base, "api_base", ["/v2/chat", "/v2/embed"])?;
        let mut headers = json_headers();
        headers.insert(AUTHORIZATION, key.header("Bearer ", "api_key")?);
        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &chat, headers),
            chat,
            embed,
            embed_input_type: self.embed_input_type,
        })
    }
}

/// What one [`Cohere`] service needs for every call, shared behind an `Arc`.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    pub(super) chat: Uri,
    pub(super) embed: Uri,
    pub(super) embed_input_type: String,
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
