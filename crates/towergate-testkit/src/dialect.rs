//! Provider wires besides OpenAI's: each answers its own paths, in its own
//! request, answer, stream and error shapes, with the same behaviors,
//! faults and request recording as the OpenAI wire.
//!
//! A wire implements [`Dialect`] in its own `wire_<provider>.rs` file and is
//! listed in [`find`]; the server asks [`find`] before its OpenAI routing.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header, request::Parts};
use serde_json::Value;

use crate::{
    answer::{AnswerSettings, StreamPlan, count_words, split_reply},
    behavior::{Behavior, Fault},
    connection::ConnectionControl,
    server::{Shared, stream_response},
    wire::{self, Body},
};

/// Every wire the server speaks besides OpenAI's, asked in order.
const DIALECTS: &[&dyn Dialect] = &[
    &crate::wire_anthropic::Anthropic,
    &crate::wire_mistral::Mistral,
    &crate::wire_cohere::Cohere,
    &crate::wire_gemini::Gemini,
    &crate::wire_tgi::Tgi,
    &crate::wire_mlflow_serving::MlflowServing,
    &crate::wire_bedrock::Bedrock,
];

/// The wire that answers `method` on `path`, if one does.
pub(crate) fn find(method: &Method, path: &str) -> Option<&'static dyn Dialect> {
    DIALECTS
        .iter()
        .copied()
        .find(|dialect| dialect.answers(method, path))
}

/// A wire's answer before faults shape it.
pub(crate) enum WireAnswer {
    /// A complete JSON answer.
    Json(Bytes),
    /// Server-sent events, each already in the wire's event format.
    Stream(StreamPlan<Bytes>),
}

/// A request the wire refuses, answered in its error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// A whole error body, when the provider's usual shape does not fit.
    pub(crate) body: Option<Bytes>,
}

impl Refusal {
    /// A 400 with `message`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A refusal with `status` and `message`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            body: None,
        }
    }

    /// A refusal answered with exactly `body` (JSON) at `status`.
    pub(crate) fn with_body(status: StatusCode, body: &Value) -> Self {
        Self {
            status,
            message: String::new(),
            body: Some(wire::to_json(body)),
        }
    }
}

/// One provider's wire.
pub(crate) trait Dialect: Sync {
    /// Whether this wire answers `method` on `path`.
    fn answers(&self, method: &Method, path: &str) -> bool;

    /// The key a request presents, in the header this provider reads it from.
    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str>;

    /// An answer with the provider's error body for `status`.
    fn error(&self, status: StatusCode, message: &str) -> Response<Body>;

    /// Whether the provider takes extra body fields, so that a `"mock"`
    /// field may carry per-request settings; otherwise only the
    /// `x-mock-fault` header does.
    fn body_controls(&self) -> bool {
        false
    }

    /// The part of the body whose `"mock"` field carries per-request
    /// settings: the body itself when [`body_controls`](Self::body_controls)
    /// holds, nothing otherwise. A wire whose extra fields go in a nested
    /// object (TGI's `parameters`) points there.
    fn controls<'b>(&self, body: &'b Value) -> &'b Value {
        if self.body_controls() {
            body
        } else {
            &Value::Null
        }
    }

    /// The event sent after the last chunk, if the provider sends one (`data: [DONE]`).
    fn done_event(&self) -> Option<&'static [u8]> {
        None
    }

    /// An event whose data is not JSON, in the provider's event format.
    fn malformed_event(&self) -> &'static [u8] {
        wire::MALFORMED_EVENT
    }

    /// The content type of a streamed answer, when it is not server-sent
    /// events (Bedrock's `application/vnd.amazon.eventstream`).
    fn stream_content_type(&self) -> Option<&'static str> {
        None
    }

    /// The answer to a call whose key and behaviors were checked.
    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        id: u64,
    ) -> Result<WireAnswer, Refusal>;
}

/// Answers one request in `dialect`: key check, behaviors, faults, answer.
pub(crate) async fn respond(
    dialect: &dyn Dialect,
    shared: &Shared,
    control: &ConnectionControl,
    parts: &Parts,
    body: &Value,
) -> Response<Body> {
    if let Some(key) = shared.required_key() {
        let presented = dialect.presented_key(&parts.headers);
        if presented != Some(key.as_str()) {
            let message = match presented {
                None => "missing API key",
                Some(_) => "invalid API key",
            };
            return dialect.error(StatusCode::UNAUTHORIZED, message);
        }
    }
    let behavior = match shared.behavior_for(&parts.headers, dialect.controls(body)) {
        Ok(behavior) => behavior,
        Err(message) => return dialect.error(StatusCode::BAD_REQUEST, &message),
    };
    if !behavior.latency.is_zero() {
        tokio::time::sleep(behavior.latency).await;
    }
    match behavior.fault {
        Some(Fault::Status(status)) => {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(|status| status.as_u16() >= 400)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = format!("mock upstream fault: status {}", status.as_u16());
            return dialect.error(status, &message);
        }
        Some(Fault::Reset) => {
            control.request_reset();
            shared.never_answer().await;
            return dialect.error(StatusCode::INTERNAL_SERVER_ERROR, "reset");
        }
        Some(Fault::Stall) => {
            shared.never_answer().await;
            return dialect.error(StatusCode::INTERNAL_SERVER_ERROR, "stalled");
        }
        _ => {}
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let settings = AnswerSettings {
        reply: behavior.reply.as_deref(),
        chunks: behavior.chunks,
    };
    match dialect.answer(parts, body, settings, id) {
        Ok(answer) => {
            let mut response = shape(dialect, answer, &behavior, shared);
            let headers = response.headers_mut();
            let streamed = headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|kind| kind == "text/event-stream");
            if let Some(kind) = dialect.stream_content_type().filter(|_| streamed) {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            }
            response
        }
        Err(Refusal {
            status,
            body: Some(body),
            ..
        }) => wire::json_response(status, body),
        Err(refusal) => dialect.error(refusal.status, &refusal.message),
    }
}

/// Applies a truncation or malformation fault to an answer.
fn shape(
    dialect: &dyn Dialect,
    answer: WireAnswer,
    behavior: &Behavior,
    shared: &Shared,
) -> Response<Body> {
    let interval = behavior.chunk_interval;
    let counters = &shared.streams;
    match (answer, &behavior.fault) {
        (WireAnswer::Json(body), Some(Fault::TruncatedStream { .. })) => {
            wire::json_response(StatusCode::OK, body.slice(..body.len() / 2))
        }
        (WireAnswer::Json(_), Some(Fault::MalformedJson)) => {
            wire::json_response(StatusCode::OK, Bytes::from_static(wire::MALFORMED_BODY))
        }
        (WireAnswer::Json(body), _) => wire::json_response(StatusCode::OK, body),
        (WireAnswer::Stream(plan), Some(Fault::TruncatedStream { after_chunks })) => {
            let mut events = plan.head;
            events.extend(plan.body.into_iter().take(*after_chunks));
            let mut response = stream_response(events, interval, false, counters);
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        (WireAnswer::Stream(plan), Some(Fault::MalformedJson)) => {
            let mut events = plan.head;
            events.push(Bytes::from_static(dialect.malformed_event()));
            events.extend(dialect.done_event().map(Bytes::from_static));
            stream_response(events, interval, true, counters)
        }
        (WireAnswer::Stream(plan), _) => {
            let mut events = plan.into_chunks();
            events.extend(dialect.done_event().map(Bytes::from_static));
            stream_response(events, interval, true, counters)
        }
    }
}

/// `event: NAME` and `data: JSON` as one server-sent event.
pub(crate) fn named_event(name: &str, data: &Value) -> Bytes {
    let json = wire::to_json(data);
    let mut event = Vec::with_capacity(json.len() + name.len() + 16);
    event.extend_from_slice(b"event: ");
    event.extend_from_slice(name.as_bytes());
    event.extend_from_slice(b"\ndata: ");
    event.extend_from_slice(&json);
    event.extend_from_slice(b"\n\n");
    Bytes::from(event)
}

/// The value of header `name` as text.
pub(crate) fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The key of an `Authorization: Bearer KEY` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    header_text(headers, header::AUTHORIZATION.as_str())?.strip_prefix("Bearer ")
}

/// The body's fields, or a refusal saying the body must be a JSON object.
pub(crate) fn object(body: &Value) -> Result<&serde_json::Map<String, Value>, Refusal> {
    body.as_object()
        .ok_or_else(|| Refusal::bad_request("the request body must be a JSON object"))
}

/// The first top-level field not in `allowed`, if any.
pub(crate) fn unknown_field<'b>(
    fields: &'b serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Option<&'b str> {
    fields
        .keys()
        .map(String::as_str)
        .find(|key| !allowed.contains(key))
}

/// The text of a content value: a string, or the `text` of its text blocks.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|block| block.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// How a mock reply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The whole reply was sent.
    Complete,
    /// Cut at the request's token limit.
    MaxTokens,
    /// Cut before this stop sequence.
    Stop(String),
}

/// `reply` cut before the first of `stops` it contains, then to at most
/// `max_tokens` words.
pub(crate) fn limit_reply(
    reply: String,
    max_tokens: Option<u64>,
    stops: &[String],
) -> (String, Ending) {
    let first_stop = stops
        .iter()
        .filter(|stop| !stop.is_empty())
        .filter_map(|stop| reply.find(stop.as_str()).map(|at| (at, stop)))
        .min_by_key(|(at, _)| *at);
    let (mut reply, mut ending) = match first_stop {
        Some((at, stop)) => (reply[..at].to_owned(), Ending::Stop(stop.clone())),
        None => (reply, Ending::Complete),
    };
    if let Some(max) = max_tokens
        && count_words(&reply) > max
    {
        let keep = usize::try_from(max).unwrap_or(usize::MAX);
        reply = split_reply(&reply, None).into_iter().take(keep).collect();
        ending = Ending::MaxTokens;
    }
    (reply, ending)
}

/// The reply text: the fixed one, or `"echo: "` and `prompt`.
pub(crate) fn reply_text(settings: AnswerSettings<'_>, prompt: &str) -> String {
    settings
        .reply
        .map_or_else(|| format!("echo: {prompt}"), str::to_owned)
}
