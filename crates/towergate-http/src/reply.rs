//! Building a front's HTTP answers: JSON documents, SSE streams, `/health`,
//! and the `x-request-id` every answer carries.

use std::{convert::Infallible, future::Future, pin::Pin, time::Instant};

use http::{HeaderValue, Method, Response, header};
use serde::Serialize;
use towergate_core::{GatewayError, Operation, RequestId};

use crate::{
    body::{ResponseBody, full},
    request_id,
};

/// The future every front returns.
pub(crate) type FrontFuture =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

/// `GET /health`: `{"status":"OK"}`, as MLflow answers it.
pub(crate) fn health() -> Response<ResponseBody> {
    json_response(full(&br#"{"status":"OK"}"#[..]))
}

/// `value` as a JSON body.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<ResponseBody, GatewayError> {
    serde_json::to_vec(value)
        .map(full)
        .map_err(|error| GatewayError::internal(format!("could not encode the answer: {error}")))
}

/// A 200 answer with a JSON body.
pub(crate) fn json_response(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 200 answer streaming server-sent events, with buffering turned off.
pub(crate) fn sse_response(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        http::HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

/// Whether a streamed answer to `operation` keeps the usage chunk.
pub(crate) fn wants_stream_usage(operation: &Operation) -> bool {
    match operation {
        Operation::Chat(chat) => chat.wants_stream_usage(),
        Operation::Completion(completion) => completion.wants_stream_usage(),
        Operation::Embeddings(_) | Operation::ListEndpoints => false,
    }
}

/// What a front knows about a request when its answer is ready.
pub(crate) struct Served<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) request_id: &'a RequestId,
    pub(crate) started: Instant,
}

impl Served<'_> {
    /// Puts `x-request-id` on the answer and logs the request.
    pub(crate) fn finish(&self, mut response: Response<ResponseBody>) -> Response<ResponseBody> {
        response.headers_mut().insert(
            &request_id::X_REQUEST_ID,
            request_id::header_value(self.request_id),
        );
        tracing::info!(
            method = %self.method,
            path = self.path,
            status = response.status().as_u16(),
            request_id = %self.request_id,
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "request"
        );
        response
    }
}
