//! Checking a Bedrock request's AWS Signature Version 4 the way AWS does:
//! the signature is computed again from the request and the known test
//! credentials ([`BEDROCK_ACCESS_KEY_ID`], [`BEDROCK_SECRET_ACCESS_KEY`],
//! [`BEDROCK_SESSION_TOKEN`]) and must match the one presented.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::date_time::{DateTime, Format};
use http::{HeaderMap, header, request::Parts};

/// The access key id the Bedrock wire accepts.
pub const BEDROCK_ACCESS_KEY_ID: &str = "AKIDTOWERGATEMOCK";
/// The secret access key the Bedrock wire checks signatures with.
pub const BEDROCK_SECRET_ACCESS_KEY: &str = "mock/secret+access/key/for/towergate/tests";
/// The session token the Bedrock wire accepts when one is sent.
pub const BEDROCK_SESSION_TOKEN: &str = "mock-session-token/for+towergate";

/// Why a request's signature was refused: Bedrock's error type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsigned {
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

fn refused(kind: &'static str, message: impl Into<String>) -> Unsigned {
    Unsigned {
        kind,
        message: message.into(),
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'h> {
    access_key_id: &'h str,
    date: &'h str,
    region: &'h str,
    service: &'h str,
    signed_headers: Vec<&'h str>,
    signature: &'h str,
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The access key id of a request's `Authorization` header, if it has one.
pub(crate) fn access_key_id(headers: &HeaderMap) -> Option<&str> {
    parse(text(headers, header::AUTHORIZATION.as_str())?)
        .ok()
        .map(|auth| auth.access_key_id)
}

fn parse(value: &str) -> Result<Authorization<'_>, Unsigned> {
    let malformed = || {
        refused(
            "IncompleteSignatureException",
            format!(
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization={value}"
            ),
        )
    };
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(malformed)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(value) = part.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = part.strip_prefix("SignedHeaders=") {
            signed = Some(value);
        } else if let Some(value) = part.strip_prefix("Signature=") {
            signature = Some(value);
        }
    }
    let scope: Vec<&str> = credential.ok_or_else(malformed)?.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope[..] else {
        return Err(malformed());
    };
    if terminator != "aws4_request" {
        return Err(malformed());
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers: signed.ok_or_else(malformed)?.split(';').collect(),
        signature: signature.ok_or_else(malformed)?,
    })
}

/// `20240102T030405Z` as a time.
fn amz_date(value: &str) -> Option<SystemTime> {
    let digits = |range: std::ops::Range<usize>| value.get(range);
    if value.len() != 16 || !value.ends_with('Z') || value.get(8..9) != Some("T") {
        return None;
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        digits(0..4)?,
        digits(4..6)?,
        digits(6..8)?,
        digits(9..11)?,
        digits(11..13)?,
        digits(13..15)?
    );
    let time = DateTime::from_str(&rfc3339, Format::DateTime).ok()?;
    SystemTime::try_from(time).ok()
}

/// Checks the signature of a Bedrock request (`parts` with its raw `body`).
pub(crate) fn check(parts: &Parts, body: &[u8]) -> Result<(), Unsigned> {
    let headers = &parts.headers;
    let value = text(headers, header::AUTHORIZATION.as_str()).ok_or_else(|| {
        refused(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    })?;
    let auth = parse(value)?;
    if auth.access_key_id != BEDROCK_ACCESS_KEY_ID {
        return Err(refused(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    if auth.service != "bedrock" {
        return Err(refused(
            "InvalidSignatureException",
            format!(
                "Credential should be scoped to correct service: 'bedrock'. (found '{}')",
                auth.service
            ),
        ));
    }
    let date = text(headers, "x-amz-date").ok_or_else(|| {
        refused(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    let time = amz_date(date)
        .filter(|_| date.starts_with(auth.date))
        .ok_or_else(|| {
            refused(
                "InvalidSignatureException",
                format!("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{date}'", auth.date),
            )
        })?;
    let token = text(headers, "x-amz-security-token");
    if token.is_some_and(|token| token != BEDROCK_SESSION_TOKEN) {
        return Err(refused(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    let host = text(headers, header::HOST.as_str()).unwrap_or("localhost");
    let target = match parts.uri.query() {
        Some(query) => format!("http://{host}{}?{query}", parts.uri.path()),
        None => format!("http://{host}{}", parts.uri.path()),
    };
    let mut signable_headers = Vec::new();
    for name in &auth.signed_headers {
        if matches!(*name, "host" | "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        let value = text(headers, name).ok_or_else(|| {
            refused(
                "InvalidSignatureException",
                format!("Signed header `{name}` is missing from the request"),
            )
        })?;
        signable_headers.push((*name, value));
    }
    let identity: Identity = Credentials::new(
        BEDROCK_ACCESS_KEY_ID,
        BEDROCK_SECRET_ACCESS_KEY,
        token.map(str::to_owned),
        None,
        "mock",
    )
    .into();
    let internal =
        |error: &dyn std::fmt::Display| refused("InternalServerException", error.to_string());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(auth.region)
        .name("bedrock")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|error| internal(&error))?
        .into();
    let signable = SignableRequest::new(
        parts.method.as_str(),
        target,
        signable_headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|error| internal(&error))?;
    let expected = sign(signable, &params).map_err(|error| internal(&error))?;
    if expected.signature() != auth.signature {
        return Err(refused(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A request to `uri` with `body`, signed with `secret` (and `token`).
    fn signed(body: &[u8], secret: &str, token: Option<&str>) -> Parts {
        let uri = "http://127.0.0.1:9/model/m%3A0/converse";
        let identity: Identity = Credentials::new(
            BEDROCK_ACCESS_KEY_ID,
            secret,
            token.map(str::to_owned),
            None,
            "test",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("content-type", "application/json")];
        let signable =
            SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(body))
                .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("host", "127.0.0.1:9")
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        instructions.apply_to_request_http1x(&mut request);
        request.into_parts().0
    }

    #[test]
    fn a_request_signed_with_the_test_credentials_passes() {
        let parts = signed(b"{}", BEDROCK_SECRET_ACCESS_KEY, None);
        assert_eq!(check(&parts, b"{}"), Ok(()));
        assert_eq!(access_key_id(&parts.headers), Some(BEDROCK_ACCESS_KEY_ID));
        let parts = signed(
            b"{}",
            BEDROCK_SECRET_ACCESS_KEY,
            Some(BEDROCK_SESSION_TOKEN),
        );
        assert_eq!(check(&parts, b"{}"), Ok(()));
    }

    #[test]
    fn a_changed_body_or_another_secret_breaks_the_signature() {
        let parts = signed(b"{}", BEDROCK_SECRET_ACCESS_KEY, None);
        let refused = check(&parts, b"{\"x\":1}").unwrap_err();
        assert_eq!(refused.kind, "InvalidSignatureException");
        let parts = signed(b"{}", "another-secret", None);
        assert_eq!(
            check(&parts, b"{}").unwrap_err().kind,
            "InvalidSignatureException"
        );
        let parts = signed(b"{}", BEDROCK_SECRET_ACCESS_KEY, Some("other-token"));
        assert_eq!(
            check(&parts, b"{}").unwrap_err().kind,
            "UnrecognizedClientException"
        );
    }

    #[test]
    fn an_unsigned_request_is_missing_its_token() {
        let parts = http::Request::new(()).into_parts().0;
        assert_eq!(
            check(&parts, b"").unwrap_err().kind,
            "MissingAuthenticationTokenException"
        );
    }

    #[test]
    fn amz_dates_are_read_and_bad_ones_refused() {
        let time = amz_date("20240102T030405Z").unwrap();
        let seconds = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(seconds, 1_704_164_645);
        assert!(amz_date("2024-01-02").is_none());
    }
}
