//! Reading a request body, within a size limit, into a typed value.

use bytes::Bytes;
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use towergate_core::{BoxError, ErrorKind, GatewayError};

/// Reads the whole body, refusing one longer than `limit` bytes with 413.
pub(crate) async fn read_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, GatewayError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        GatewayError::new(
            ErrorKind::PayloadTooLarge,
            format!("request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(too_large()),
        Err(error) => Err(GatewayError::invalid(format!(
            "could not read the request body: {error}"
        ))),
    }
}

/// Parses JSON into `T`; an error names the field at fault.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, GatewayError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return GatewayError::invalid(format!("request body is not valid JSON: {inner}"));
        }
        if path == "." {
            return GatewayError::invalid(format!("invalid request body: {inner}"));
        }
        GatewayError::invalid(format!("invalid request body: `{path}`: {inner}")).with_param(path)
    })?;
    deserializer.end().map_err(|error| {
        GatewayError::invalid(format!("request body is not valid JSON: {error}"))
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use towergate_core::chat::ChatRequest;

    #[test]
    fn names_the_field_of_the_wrong_type() {
        let error = parse_json::<ChatRequest>(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#,
        )
        .unwrap_err();
        assert_eq!(error.param(), Some("temperature"));
        assert!(
            error.message().contains("`temperature`"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn names_a_nested_field() {
        let error = parse_json::<ChatRequest>(br#"{"model":"m","messages":[{"role":"robot"}]}"#)
            .unwrap_err();
        assert_eq!(error.param(), Some("messages[0].role"));
    }

    #[test]
    fn malformed_json_says_so() {
        let error = parse_json::<ChatRequest>(br#"{"model": "#).unwrap_err();
        assert!(
            error
                .message()
                .starts_with("request body is not valid JSON")
        );
        let error = parse_json::<ChatRequest>(br#"{"messages":[]} trailing"#).unwrap_err();
        assert!(
            error
                .message()
                .starts_with("request body is not valid JSON")
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse_json::<ChatRequest>(br#"{"model":"m"}"#).unwrap_err();
        assert!(
            error.message().contains("missing field `messages`"),
            "{}",
            error.message()
        );
    }
}
