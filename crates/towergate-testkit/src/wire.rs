//! OpenAI's wire: JSON bodies, error bodies and server-sent events.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde::Serialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use towergate_core::GatewayError;

/// The body of every answer the mock server sends.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The last event of a stream.
pub(crate) const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

/// The event a malformed stream sends.
pub(crate) const MALFORMED_EVENT: &[u8] = b"data: {not json\n\n";

/// The body a malformed complete answer sends.
pub(crate) const MALFORMED_BODY: &[u8] = b"{not json";

/// `value` as JSON text.
pub(crate) fn to_json(value: &impl Serialize) -> Bytes {
    match serde_json::to_vec(value) {
        Ok(bytes) => Bytes::from(bytes),
        Err(error) => {
            tracing::error!(%error, "mock answer could not be serialized");
            Bytes::from_static(b"{}")
        }
    }
}

/// `value` as one server-sent event: `data: {json}\n\n`.
pub(crate) fn sse_event(value: &impl Serialize) -> Bytes {
    let json = to_json(value);
    let mut event = Vec::with_capacity(json.len() + 8);
    event.extend_from_slice(b"data: ");
    event.extend_from_slice(&json);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

/// A complete answer with a fixed body.
pub(crate) fn full(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).boxed_unsync());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    full(status, "application/json", body)
}

/// OpenAI's error body: `{"error":{"message","type","param","code"}}`.
pub(crate) fn error_body(
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Bytes {
    to_json(&json!({
        "error": {"message": message, "type": kind, "param": param, "code": code}
    }))
}

/// An answer with OpenAI's error body.
pub(crate) fn error_response(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response<Body> {
    json_response(status, error_body(message, kind, param, code))
}

/// An answer with OpenAI's error body for `error`, at its status.
pub(crate) fn gateway_error(error: &GatewayError) -> Response<Body> {
    error_response(
        error.status(),
        error.message(),
        error.kind().type_name(),
        error.param(),
        error.code(),
    )
}

/// The answer of a `Fault::Status`.
pub(crate) fn status_fault(status: u16) -> Response<Body> {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|status| status.as_u16() >= 200)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if status.is_client_error() {
        "invalid_request_error"
    } else {
        "server_error"
    };
    let message = format!("mock upstream fault: status {}", status.as_u16());
    error_response(status, &message, kind, None, None)
}

/// `GET /v1/models`: one model, `mock-model`.
pub(crate) fn models_body() -> Bytes {
    to_json(&json!({
        "object": "list",
        "data": [{
            "id": crate::answer::DEFAULT_MODEL,
            "object": "model",
            "created": 1_700_000_000,
            "owned_by": "towergate"
        }]
    }))
}

/// Removes `usage.completion_tokens`, which OpenAI's embeddings answer lacks.
pub(crate) fn strip_completion_tokens(mut body: Value) -> Value {
    if let Some(usage) = body.get_mut("usage").and_then(Value::as_object_mut) {
        usage.remove("completion_tokens");
    }
    body
}
