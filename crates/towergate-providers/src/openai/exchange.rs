//! One call upstream: send the encoded request, read the answer.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, header::ACCEPT};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::time::{Instant, timeout_at};
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

/// Most bytes of an error body read to find the upstream's message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub(super) async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    encoded: Encoded,
) -> Result<GatewayResponse, GatewayError> {
    let request = build_request(&config, &encoded)?;
    let started = Instant::now();
    let deadline = started + config.request_timeout;
    let host = &config.host;

    let response = match timeout_at(deadline, client.request(request)).await {
        Err(_) => return Err(error::timed_out(host, config.request_timeout)),
        Ok(Err(failure)) => {
            tracing::debug!(upstream = %host, error = %failure, "upstream call failed");
            return Err(error::unreachable(host, &failure));
        }
        Ok(Ok(response)) => response,
    };
    let upstream_latency = started.elapsed();
    let (parts, body) = response.into_parts();

    if !parts.status.is_success() {
        let limited = Limited::new(body, ERROR_BODY_LIMIT);
        let bytes = match timeout_at(deadline, limited.collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            // Too large, broken or slow: the status alone still says what happened.
            _ => Bytes::new(),
        };
        let failure = error::from_status(host, parts.status, &parts.headers, &bytes);
        tracing::debug!(upstream = %host, status = %parts.status, "upstream answered with an error");
        return Err(failure);
    }

    let mut response = if encoded.stream {
        stream_response(&config, encoded.kind, body)
    } else {
        let bytes = match timeout_at(deadline, body.collect()).await {
            Err(_) => return Err(error::timed_out(host, config.request_timeout)),
            Ok(Err(failure)) => return Err(error::broken_body(host, &failure)),
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        decode(encoded.kind, parts.status, &bytes, host)?
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
