//! Gemini's URLs and headers, and the builder.

use http::{HeaderName, Uri};

use super::{Gemini, PROVIDER};
use crate::{
    ProviderConfigError,
    settings::{Settings, endpoints, json_headers, settings_setters},
    upstream::Upstream,
};

/// Google's Generative Language API (Gemini API), version `v1beta`.
pub const GEMINI_API_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Sets up a [`Gemini`] service; see [`Gemini::builder`].
#[derive(Debug, Clone)]
pub struct GeminiBuilder {
    settings: Settings,
}

impl GeminiBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            settings: Settings::new(model),
        }
    }

    settings_setters! {
        /// The base URL the `models/…` paths are appended to (default
        /// [`GEMINI_API_BASE`]).
        api_base;
        /// The API key, sent as `x-goog-api-key`.
        api_key;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body. Beyond it the call fails with a
        /// timeout (504).
        request_timeout;
        /// How long a stream may stay silent between events (default 300 s);
        /// beyond it the stream yields a timeout error and ends.
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(Gemini);
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        let model_path = model_path(&settings.model)?;
        let base = settings.base(GEMINI_API_BASE, "api_base")?;
        let [generate, stream, embed, batch_embed] = endpoints(
            &format!("{base}/{model_path}"),
            "api_base",
            [
                ":generateContent",
                ":streamGenerateContent?alt=sse",
                ":embedContent",
                ":batchEmbedContents",
            ],
        )
        .map_err(|_| {
            ProviderConfigError::for_key("api_base", format!("`{base}` does not make a valid URL"))
        })?;

        let mut headers = json_headers();
        if let Some(key) = &settings.api_key {
            headers.insert(
                HeaderName::from_static("x-goog-api-key"),
                key.header("", "api_key")?,
            );
        }
        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &generate, headers),
            model_path,
            generate,
            stream,
            embed,
            batch_embed,
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

/// What one [`Gemini`] service needs for every call, shared behind an
/// `Arc`; its headers hold content type, user agent and `x-goog-api-key`
/// (marked sensitive).
#[derive(Debug)]
pub(super) struct Config {
    /// Host, headers and timeouts; its model is the one configured, named
    /// in answers that do not name theirs.
    pub(super) upstream: Upstream,
    /// `models/NAME`, as the batch embedding body names it.
    pub(super) model_path: String,
    pub(super) generate: Uri,
    pub(super) stream: Uri,
    pub(super) embed: Uri,
    pub(super) batch_embed: Uri,
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
