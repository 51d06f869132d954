//! A [`GatewayResponse`] as OpenAI's HTTP answer.

use http::{HeaderMap, HeaderName, HeaderValue, Response, header};
use http_body_util::BodyExt;
use serde::Serialize;
use towergate_core::{GatewayError, GatewayResponse, Payload};

use crate::{
    body::{ResponseBody, full},
    error::openai_error_json,
    headers,
    sse::SseBody,
};

pub(super) fn health() -> Response<ResponseBody> {
    json_response(full(&br#"{"status":"OK"}"#[..]))
}

pub(super) fn answer(
    response: GatewayResponse,
    include_usage: bool,
) -> Result<Response<ResponseBody>, GatewayError> {
    let GatewayResponse { payload, meta } = response;
    let mut http = match payload {
        Payload::Chat(chat) => json_response(encode(&chat)?),
        Payload::Completion(completion) => json_response(encode(&completion)?),
        Payload::Embeddings(embeddings) => json_response(encode(&embeddings)?),
        Payload::ChatStream(chunks) => {
            sse_response(SseBody::new(chunks, include_usage, openai_error_json).boxed_unsync())
        }
        Payload::CompletionStream(chunks) => {
            sse_response(SseBody::new(chunks, include_usage, openai_error_json).boxed_unsync())
        }
        Payload::Endpoints(_) => {
            return Err(GatewayError::internal(
                "a model call was answered with an endpoint listing",
            ));
        }
    };
    headers::apply_meta(http.headers_mut(), &meta);
    Ok(http)
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<ResponseBody, GatewayError> {
    serde_json::to_vec(value)
        .map(full)
        .map_err(|error| GatewayError::internal(format!("could not encode the answer: {error}")))
}

pub(super) fn json_response(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn sse_response(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}
