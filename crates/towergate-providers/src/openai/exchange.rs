//! One call upstream: send the encoded request, read the answer.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, header::ACCEPT};
use http_body_util::Full;
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
use crate::{HttpClient, error, upstream};

pub(super) async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    encoded: Encoded,
) -> Result<GatewayResponse, GatewayError> {
    let request = build_request(&config, &encoded)?;
    let host = &config.host;
    let sent = upstream::send(
        &client,
        request,
        host,
        config.request_timeout,
        error::from_status,
    )
    .await?;
    let upstream_latency = sent.latency;

    let mut response = if encoded.stream {
        stream_response(&config, encoded.kind, sent.body)
    } else {
        let status = sent.status;
        let bytes = sent.bytes(host).await?;
        decode(encoded.kind, status, &bytes, host)?
    };
    response.meta.provider = Some(config.provider.to_owned());
    response.meta.upstream_latency = Some(upstream_latency);
    response.meta.attempts = 1;
    Ok(response)
}

fn build_request(
    config: &Config,
    encoded: &Encoded,
) -> Result<http::Request<Full<Bytes>>, GatewayError> {
    let uri = match encoded.kind {
        Kind::Chat => &config.chat,
        Kind::Completion => &config.completions,
        Kind::Embeddings => &config.embeddings,
    };
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri(uri.clone())
        .body(Full::new(encoded.body.clone()))
        .map_err(|failure| {
            GatewayError::internal(format!("cannot build the upstream request: {failure}"))
        })?;
    let headers = request.headers_mut();
    headers.clone_from(&config.headers);
    let accept = if encoded.stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    Ok(request)
}

/// The answer as a stream, handed back as soon as the headers are in.
fn stream_response(config: &Config, kind: Kind, body: Incoming) -> GatewayResponse {
    let idle = config.stream_idle_timeout;
    let host = Arc::clone(&config.host);
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
            model: Some(config.model.clone()),
            ..ResponseMeta::default()
        },
    }
}
