//! Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

use http::{HeaderValue, Response, header};
use serde::Serialize;
use towergate_core::GatewayError;

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
    let mut response = Response::new(full(openai_error_json(error)));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(wait) = error.retry_after() {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}
