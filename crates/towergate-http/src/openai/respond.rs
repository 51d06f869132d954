//! A [`GatewayResponse`] as OpenAI's HTTP answer.

use http::Response;
use http_body_util::BodyExt;
use towergate_core::{GatewayError, GatewayResponse, Payload};

use crate::{
    body::ResponseBody,
    error::openai_error_json,
    headers,
    reply::{encode, json_response, sse_response},
    sse::SseBody,
};

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
