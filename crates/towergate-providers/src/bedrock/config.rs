//! Bedrock's region, credentials and URLs, and the builder.

use std::fmt;

use aws_credential_types::Credentials;
use http::Uri;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Bedrock, PROVIDER};
use crate::{
    ProviderConfigError,
    settings::{Settings, endpoints, json_headers, settings_setters},
    upstream::Upstream,
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
    settings: Settings,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
}

impl fmt::Debug for BedrockBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockBuilder")
            .field("settings", &self.settings)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl BedrockBuilder {
    pub(super) fn new(model: String) -> Self {
        Self {
            settings: Settings::new(model),
            region: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
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

    settings_setters! {
        /// The base URL instead of `https://bedrock-runtime.{region}.amazonaws.com`;
        /// `/model/{modelId}/converse` (and so on) is appended to it.
        api_base;
        /// How long to wait for the answer's headers (default 600 s); for a
        /// complete answer, its whole body.
        request_timeout;
        /// How long a stream may stay silent between events (default 300 s).
        stream_idle_timeout;
        /// Checks the settings and builds the service over `client`.
        build(Bedrock);
    }

    fn into_config(self) -> Result<Config, ProviderConfigError> {
        let settings = self.settings;
        settings.require_model()?;
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
        let default_base = format!("https://bedrock-runtime.{region}.amazonaws.com");
        let base = settings.base(&default_base, "api_base")?;
        let model_path = format!(
            "/model/{}",
            utf8_percent_encode(&settings.model, PATH_SEGMENT)
        );
        let paths = ["converse", "converse-stream", "invoke"]
            .map(|action| format!("{model_path}/{action}"));
        let [converse, converse_stream, invoke] = endpoints(base, "api_base", paths)?;
        Ok(Config {
            upstream: settings.into_upstream(PROVIDER, &converse, json_headers()),
            converse,
            converse_stream,
            invoke,
            credentials: Credentials::new(
                access_key_id,
                secret,
                self.session_token.filter(|token| !token.is_empty()),
                None,
                "towergate",
            ),
            region,
        })
    }
}

/// What one [`Bedrock`] service needs for every call, shared behind an `Arc`.
#[derive(Debug)]
pub(super) struct Config {
    pub(super) upstream: Upstream,
    pub(super) region: String,
    /// Its `Debug` hides the secret and the token.
    pub(super) credentials: Credentials,
    pub(super) converse: Uri,
    pub(super) converse_stream: Uri,
    pub(super) invoke: Uri,
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
