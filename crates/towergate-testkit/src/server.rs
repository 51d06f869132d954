//! A mock LLM upstream on a loopback port, speaking OpenAI's wire.
//!
//! ```
//! use towergate_testkit::{Behavior, Fault, MockUpstream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let upstream = MockUpstream::start().await;
//! assert!(upstream.base_url().starts_with("http://127.0.0.1:"));
//! assert!(upstream.base_url().ends_with("/v1"));
//! // Later requests fail with 503 and OpenAI's error body.
//! upstream.set_behavior(Behavior::new().fault(Fault::Status(503)));
//! upstream.shutdown().await;
//! # }
//! ```

use std::{
    convert::Infallible,
    io,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::{body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};
use towergate_core::{
    GatewayError, chat::ChatRequest, completion::CompletionRequest, embeddings::EmbeddingsRequest,
};

use crate::{
    answer::{self, AnswerSettings, StreamPlan},
    behavior::{Behavior, Fault, Overrides},
    connection::{ConnectionControl, ConnectionIo},
    sse::{EventStream, StreamCounters},
    wire::{self, Body},
};

/// A running mock upstream; it shuts down when dropped.
///
/// It answers `POST` on any path ending in `/chat/completions`,
/// `/completions` or `/embeddings` (so both `/v1/chat/completions` and
/// Azure's `/openai/deployments/{name}/chat/completions` work) and
/// `GET /v1/models`, as OpenAI does, with deterministic answers: the reply
/// echoes the last user message and token counts are word counts. Other
/// providers' wires are answered on their own paths (see the crate docs).
#[derive(Debug)]
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    accept_loop: Option<JoinHandle<()>>,
}

/// One request the mock upstream received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Its method.
    pub method: Method,
    /// Its path, without the query.
    pub path: String,
    /// Its query string, if any.
    pub query: Option<String>,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body as JSON; `Null` if it was not JSON.
    pub body: Value,
}

/// State shared by the server's handle and its connections.
#[derive(Debug)]
pub(crate) struct Shared {
    behavior: Mutex<Behavior>,
    key: Mutex<Option<String>>,
    requests: Mutex<Vec<RecordedRequest>>,
    record: AtomicBool,
    pub(crate) next_id: AtomicU64,
    connections: AtomicUsize,
    pub(crate) streams: Arc<StreamCounters>,
    stop: watch::Receiver<bool>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MockUpstream {
    /// Starts a server on `127.0.0.1:0` with the default [`Behavior`].
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start() -> MockUpstream {
        Self::start_with(Behavior::default()).await
    }

    /// Starts a server on `127.0.0.1:0` with `behavior`.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound.
    pub async fn start_with(behavior: Behavior) -> MockUpstream {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        match Self::bind(any_port, behavior).await {
            Ok(upstream) => upstream,
            Err(error) => panic!("the mock upstream could not bind 127.0.0.1:0: {error}"),
        }
    }

    /// Starts a server on `addr` (port 0 picks a free one) with `behavior`.
    ///
    /// # Errors
    ///
    /// If `addr` cannot be bound.
    pub async fn bind(addr: SocketAddr, behavior: Behavior) -> io::Result<MockUpstream> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            behavior: Mutex::new(behavior),
            key: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            record: AtomicBool::new(true),
            next_id: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
            streams: Arc::default(),
            stop: stopped,
        });
        let accept_loop = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(MockUpstream {
            addr,
            shared,
            stop,
            accept_loop: Some(accept_loop),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1`, what `openai_api_base` points at.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// `http://127.0.0.1:PORT/mistral/v1`, what `mistral_api_base` points at:
    /// Mistral's paths are OpenAI's, so the mock serves its wire under a prefix.
    pub fn mistral_base_url(&self) -> String {
        format!("{}{}/v1", self.url(), crate::wire_mistral::PREFIX)
    }

    /// `http://127.0.0.1:PORT/v1beta`, what `gemini_api_base` points at.
    pub fn gemini_base_url(&self) -> String {
        format!("{}/v1beta", self.url())
    }

    /// Changes how later requests are answered.
    pub fn set_behavior(&self, behavior: Behavior) {
        *lock(&self.shared.behavior) = behavior;
    }

    /// When `Some`, requests without `Authorization: Bearer KEY` or
    /// `api-key: KEY` get OpenAI's 401 answer.
    pub fn require_key(&self, key: Option<&str>) {
        *lock(&self.shared.key) = key.map(str::to_owned);
    }

    /// Whether later requests are kept for [`requests`](Self::requests) and
    /// [`request_count`](Self::request_count) (the default); a long-running
    /// server under load turns this off so its memory stays flat.
    pub fn record_requests(&self, record: bool) {
        self.shared.record.store(record, Ordering::Relaxed);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// TCP connections accepted so far (a pooling client reuses them).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Streams whose client went away before the stream ended.
    pub fn cancelled_streams(&self) -> usize {
        self.shared.streams.cancelled()
    }

    /// Streams sent to the end, `data: [DONE]` included.
    pub fn completed_streams(&self) -> usize {
        self.shared.streams.completed()
    }

    /// Stops accepting, closes every connection and waits for the accept loop.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(accept_loop) = self.accept_loop.take() {
            // The loop ends on the stop signal; a panic in it is of no interest here.
            let _ = accept_loop.await;
        }
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut stop = shared.stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                shared.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
            }
            Err(error) => {
                tracing::debug!(%error, "mock upstream accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    // Streamed chunks leave at once rather than waiting to be coalesced.
    let _ = stream.set_nodelay(true);
    let control = Arc::new(ConnectionControl::default());
    let io = TokioIo::new(ConnectionIo::new(stream, Arc::clone(&control)));
    let mut stop = shared.stop.clone();
    let service = {
        let control = Arc::clone(&control);
        service_fn(move |request| handle(Arc::clone(&shared), Arc::clone(&control), request))
    };
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(io, service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "mock upstream connection ended with an error");
            }
        }
        () = control.reset_requested() => {}
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
}

async fn handle(
    shared: Arc<Shared>,
    control: Arc<ConnectionControl>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = request.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if shared.record.load(Ordering::Relaxed) {
        lock(&shared.requests).push(RecordedRequest {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers.clone(),
            body: json.clone(),
        });
    }
    if let Some(refusal) = crate::wire_bedrock::refuse_unsigned(&parts, &bytes) {
        return Ok(refusal);
    }
    Ok(respond(&shared, &control, &parts, &json).await)
}

/// What the mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Chat,
    Completion,
    Embeddings,
    Models,
}

impl Route {
    fn of(method: &Method, path: &str) -> Option<Route> {
        let path = path.trim_end_matches('/');
        let route = if path.ends_with("/chat/completions") {
            Route::Chat
        } else if path.ends_with("/completions") {
            Route::Completion
        } else if path.ends_with("/embeddings") {
            Route::Embeddings
        } else if path.ends_with("/models") {
            Route::Models
        } else {
            return None;
        };
        let expected = match route {
            Route::Models => Method::GET,
            _ => Method::POST,
        };
        (*method == expected).then_some(route)
    }
}

async fn respond(
    shared: &Shared,
    control: &ConnectionControl,
    parts: &http::request::Parts,
    body: &Value,
) -> Response<Body> {
    if let Some(dialect) = crate::dialect::find(&parts.method, parts.uri.path()) {
        return crate::dialect::respond(dialect, shared, control, parts, body).await;
    }
    if let Some(refusal) = shared.refuse_key(&parts.headers) {
        return refusal;
    }
    let Some(route) = Route::of(&parts.method, parts.uri.path()) else {
        let message = format!("Invalid URL ({} {})", parts.method, parts.uri.path());
        return wire::error_response(
            StatusCode::NOT_FOUND,
            &message,
            "invalid_request_error",
            None,
            None,
        );
    };
    let behavior = match shared.behavior_for(&parts.headers, body) {
        Ok(behavior) => behavior,
        Err(message) => {
            return wire::error_response(
                StatusCode::BAD_REQUEST,
                &message,
                "invalid_request_error",
                Some("mock"),
                None,
            );
        }
    };
    if !behavior.latency.is_zero() {
        tokio::time::sleep(behavior.latency).await;
    }
    match behavior.fault {
        Some(Fault::Status(status)) => return wire::status_fault(status),
        Some(Fault::Reset) => {
            control.request_reset();
            shared.never_answer().await;
            return wire::status_fault(500);
        }
        Some(Fault::Stall) => {
            shared.never_answer().await;
            return wire::status_fault(500);
        }
        _ => {}
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    match answer(route, body, &behavior, id) {
        Ok(answer) => shape(answer, &behavior, &shared.streams),
        Err(error) => wire::gateway_error(&error),
    }
}

impl Shared {
    /// The key requests must present, if one is required.
    pub(crate) fn required_key(&self) -> Option<String> {
        lock(&self.key).clone()
    }

    /// OpenAI's 401 answer when a key is required and the request lacks it.
    fn refuse_key(&self, headers: &HeaderMap) -> Option<Response<Body>> {
        let key = lock(&self.key).clone()?;
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let bearer = text(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer "));
        let api_key = text("api-key");
        if bearer == Some(key.as_str()) || api_key == Some(key.as_str()) {
            return None;
        }
        let (message, code) = if bearer.is_none() && api_key.is_none() {
            (
                "You didn't provide an API key. You need to provide your API key in an \
                 Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                None,
            )
        } else {
            (
                "Incorrect API key provided. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
                Some("invalid_api_key"),
            )
        };
        Some(wire::error_response(
            StatusCode::UNAUTHORIZED,
            message,
            "invalid_request_error",
            None,
            code,
        ))
    }

    /// The server's behavior with the request's header and body settings over it.
    pub(crate) fn behavior_for(
        &self,
        headers: &HeaderMap,
        body: &Value,
    ) -> Result<Behavior, String> {
        let mut overrides = Overrides::default();
        if let Some(value) = headers.get("x-mock-fault") {
            let text = value
                .to_str()
                .map_err(|_| "the x-mock-fault header must be text".to_owned())?;
            overrides = Overrides::from_header(text)?;
        }
        if let Some(mock) = body.get("mock") {
            overrides = overrides.then(Overrides::from_json(mock)?);
        }
        Ok(lock(&self.behavior).clone().overridden_by(overrides))
    }

    /// Waits until the server shuts down.
    pub(crate) async fn never_answer(&self) {
        let mut stop = self.stop.clone();
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

/// An answer before faults shape it.
enum Answer {
    Json(Bytes),
    Stream(StreamPlan<Bytes>),
}

fn answer(
    route: Route,
    body: &Value,
    behavior: &Behavior,
    id: u64,
) -> Result<Answer, GatewayError> {
    let settings = AnswerSettings {
        reply: behavior.reply.as_deref(),
        chunks: behavior.chunks,
    };
    Ok(match route {
        Route::Models => Answer::Json(wire::models_body()),
        Route::Chat => {
            let request: ChatRequest = decode(body, "messages")?;
            if request.is_stream() {
                sse(answer::chat_stream(&request, settings, id)?)
            } else {
                Answer::Json(wire::to_json(&answer::chat_response(
                    &request, settings, id,
                )?))
            }
        }
        Route::Completion => {
            let request: CompletionRequest = decode(body, "prompt")?;
            if request.is_stream() {
                sse(answer::completion_stream(&request, settings, id)?)
            } else {
                Answer::Json(wire::to_json(&answer::completion_response(
                    &request, settings, id,
                )?))
            }
        }
        Route::Embeddings => {
            let request: EmbeddingsRequest = decode(body, "input")?;
            let response = answer::embeddings_response(&request)?;
            let value = serde_json::to_value(&response)
                .map_err(|error| GatewayError::internal(error.to_string()))?;
            Answer::Json(wire::to_json(&wire::strip_completion_tokens(value)))
        }
    })
}

/// A streamed answer as server-sent events.
fn sse<T: Serialize>(plan: StreamPlan<T>) -> Answer {
    Answer::Stream(plan.map(|chunk| wire::sse_event(&chunk)))
}

/// Reads a typed request from a JSON body, naming what is wrong with it.
fn decode<T: DeserializeOwned>(body: &Value, required: &str) -> Result<T, GatewayError> {
    let Value::Object(fields) = body else {
        return Err(GatewayError::invalid(
            "We could not parse the JSON body of your request. \
             The OpenAI API expects a JSON object.",
        ));
    };
    if !fields.contains_key(required) {
        return Err(
            GatewayError::invalid(format!("Missing required parameter: '{required}'."))
                .with_param(required)
                .with_code("missing_required_parameter"),
        );
    }
    serde_path_to_error::deserialize(body).map_err(|error| {
        let path = error.path().to_string();
        GatewayError::invalid(format!("Invalid value for '{path}': {}", error.inner()))
            .with_param(path)
    })
}

/// Applies a truncation or malformation fault to an answer.
fn shape(answer: Answer, behavior: &Behavior, counters: &Arc<StreamCounters>) -> Response<Body> {
    let interval = behavior.chunk_interval;
    match (answer, &behavior.fault) {
        (Answer::Json(body), Some(Fault::TruncatedStream { .. })) => {
            wire::json_response(StatusCode::OK, body.slice(..body.len() / 2))
        }
        (Answer::Json(_), Some(Fault::MalformedJson)) => {
            wire::json_response(StatusCode::OK, Bytes::from_static(wire::MALFORMED_BODY))
        }
        (Answer::Json(body), _) => wire::json_response(StatusCode::OK, body),
        (Answer::Stream(plan), Some(Fault::TruncatedStream { after_chunks })) => {
            let mut events = plan.head;
            events.extend(plan.body.into_iter().take(*after_chunks));
            let mut response = stream_response(events, interval, false, counters);
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        (Answer::Stream(plan), Some(Fault::MalformedJson)) => {
            let mut events = plan.head;
            events.push(Bytes::from_static(wire::MALFORMED_EVENT));
            events.push(Bytes::from_static(wire::DONE_EVENT));
            stream_response(events, interval, true, counters)
        }
        (Answer::Stream(plan), _) => {
            let mut events = plan.into_chunks();
            events.push(Bytes::from_static(wire::DONE_EVENT));
            stream_response(events, interval, true, counters)
        }
    }
}

pub(crate) fn stream_response(
    events: Vec<Bytes>,
    interval: std::time::Duration,
    complete: bool,
    counters: &Arc<StreamCounters>,
) -> Response<Body> {
    let stream = EventStream::new(events, interval, complete, Arc::clone(counters));
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_path_suffix() {
        let post = Method::POST;
        assert_eq!(Route::of(&post, "/v1/chat/completions"), Some(Route::Chat));
        assert_eq!(
            Route::of(&post, "/openai/deployments/gpt/chat/completions"),
            Some(Route::Chat)
        );
        assert_eq!(Route::of(&post, "/v1/completions"), Some(Route::Completion));
        assert_eq!(Route::of(&post, "/v1/embeddings/"), Some(Route::Embeddings));
        assert_eq!(Route::of(&Method::GET, "/v1/models"), Some(Route::Models));
        assert_eq!(Route::of(&Method::GET, "/v1/chat/completions"), None);
        assert_eq!(Route::of(&post, "/v1/images/generations"), None);
    }
}
