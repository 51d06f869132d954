//! The flavours of OpenAI's wire, their URLs and headers, and the builder.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Uri, header::AUTHORIZATION};

use super::OpenAi;
use crate::{
    ProviderConfigError,
    settings::{Settings, checked_base, endpoints, json_headers, settings_setters},
    upstream::{Secret, Upstream},
};

/// OpenAI's own API.
pub const OPENAI_API_BASE: &str = "https://api.openai.com/v1";

/// The answer headers must arrive within this unless the builder says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// A stream may stay silent this long unless the builder says otherwise.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Providers that speak OpenAI's wire under their own name and base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compatible {
    /// Groq (`groq`).
    Groq,
    /// DeepSeek (`deepseek`).
    DeepSeek,
    /// xAI (`xai`).
    Xai,
    /// OpenRouter (`openrouter`).
    OpenRouter,
    /// A local Ollama server (`ollama`); needs no key.
    Ollama,
    /// Together AI (`togetherai`).
    TogetherAi,
    /// Databricks model serving (`databricks`); its base is the workspace's
    /// `https://HOST/serving-endpoints`, so there is no default.
    Databricks,
}

impl Compatible {
    /// Every compatible provider.
    pub const ALL: [Compatible; 7] = [
        Compatible::Groq,
        Compatible::DeepSeek,
        Compatible::Xai,
        Compatible::OpenRouter,
        Compatible::Ollama,
        Compatible::TogetherAi,
        Compatible::Databricks,
    ];

    /// MLflow's name for the provider.
    pub fn name(self) -> &'static str {
        match self {
            Compatible::Groq => "groq",
            Compatible::DeepSeek => "deepseek",
            Compatible::Xai => "xai",
            Compatible::OpenRouter => "openrouter",
            Compatible::Ollama => "ollama",
            Compatible::TogetherAi => "togetherai",
            Compatible::Databricks => "databricks",
        }
    }

    /// The base URL used when none is configured.
    pub fn default_api_base(self) -> Option<&'static str> {
        match self {
            Compatible::Groq => Some("https://api.groq.com/openai/v1"),
            Compatible::DeepSeek => Some("https://api.deepseek.com/v1"),
            Compatible::Xai => Some("https://api.x.ai/v1"),
            Compatible::OpenRouter => Some("https://openrouter.ai/api/v1"),
            Compatible::Ollama => Some("http://localhost:11434/v1"),
            Compatible::TogetherAi => Some("https://api.together.xyz/v1"),
            Compatible::Databricks => None,
        }
    }
}

/// Sets up an [`OpenAi`] service; see [`OpenAi::builder`].
#[derive(Debug, Clone)]
pub struct OpenAiBuilder {
    settings: Settings,
    provider: &'static str,
    default_api_base: Option<&'static str>,
    organization: Option<String>,
    azure: Option<Azure>,
    stream_usage: Option<bool>,
}

#[derive(Debug, Clone)]
struct Azure {
    deployment: String,
    api_version: String,
    ad_token: Option<Secret>,
}

impl OpenAiBuilder {
    pub(super) fn new(
        provider: &'static str,
        default_api_base: Option<&'static str>,
        model: String,
    ) -> Self {
        Self {
            settings: Settings::new(model),
            provider,
            default_api_base,
            organization: None,
            azure: None,
            stream_usage: None,
        }
    }

    /// Whether streams ask the upstream for a last usage chunk
    /// (`stream_options.include_usage`) when the caller did not say. On by
    /// default where the upstream is known to take it: OpenAI, Azure from
    /// `api-version` 2024-09-01 on, DeepSeek, xAI and OpenRouter. Without
    /// it, the gateway counts a stream's tokens itself.
    pub fn stream_usage(mut self, ask: bool) -> Self {
        self.stream_usage = Some(ask);
        self
    }

    /// The default of [`stream_usage`](Self::stream_usage) for this upstream.
    fn asks_stream_usage(&self) -> bool {
        if let Some(ask) = self.stream_usage {
            return ask;
        }
        match &self.azure {
            Some(azure) => azure.api_version.as_str() >= "2024-09-01",
            None => matches!(self.provider, "openai" | "deepseek" | "xai" | "openrouter"),
        }
    }

    settings_setters! {
        /// The base URL the operation paths are appended to, such as
        /// `https://api.openai.com/v1`; for Azure, the resource endpoint
        /// `https://NAME.openai.azure.com`.
        api_base;
        /// The key: sent as `Authorization: Bearer KEY`, or as `api-key: KEY` for Azure.
        api_key;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body. Beyond it the call fails with a
        /// timeout (504).
        request_timeout;
        /// How long a stream may stay silent between chunks (default 300 s);
        /// beyond it the stream yields a timeout error and ends.
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(OpenAi);
    }

    /// Sends `OpenAI-Organization` (OpenAI only).
    pub fn organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Calls Azure OpenAI: `{api_base}/openai/deployments/{deployment}/…?api-version={api_version}`.
    ///
    /// The deployment name replaces the model in the request body.
    pub fn azure(mut self, deployment: impl Into<String>, api_version: impl Into<String>) -> Self {
        let ad_token = self.azure.take().and_then(|azure| azure.ad_token);
        self.azure = Some(Azure {
            deployment: deployment.into(),
            api_version: api_version.into(),
            ad_token,
        });
        self
    }

    /// Authenticates to Azure with a Microsoft Entra ID (Azure AD) token, sent
    /// as `Authorization: Bearer TOKEN`, instead of an `api-key`. Needs [`azure`](Self::azure).
    pub fn azure_ad_token(mut self, token: impl Into<String>) -> Self {
        let token = Some(Secret::new(token));
        match &mut self.azure {
            Some(azure) => azure.ad_token = token,
            None => {
                self.azure = Some(Azure {
                    deployment: String::new(),
                    api_version: String::new(),
                    ad_token: token,
                })
            }
        }
        self
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let stream_usage = self.asks_stream_usage();
        let mut settings = self.settings;
        let base = match (&settings.api_base, self.default_api_base) {
            (Some(base), _) => base.as_str(),
            (None, Some(default)) => default,
            (None, None) => {
                return Err(ProviderConfigError::for_key(
                    "api_base",
                    format!("provider `{}` needs an api base URL", self.provider),
                ));
            }
        };
        let base = checked_base(base, "api_base")?;
        let mut headers = json_headers();

        let (paths, model) = match &self.azure {
            Some(azure) => {
                if self.organization.is_some() {
                    return Err(ProviderConfigError::for_key(
                        "organization",
                        "an organization can only be sent to OpenAI, not to Azure",
                    ));
                }
                check_url_segment("deployment", &azure.deployment)?;
                check_url_segment("api_version", &azure.api_version)?;
                match (&azure.ad_token, &settings.api_key) {
                    (Some(token), _) => {
                        headers.insert(AUTHORIZATION, bearer(token)?);
                    }
                    (None, Some(key)) => {
                        headers.insert(HeaderName::from_static("api-key"), sensitive(key)?);
                    }
                    (None, None) => {
                        return Err(ProviderConfigError::for_key(
                            "api_key",
                            "Azure needs an api key or an Azure AD token",
                        ));
                    }
                }
                let prefix = format!("{base}/openai/deployments/{}", azure.deployment);
                let query = format!("?api-version={}", azure.api_version);
                let paths = [
                    format!("{prefix}/chat/completions{query}"),
                    format!("{prefix}/completions{query}"),
                    format!("{prefix}/embeddings{query}"),
                ];
                (paths, azure.deployment.clone())
            }
            None => {
                if let Some(key) = &settings.api_key {
                    headers.insert(AUTHORIZATION, bearer(key)?);
                }
                if let Some(organization) = &self.organization {
                    let value = HeaderValue::from_str(organization).map_err(|_| {
                        ProviderConfigError::for_key(
                            "organization",
                            "the organization contains characters not allowed in a header",
                        )
                    })?;
                    headers.insert(HeaderName::from_static("openai-organization"), value);
                }
                let paths = [
                    format!("{base}/chat/completions"),
                    format!("{base}/completions"),
                    format!("{base}/embeddings"),
                ];
                (paths, settings.model.clone())
            }
        };

        let [chat, completions, embeddings] = endpoints("", "api_base", paths).map_err(|_| {
            ProviderConfigError::for_key("api_base", format!("`{base}` does not make a valid URL"))
        })?;
        settings.model = model;
        Ok(Config {
            upstream: settings.into_upstream(self.provider, &chat, headers),
            chat,
            completions,
            embeddings,
            stream_usage,
        })
    }
}

/// What one [`OpenAi`] service needs for every call, shared behind an `Arc`;
/// its upstream's model is the one sent (the deployment for Azure).
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    pub(super) chat: Uri,
    pub(super) completions: Uri,
    pub(super) embeddings: Uri,
    /// Whether streams ask for a last usage chunk.
    pub(super) stream_usage: bool,
}

/// Checks that `base` is an absolute `http` or `https` URL with a host.
pub(crate) fn check_base_url(base: &str) -> Result<(), String> {
    let uri: Uri = base
        .parse()
        .map_err(|_| format!("`{base}` is not a valid URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("`{base}` must start with http:// or https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{base}` has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("`{base}` must not have a query string"));
    }
    Ok(())
}

fn check_url_segment(what: &str, value: &str) -> Result<(), ProviderConfigError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~');
    if value.is_empty() {
        return Err(ProviderConfigError::for_key(
            what,
            format!("Azure needs a {what}"),
        ));
    }
    if !value.chars().all(safe) {
        return Err(ProviderConfigError::for_key(
            what,
            format!("the {what} `{value}` may only hold letters, digits, `-`, `_`, `.` and `~`"),
        ));
    }
    Ok(())
}

fn bearer(secret: &Secret) -> Result<HeaderValue, ProviderConfigError> {
    secret.header("Bearer ", "api_key")
}

fn sensitive(secret: &Secret) -> Result<HeaderValue, ProviderConfigError> {
    secret.header("", "api_key")
}
