//! One call upstream: send the encoded request, read the answer.

use std::sync::Arc;

use hyper::body::Incoming;
use towergate_core::{
    GatewayError, GatewayResponse, Payload, ResponseMeta, chat::ChatChunk,
    completion::CompletionChunk,
};

use super::{
    config::Config,
    decode::decode,
    encode::{Encoded, Kind},
    stream::SseChunks,
};
use crate::{HttpClient, error};

pub(super) async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    encoded: Encoded,
) -> Result<GatewayResponse, GatewayError> {
    let up = &config.upstream;
    let uri = match encoded.kind {
        Kind::Chat => &config.chat,
        Kind::Completion => &config.completions,
        Kind::Embeddings => &config.embeddings,
    };
    let sent = up
        .post(
            &client,
            uri,
            encoded.body,
            encoded.stream,
            error::from_status,
        )
        .await?;
    let upstream_latency = sent.latency;

    let response = if encoded.stream {
        stream_response(&config, encoded.kind, sent.body)
    } else {
        let status = sent.status;
        let bytes = sent.bytes(&up.host).await?;
        decode(encoded.kind, status, &bytes, &up.host)?
    };
    Ok(up.stamp(response, upstream_latency))
}

/// The answer as a stream, handed back as soon as the headers are in.
fn stream_response(config: &Config, kind: Kind, body: Incoming) -> GatewayResponse {
    let up = &config.upstream;
    let idle = up.stream_idle_timeout;
    let host = Arc::clone(&up.host);
    let what = kind.answer_name(true);
    let payload = match kind {
        Kind::Completion => Payload::CompletionStream(Box::pin(
            SseChunks::<CompletionChunk, _>::new(body, idle, host, what),
        )),
        // Embeddings never stream; `encode` only marks chat and completions.
        Kind::Chat | Kind::Embeddings => Payload::ChatStream(Box::pin(
            SseChunks::<ChatChunk, _>::new(body, idle, host, what),
        )),
    };
    GatewayResponse {
        payload,
        meta: ResponseMeta {
            // The answering model is only known from the chunks; until a
            // later layer reads them, name the model that was asked for.
            model: Some(up.model.clone()),
            ..ResponseMeta::default()
        },
    }
}
