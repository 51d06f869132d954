//! A [`GatewayResponse`] as MLflow's HTTP answer.
//!
//! Answers are OpenAI's JSON, which is what MLflow returns, with MLflow's
//! two differences: chat answers and chunks name the `provider` that
//! answered, and a streamed text completion's chunks are
//! `{"id", "object": "text_completion_chunk", "created", "model",
//! "choices": [{"index", "finish_reason", "text"}], "usage"}`.

use futures_util::StreamExt;
use http::Response;
use http_body_util::BodyExt;
use serde::{Serialize, Serializer};
use serde_json::Value;
use towergate_core::{
    ChunkStream, Extra, GatewayError, GatewayResponse, Payload, Usage, completion::CompletionChunk,
};

use crate::{
    body::ResponseBody,
    error::mlflow_error_json,
    headers,
    reply::{encode, json_response, sse_response},
    sse::{SseBody, StreamChunk},
};

pub(super) fn answer(
    response: GatewayResponse,
    include_usage: bool,
) -> Result<Response<ResponseBody>, GatewayError> {
    let GatewayResponse { payload, meta } = response;
    let provider = meta.provider.clone();
    let mut http = match payload {
        Payload::Chat(mut chat) => {
            name_provider(&mut chat.extra, provider.as_deref());
            json_response(encode(&chat)?)
        }
        Payload::Completion(completion) => json_response(encode(&completion)?),
        Payload::Embeddings(embeddings) => json_response(encode(&embeddings)?),
        Payload::ChatStream(chunks) => {
            let chunks = Box::pin(chunks.map(move |chunk| {
                chunk.map(|mut chunk| {
                    name_provider(&mut chunk.extra, provider.as_deref());
                    chunk
                })
            }));
            sse_response(SseBody::new(chunks, include_usage, mlflow_error_json).boxed_unsync())
        }
        Payload::CompletionStream(chunks) => {
            let chunks: ChunkStream<MlflowCompletionChunk> =
                Box::pin(chunks.map(|chunk| chunk.map(MlflowCompletionChunk)));
            sse_response(SseBody::new(chunks, include_usage, mlflow_error_json).boxed_unsync())
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

/// Adds MLflow's `provider` field, unless the answer already has one.
fn name_provider(extra: &mut Extra, provider: Option<&str>) {
    if let Some(provider) = provider {
        extra
            .entry("provider")
            .or_insert_with(|| Value::from(provider));
    }
}

/// A streamed text completion chunk, written in MLflow's shape.
struct MlflowCompletionChunk(CompletionChunk);

#[derive(Serialize)]
struct Chunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<Choice<'a>>,
    usage: Option<&'a Usage>,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    finish_reason: Option<&'a str>,
    text: &'a str,
}

impl Serialize for MlflowCompletionChunk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let chunk = &self.0;
        Chunk {
            id: &chunk.id,
            object: "text_completion_chunk",
            created: chunk.created,
            model: &chunk.model,
            choices: chunk
                .choices
                .iter()
                .map(|choice| Choice {
                    index: choice.index,
                    finish_reason: choice.finish_reason.as_deref(),
                    text: &choice.text,
                })
                .collect(),
            usage: chunk.usage.as_ref(),
        }
        .serialize(serializer)
    }
}

impl StreamChunk for MlflowCompletionChunk {
    fn strip_usage(&mut self) -> bool {
        self.0.strip_usage()
    }
}
