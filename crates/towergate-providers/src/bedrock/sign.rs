//! Signing a Bedrock request with AWS Signature Version 4.

use std::time::SystemTime;

use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{
    Method, Uri,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT},
};
use towergate_core::GatewayError;

use super::config::Config;
use crate::client::RequestBody;

/// The service name requests are signed for.
const SERVICE: &str = "bedrock";

fn signing_failed(error: impl std::fmt::Display) -> GatewayError {
    GatewayError::internal(format!("cannot sign the Bedrock request: {error}"))
}

/// A `POST` of the JSON `body` to `uri`, signed now with the configured
/// credentials and region; the signature covers the content type, the
/// `Accept` header, the host and the body.
pub(super) fn signed_request(
    config: &Config,
    uri: &Uri,
    body: Bytes,
    accept: &'static str,
) -> Result<http::Request<RequestBody>, GatewayError> {
    let identity: Identity = config.credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&config.region)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(signing_failed)?
        .into();
    let target = uri.to_string();
    let headers = [
        (CONTENT_TYPE.as_str(), "application/json"),
        (ACCEPT.as_str(), accept),
    ];
    let signable = SignableRequest::new(
        "POST",
        target.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(&body),
    )
    .map_err(signing_failed)?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(signing_failed)?
        .into_parts();
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri(uri.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .header(USER_AGENT, concat!("towergate/", env!("CARGO_PKG_VERSION")))
        .body(http_body_util::Full::new(body))
        .map_err(|failure| {
            GatewayError::internal(format!("cannot build the upstream request: {failure}"))
        })?;
    instructions.apply_to_request_http1x(&mut request);
    for name in [AUTHORIZATION.as_str(), "x-amz-security-token"] {
        if let Some(value) = request.headers_mut().get_mut(name) {
            value.set_sensitive(true);
        }
    }
    Ok(request)
}
