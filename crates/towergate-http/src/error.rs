//! Errors in each front's shape.
//!
//! - OpenAI: `{"error": {"message", "type", "param", "code"}}`.
//! - MLflow: `{"detail": message}`, except a rate-limit refusal, which MLflow
//!   answers as `{"error": "Rate limit exceeded: …"}`.
//!
//! Both answer with the status of the error's [`ErrorKind`] and, when the
//! error says how long to wait, a `Retry-After` header in whole seconds.
//!
//! ```
//! use towergate_core::{ErrorKind, GatewayError};
//! use towergate_http::error::{mlflow_error_json, openai_error_json};
//!
//! let error = GatewayError::not_found("endpoint `nope` does not exist");
//! assert_eq!(mlflow_error_json(&error), br#"{"detail":"endpoint `nope` does not exist"}"#);
//! assert!(openai_error_json(&error).starts_with(br#"{"error":{"message":"#));
//!
//! let limited = GatewayError::new(ErrorKind::RateLimited, "Rate limit exceeded: 10 per 1 minute");
//! assert_eq!(mlflow_error_json(&limited), br#"{"error":"Rate limit exceeded: 10 per 1 minute"}"#);
//! ```

use http::{HeaderValue, Response, header};
use serde::Serialize;
use towergate_core::{ErrorKind, GatewayError};

use crate::body::{ResponseBody, full};

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// The JSON of `error` in OpenAI's shape (also used as an SSE error event).
pub fn openai_error_json(error: &GatewayError) -> Vec<u8> {
    let envelope = Envelope {
        error: Body {
            message: error.message(),
            kind: error.kind().type_name(),
            param: error.param(),
            code: error.code(),
        },
    };
    serde_json::to_vec(&envelope).unwrap_or_else(|_| b"{\"error\":{}}".to_vec())
}

/// An HTTP answer for `error`: its status, OpenAI's body and `Retry-After` when set.
pub fn openai_error_response(error: &GatewayError) -> Response<ResponseBody> {
    error_response(error, openai_error_json(error))
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct RateLimited<'a> {
    error: &'a str,
}

/// The JSON of `error` in MLflow's shape (also used as an SSE error event):
/// `{"detail": message}`, or `{"error": message}` for a rate-limit refusal.
pub fn mlflow_error_json(error: &GatewayError) -> Vec<u8> {
    let encoded = match error.kind() {
        ErrorKind::RateLimited => serde_json::to_vec(&RateLimited {
            error: error.message(),
        }),
        _ => serde_json::to_vec(&Detail {
            detail: error.message(),
        }),
    };
    encoded.unwrap_or_else(|_| b"{\"detail\":null}".to_vec())
}

/// An HTTP answer for `error`: its status, MLflow's body and `Retry-After` when set.
pub fn mlflow_error_response(error: &GatewayError) -> Response<ResponseBody> {
    error_response(error, mlflow_error_json(error))
}

fn error_response(error: &GatewayError, json: Vec<u8>) -> Response<ResponseBody> {
    let mut response = Response::new(full(json));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(extra) = error.headers() {
        for (name, value) in extra {
            headers.insert(name, value.clone());
        }
    }
    if let Some(wait) = error.retry_after() {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}
