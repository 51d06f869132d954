//! Errors: a provider's configuration that cannot work, and the mapping of
//! upstream failures to [`GatewayError`] kinds.

use std::{error::Error as StdError, fmt, time::Duration};

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};
use serde::Deserialize;
use towergate_core::{ErrorKind, GatewayError};

/// A provider's configuration is missing a key, or a key has a value that cannot work.
///
/// The message names the provider and the key, e.g.
/// "provider `openai`: missing `openai_api_key`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfigError {
    message: String,
    key: Option<String>,
}

impl ProviderConfigError {
    /// An error about the whole configuration, not one key.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            key: None,
        }
    }

    /// An error about the configuration key `key`.
    pub fn for_key(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            key: Some(key.into()),
        }
    }

    /// The key at fault, if one is, so a config loader can point at its line.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What is wrong, for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ProviderConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for ProviderConfigError {}

/// Most bytes of a non-JSON error body kept in the message.
const BODY_EXCERPT: usize = 1024;

/// A provider asked for an operation it has no API for (400), such as
/// embeddings from Anthropic.
#[cfg(any(feature = "anthropic", feature = "cohere", feature = "mistral"))]
pub(crate) fn not_served(provider: &str, endpoint: towergate_core::EndpointType) -> GatewayError {
    GatewayError::invalid(format!(
        "endpoint type {} is not supported by provider {provider}",
        endpoint.as_str()
    ))
}

/// The upstream did not send its answer's headers in time (504).
pub(crate) fn timed_out(host: &str, waited: Duration) -> GatewayError {
    GatewayError::new(
        ErrorKind::Timeout,
        format!("upstream `{host}` did not answer within {}", human(waited)),
    )
}

/// The stream went quiet for longer than allowed (504).
pub(crate) fn stream_idle(host: &str, waited: Duration) -> GatewayError {
    GatewayError::new(
        ErrorKind::Timeout,
        format!(
            "upstream `{host}` sent nothing for {} in the middle of a stream",
            human(waited)
        ),
    )
}

/// The request could not be sent or its answer not received (502).
pub(crate) fn unreachable(host: &str, error: &hyper_util::client::legacy::Error) -> GatewayError {
    let cause = deepest_cause(error);
    let message = if error.is_connect() {
        format!("cannot connect to upstream `{host}`: {cause}")
    } else {
        format!("upstream `{host}` failed before answering: {cause}")
    };
    GatewayError::bad_gateway(message)
}

/// The answer's body broke off while it was read (502).
pub(crate) fn broken_body(host: &str, error: &(dyn StdError + 'static)) -> GatewayError {
    GatewayError::bad_gateway(format!(
        "upstream `{host}` broke off its answer: {}",
        deepest_cause(error)
    ))
}

/// The upstream answered with a status that is not a success.
///
/// Keeps the status and, when the body is OpenAI's error shape, its
/// `error.message` (also `code` and `param`); when it has a top-level
/// `message` instead (Cohere, Mistral), that; otherwise the body text, cut
/// to about a kilobyte.
pub(crate) fn from_status(
    host: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> GatewayError {
    if status.is_redirection() {
        return GatewayError::bad_gateway(format!(
            "upstream `{host}` answered {status}; redirects are not followed (check the api base URL)"
        ));
    }
    let mut error = match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => envelope.into_error(status),
        Err(_) => match serde_json::from_slice::<MessageEnvelope>(body) {
            Ok(envelope) => GatewayError::upstream(status, envelope.text()),
            Err(_) => GatewayError::upstream(status, body_excerpt(host, status, body)),
        },
    };
    if let Some(wait) = retry_after(headers) {
        error = error.with_retry_after(wait);
    }
    error
}

/// The upstream's error as carried inside a stream event, if the data is one.
pub(crate) fn from_stream_event(data: &str) -> Option<GatewayError> {
    let envelope: ErrorEnvelope = serde_json::from_str(data).ok()?;
    let status = envelope.status_hint().unwrap_or(StatusCode::BAD_GATEWAY);
    Some(envelope.into_error(status))
}

fn body_excerpt(host: &str, status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("upstream `{host}` answered {status} with an empty body");
    }
    if text.len() <= BODY_EXCERPT {
        return text.to_owned();
    }
    let mut end = BODY_EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// `{"error": {...}}` or `{"error": "text"}`, as OpenAI and its imitators send.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorBody {
    Object {
        message: String,
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        param: Option<serde_json::Value>,
    },
    Text(String),
}

impl ErrorEnvelope {
    fn status_hint(&self) -> Option<StatusCode> {
        match &self.error {
            ErrorBody::Object {
                code: Some(code), ..
            } => {
                let number = code
                    .as_u64()
                    .or_else(|| code.as_str().and_then(|s| s.parse().ok()))?;
                let status = StatusCode::from_u16(u16::try_from(number).ok()?).ok()?;
                (status.is_client_error() || status.is_server_error()).then_some(status)
            }
            _ => None,
        }
    }

    fn into_error(self, status: StatusCode) -> GatewayError {
        match self.error {
            ErrorBody::Text(message) => GatewayError::upstream(status, message),
            ErrorBody::Object {
                message,
                code,
                param,
            } => {
                let mut error = GatewayError::upstream(status, message);
                if let Some(code) = code.as_ref().and_then(serde_json::Value::as_str) {
                    error = error.with_code(code);
                }
                if let Some(param) = param.as_ref().and_then(serde_json::Value::as_str) {
                    error = error.with_param(param);
                }
                error
            }
        }
    }
}

/// `{"message": ...}` at the top level: Cohere's `{"id", "message"}`, and
/// Mistral's `{"object": "error", "message": ...}` whose message is text or
/// a validation report `{"detail": [{"loc", "msg"}, ...]}`.
#[derive(Deserialize)]
struct MessageEnvelope {
    message: serde_json::Value,
}

impl MessageEnvelope {
    fn text(&self) -> String {
        use serde_json::Value;
        let detail = match &self.message {
            Value::String(text) => return text.clone(),
            Value::Object(fields) => fields.get("detail"),
            _ => None,
        };
        match detail {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Array(problems)) => problems
                .iter()
                .map(|problem| {
                    let text = problem
                        .get("msg")
                        .and_then(Value::as_str)
                        .unwrap_or("invalid");
                    let at: Vec<String> = problem
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|loc| {
                            loc.iter()
                                .map(|part| match part {
                                    Value::String(name) => name.clone(),
                                    other => other.to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    if at.is_empty() {
                        text.to_owned()
                    } else {
                        format!("{}: {text}", at.join("."))
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => self.message.to_string(),
        }
    }
}

/// The innermost cause's text, which is the one that says what happened
/// ("Connection refused (os error 111)").
fn deepest_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn human(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn openai_error_body_keeps_status_message_and_code() {
        let body = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded","param":null}}"#;
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, http::HeaderValue::from_static("7"));
        let error = from_status("api.example", StatusCode::TOO_MANY_REQUESTS, &headers, body);
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.message(), "Rate limit reached");
        assert_eq!(error.code(), Some("rate_limit_exceeded"));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn text_body_is_cut_to_about_a_kilobyte() {
        let body = "é".repeat(2000);
        let error = from_status(
            "h",
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            body.as_bytes(),
        );
        assert!(error.message().len() <= BODY_EXCERPT + "…".len());
        assert!(error.message().ends_with('…'));
    }

    #[test]
    fn empty_body_names_the_host_and_status() {
        let error = from_status(
            "h:1",
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.message().contains("`h:1`"), "{}", error.message());
    }

    #[test]
    fn a_top_level_message_is_kept() {
        let cohere = br#"{"id":"e1","message":"invalid api token"}"#;
        let error = from_status("h", StatusCode::UNAUTHORIZED, &HeaderMap::new(), cohere);
        assert_eq!(error.message(), "invalid api token");
        let mistral = br#"{"object":"error","message":{"detail":[{"type":"extra_forbidden",
            "loc":["body","stream_options"],"msg":"Extra inputs are not permitted","input":{}}]},
            "type":"invalid_request_message_error","param":null,"code":null}"#;
        let error = from_status(
            "h",
            StatusCode::UNPROCESSABLE_ENTITY,
            &HeaderMap::new(),
            mistral,
        );
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            error.message(),
            "body.stream_options: Extra inputs are not permitted"
        );
    }

    #[test]
    fn stream_error_event_uses_a_numeric_code_as_status() {
        let error = from_stream_event(r#"{"error":{"message":"overloaded","code":529}}"#);
        let error = error.map(|e| (e.status().as_u16(), e.message().to_owned()));
        assert_eq!(error, Some((529, "overloaded".to_owned())));
        assert!(from_stream_event(r#"{"id":"x"}"#).is_none());
    }
}
