//! Bedrock's region, credentials and URLs, and the builder.

use std::{fmt, sync::Arc, time::Duration};

use aws_credential_types::Credentials;
use http::Uri;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Bedrock;
use crate::{
    HttpClient, ProviderConfigError,
    openai::{DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT},
    upstream::describe_host,
};

/// Everything but RFC 3986's unreserved characters is escaped in a model id.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Sets up a [`Bedrock`] service; see [`Bedrock::builder`].
#[derive(Clone)]
pub struct BedrockBuilder {
    model: String,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    api_base: Option<String>,
    request_timeout: Duration,
    stream_idle_timeout: Duration,
}

impl fmt::Debug for BedrockBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockBuilder")
            .field("model", &self.model)
            .field("region", &self.region)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl BedrockBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            model,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            api_base: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
        }
    }

    /// The AWS region (`us-east-1`); it names the endpoint and is signed.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The access key id and secret access key requests are signed with.
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.access_key_id = Some(access_key_id.into());
        self.secret_access_key = Some(secret_access_key.into());
        self
    }

    /// A session token of temporary credentials, sent as `x-amz-security-token`.
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// The base URL instead of `https://bedrock-runtime.{region}.amazonaws.com`;
    /// `/model/{modelId}/converse` (and so on) is appended to it.
    pub fn api_base(mut self, api_base: impl Into<String>) -> Self {
        self.api_base = Some(api_base.into());
        self
    }

    /// How long to wait for the answer's headers (default 600 s); for a
    /// complete answer, its whole body.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a stream may stay silent between events (default 300 s).
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// Checks the settings and builds the service over `client`.
    pub fn build(self, client: &HttpClient) -> Result<Bedrock, ProviderConfigError> {
        Ok(Bedrock {
            config: Arc::new(self.into_config()?),
            client: client.clone(),
        })
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        crate::upstream::require_model(&self.model)?;
        let region = self
            .region
            .filter(|region| !region.trim().is_empty())
            .ok_or_else(|| ProviderConfigError::for_key("aws_region", "Bedrock needs a region"))?;
        if !region
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        {
            return Err(ProviderConfigError::for_key(
                "aws_region",
                format!("`{region}` is not an AWS region"),
            ));
        }
        let access_key_id = self.access_key_id.filter(|key| !key.is_empty());
        let access_key_id = access_key_id.ok_or_else(|| {
            ProviderConfigError::for_key("aws_access_key_id", "Bedrock needs an access key id")
        })?;
        let secret = self.secret_access_key.filter(|key| !key.is_empty());
        let secret = secret.ok_or_else(|| {
            ProviderConfigError::for_key(
                "aws_secret_access_key",
                "Bedrock needs a secret access key",
            )
        })?;
        let base = match self.api_base {
            Some(base) => base,
            None => format!("https://bedrock-runtime.{region}.amazonaws.com"),
        };
        let base = crate::upstream::checked_base(&base, "api_base")?.to_owned();
        let model_path = format!(
            "{base}/model/{}",
            utf8_percent_encode(&self.model, PATH_SEGMENT)
        );
        let uri = |action: &str| -> Result<Uri, ProviderConfigError> {
            format!("{model_path}/{action}").parse().map_err(|_| {
                ProviderConfigError::for_key(
                    "api_base",
                    format!("`{base}` does not make a valid URL"),
                )
            })
        };
        let converse = uri("converse")?;
        Ok(Config {
            host: describe_host(&converse),
            converse_stream: uri("converse-stream")?,
            invoke: uri("invoke")?,
            converse,
            credentials: Credentials::new(
                access_key_id,
                secret,
                self.session_token.filter(|token| !token.is_empty()),
                None,
                "towergate",
            ),
            region,
            model: self.model,
            request_timeout: self.request_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
        })
    }
}

/// What one [`Bedrock`] service needs for every call, shared behind an `Arc`.
pub(super) struct Config {
    pub(super) model: String,
    pub(super) region: String,
    /// Its `Debug` hides the secret and the token.
    pub(super) credentials: Credentials,
    pub(super) converse: Uri,
    pub(super) converse_stream: Uri,
    pub(super) invoke: Uri,
    /// `host:port`, for error messages.
    pub(super) host: Arc<str>,
    pub(super) request_timeout: Duration,
    pub(super) stream_idle_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("region", &self.region)
            .field("converse", &self.converse)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn builder() -> BedrockBuilder {
        BedrockBuilder::new("anthropic.claude-3-haiku-20240307-v1:0".into())
            .region("eu-west-1")
            .credentials("AKID", "very-secret")
    }

    #[test]
    fn the_endpoint_follows_the_region_and_the_model_id_is_escaped() {
        let config = builder().into_config().unwrap();
        assert_eq!(
            config.converse.to_string(),
            "https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        );
        assert!(config.converse_stream.path().ends_with("/converse-stream"));
        let shown = format!("{config:?} {:?}", builder());
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn region_and_keys_are_required() {
        let error = BedrockBuilder::new("m".into()).into_config().unwrap_err();
        assert_eq!(error.key(), Some("aws_region"));
        let error = BedrockBuilder::new("m".into())
            .region("us-east-1")
            .into_config()
            .unwrap_err();
        assert_eq!(error.key(), Some("aws_access_key_id"));
    }
}
