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

/// Why a body could not be decoded into the type a front expected.
#[derive(Debug)]
pub(crate) struct DecodeError {
    /// What is wrong.
    pub(crate) problem: Problem,
    /// Where in the document: the object that lacks a field, or the value
    /// that is wrong; `None` for a syntax error.
    pub(crate) path: Option<serde_path_to_error::Path>,
    /// serde's own words.
    pub(crate) message: String,
}

/// The kinds of undecodable bodies a front tells apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Not JSON at all, or JSON followed by more text.
    Syntax,
    /// A required field is absent; its name.
    Missing(String),
    /// A value of the wrong type or out of range.
    Invalid,
}

impl DecodeError {
    fn syntax(error: &serde_json::Error) -> Self {
        Self {
            problem: Problem::Syntax,
            path: None,
            message: error.to_string(),
        }
    }

    /// The error in OpenAI's terms: a 400 whose message and `param` name the field.
    pub(crate) fn into_gateway_error(self) -> GatewayError {
        let path = self
            .path
            .as_ref()
            .map_or_else(|| ".".to_owned(), ToString::to_string);
        match self.problem {
            Problem::Syntax => {
                GatewayError::invalid(format!("request body is not valid JSON: {}", self.message))
            }
            _ if path == "." => {
                GatewayError::invalid(format!("invalid request body: {}", self.message))
            }
            _ => GatewayError::invalid(format!("invalid request body: `{path}`: {}", self.message))
                .with_param(path),
        }
    }
}

/// Parses JSON into `T`, saying what is wrong and where when it cannot.
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().clone();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return DecodeError::syntax(&inner);
        }
        let message = inner.to_string();
        let problem = missing_field(&message).map_or(Problem::Invalid, Problem::Missing);
        DecodeError {
            problem,
            path: Some(path),
            message,
        }
    })?;
    deserializer
        .end()
        .map_err(|error| DecodeError::syntax(&error))?;
    Ok(value)
}

/// The field serde names in "missing field `name`", if that is what it says.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_owned())
}

/// Parses JSON into `T`; an error names the field at fault.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, GatewayError> {
    decode_json(bytes).map_err(DecodeError::into_gateway_error)
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
    fn a_missing_field_is_told_apart() {
        let error = decode_json::<ChatRequest>(br#"{"model":"m"}"#).unwrap_err();
        assert_eq!(error.problem, Problem::Missing("messages".into()));
        let error = decode_json::<ChatRequest>(br#"{"messages":[{"content":"x"}]}"#).unwrap_err();
        assert_eq!(error.problem, Problem::Missing("role".into()));
        assert_eq!(error.path.unwrap().to_string(), "messages[0]");
        let error = decode_json::<ChatRequest>(br#"{"messages":[], "n": -1}"#).unwrap_err();
        assert_eq!(error.problem, Problem::Invalid);
        let error = decode_json::<ChatRequest>(b"{").unwrap_err();
        assert_eq!(error.problem, Problem::Syntax);
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
