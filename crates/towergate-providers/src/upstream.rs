//! What every adapter does the same way around one upstream call: hold a
//! key without showing it, send with a deadline, turn failures into
//! [`GatewayError`] kinds, and read the answer's body.
//!
//! An adapter builds its `http::Request`, calls [`send`] with the function
//! that reads its provider's error bodies, and gets back the answer's
//! headers and body; [`Sent::bytes`] then reads a complete answer within the
//! same deadline, or the body is handed to [`crate::sse`] for a stream.

use std::{fmt, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::time::{Instant, timeout_at};
use towergate_core::{GatewayError, GatewayResponse};

use crate::{HttpClient, ProviderConfigError, client::RequestBody, error};

/// Most bytes of an error body read to find the upstream's message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads an upstream's error answer (host, status, headers, body) into a
/// [`GatewayError`] that keeps the status and the provider's message.
pub(crate) type ErrorReader = fn(&str, StatusCode, &HeaderMap, &[u8]) -> GatewayError;

/// A secret (an API key, a token) that never shows in `Debug` output.
#[derive(Clone)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret as a header value marked sensitive, `prefix` before it
    /// (`"Bearer "`, or nothing); `key` names the setting in the error.
    pub(crate) fn header(
        &self,
        prefix: &str,
        key: &str,
    ) -> Result<HeaderValue, ProviderConfigError> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.0)).map_err(|_| {
            ProviderConfigError::for_key(
                key,
                "the key contains characters not allowed in an HTTP header (a line break?)",
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `host:port` of `uri` for error messages: never user info, never a query.
pub(crate) fn describe_host(uri: &Uri) -> Arc<str> {
    let host = uri.host().unwrap_or("upstream");
    match uri.port_u16() {
        Some(port) => format!("{host}:{port}").into(),
        None => host.into(),
    }
}

/// Where one adapter's calls go and how long they may take: what every
/// call of an adapter shares, built once by [`Settings::into_upstream`](crate::settings::Settings::into_upstream).
#[derive(Debug)]
pub(crate) struct Upstream {
    /// The provider's name, as MLflow spells it.
    pub(crate) provider: &'static str,
    /// The model sent upstream, or named in answers.
    pub(crate) model: String,
    /// `host:port`, for error messages (never the key, never user info).
    pub(crate) host: Arc<str>,
    /// Content type, user agent and auth (auth values are marked sensitive).
    pub(crate) headers: HeaderMap,
    pub(crate) request_timeout: Duration,
    pub(crate) stream_idle_timeout: Duration,
}

impl Upstream {
    /// POSTs the JSON `body` to `uri` with the headers (and `Accept` for a
    /// stream or a JSON answer), then as [`send`].
    pub(crate) async fn post(
        &self,
        client: &HttpClient,
        uri: &Uri,
        body: Bytes,
        stream: bool,
        read_error: ErrorReader,
    ) -> Result<Sent, GatewayError> {
        let request = json_request(uri, &self.headers, body, stream)?;
        self.send(client, request, read_error).await
    }

    /// As [`send`], with this upstream's host and request timeout.
    pub(crate) async fn send(
        &self,
        client: &HttpClient,
        request: http::Request<RequestBody>,
        read_error: ErrorReader,
    ) -> Result<Sent, GatewayError> {
        send(
            client,
            request,
            &self.host,
            self.request_timeout,
            read_error,
        )
        .await
    }

    /// The server-sent events of `body` through `translate`, with this
    /// upstream's idle timeout.
    #[cfg(any(
        feature = "anthropic",
        feature = "cohere",
        feature = "gemini",
        feature = "mistral",
        feature = "tgi"
    ))]
    pub(crate) fn translated<X: crate::sse::Translate>(
        &self,
        body: Incoming,
        translate: X,
    ) -> crate::sse::Translated<Incoming, X> {
        crate::sse::Translated::new(
            body,
            self.stream_idle_timeout,
            Arc::clone(&self.host),
            translate,
        )
    }

    #[cfg(any(
        feature = "anthropic",
        feature = "bedrock",
        feature = "cohere",
        feature = "gemini",
        feature = "mistral",
    ))]
    /// A streamed chat answer, which names the model asked for until a
    /// later layer reads the chunks.
    pub(crate) fn chat_stream(
        &self,
        chunks: impl futures_core::Stream<Item = Result<towergate_core::chat::ChatChunk, GatewayError>>
        + Send
        + 'static,
    ) -> GatewayResponse {
        GatewayResponse {
            payload: towergate_core::Payload::ChatStream(Box::pin(chunks)),
            meta: towergate_core::ResponseMeta {
                model: Some(self.model.clone()),
                ..towergate_core::ResponseMeta::default()
            },
        }
    }

    /// `response` marked as this provider's, answered at the first attempt
    /// with its headers after `latency`.
    pub(crate) fn stamp(
        &self,
        mut response: GatewayResponse,
        latency: Duration,
    ) -> GatewayResponse {
        response.meta.provider = Some(self.provider.to_owned());
        response.meta.upstream_latency = Some(latency);
        response.meta.attempts = 1;
        response
    }
}

/// A successful answer whose headers have arrived.
pub(crate) struct Sent {
    /// Its status (a success).
    pub(crate) status: StatusCode,
    /// Its body, not read yet.
    pub(crate) body: Incoming,
    /// Time from sending until the headers arrived.
    pub(crate) latency: Duration,
    deadline: Instant,
    timeout: Duration,
}

impl Sent {
    /// Reads the whole body before the call's deadline.
    pub(crate) async fn bytes(self, host: &str) -> Result<Bytes, GatewayError> {
        match timeout_at(self.deadline, self.body.collect()).await {
            Err(_) => Err(error::timed_out(host, self.timeout)),
            Ok(Err(failure)) => Err(error::broken_body(host, &failure)),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
        }
    }
}

/// Sends `request` and waits, for up to `timeout`, for its answer's headers.
///
/// A connection failure is a bad gateway (502), no answer in time a timeout
/// (504), and an answer that is not a success goes through `read_error`
/// (which keeps its status and the provider's message).
pub(crate) async fn send(
    client: &HttpClient,
    request: http::Request<RequestBody>,
    host: &str,
    timeout: Duration,
    read_error: ErrorReader,
) -> Result<Sent, GatewayError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let response = match timeout_at(deadline, client.request(request)).await {
        Err(_) => return Err(error::timed_out(host, timeout)),
        Ok(Err(failure)) => {
            tracing::debug!(upstream = %host, error = %failure, "upstream call failed");
            return Err(error::unreachable(host, &failure));
        }
        Ok(Ok(response)) => response,
    };
    let latency = started.elapsed();
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let limited = Limited::new(body, ERROR_BODY_LIMIT);
        let bytes = match timeout_at(deadline, limited.collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            // Too large, broken or slow: the status alone still says what happened.
            _ => Bytes::new(),
        };
        tracing::debug!(upstream = %host, status = %parts.status, "upstream answered with an error");
        return Err(read_error(host, parts.status, &parts.headers, &bytes));
    }
    Ok(Sent {
        status: parts.status,
        body,
        latency,
        deadline,
        timeout,
    })
}

/// A `POST` of the JSON `body` to `uri` with `headers`, accepting
/// server-sent events when `stream` is set and JSON otherwise.
pub(crate) fn json_request(
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    stream: bool,
) -> Result<http::Request<RequestBody>, GatewayError> {
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(uri.clone())
        .body(http_body_util::Full::new(body))
        .map_err(|failure| {
            GatewayError::internal(format!("cannot build the upstream request: {failure}"))
        })?;
    let all = request.headers_mut();
    all.clone_from(headers);
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    all.insert(http::header::ACCEPT, HeaderValue::from_static(accept));
    Ok(request)
}

#[cfg(any(
    feature = "anthropic",
    feature = "bedrock",
    feature = "cohere",
    feature = "gemini",
    feature = "mistral",
    feature = "mlflow-serving",
    feature = "tgi",
))]
/// Parses a successful JSON body as `T`, or a bad gateway (502) naming the
/// host and `what` the body should have been ("a Gemini answer").
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    host: &str,
    status: StatusCode,
    what: &str,
) -> Result<T, GatewayError> {
    serde_json::from_slice(body).map_err(|error| {
        GatewayError::bad_gateway(format!(
            "upstream `{host}` answered {status} but its body is not {what}: {error}"
        ))
    })
}

#[cfg(any(
    feature = "bedrock",
    feature = "cohere",
    feature = "gemini",
    feature = "mlflow-serving",
))]
/// Little-endian f32s, base64-encoded, as OpenAI sends `encoding_format: base64`.
pub(crate) fn base64_floats(values: &[f32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(any(
    feature = "anthropic",
    feature = "bedrock",
    feature = "cohere",
    feature = "gemini",
    feature = "mlflow-serving",
    feature = "tgi",
))]
/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_and_its_header_is_sensitive() {
        let secret = Secret::new("sk-hidden");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        let value = secret.header("Bearer ", "api_key");
        assert!(value.as_ref().is_ok_and(HeaderValue::is_sensitive));
        let error = Secret::new("a\nb").header("", "gemini_api_key").err();
        assert_eq!(error.as_ref().and_then(|e| e.key()), Some("gemini_api_key"));
    }

    #[test]
    #[cfg(any(
        feature = "bedrock",
        feature = "cohere",
        feature = "gemini",
        feature = "mlflow-serving",
    ))]
    fn base64_vectors_are_little_endian_floats() {
        assert_eq!(base64_floats(&[1.0]), "AACAPw==");
    }

    #[test]
    fn host_description_keeps_host_and_port_only() {
        let uri: Uri = "http://user:pw@127.0.0.1:9000/v1?key=x"
            .parse()
            .unwrap_or_default();
        assert_eq!(&*describe_host(&uri), "127.0.0.1:9000");
    }
}
