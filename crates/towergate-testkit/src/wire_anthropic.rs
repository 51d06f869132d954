//! Anthropic's Messages API: `POST /v1/messages`, with `x-api-key` and
//! `anthropic-version` headers, answered as Anthropic does, complete or as
//! its named stream events.
//!
//! The request is checked as strictly as Anthropic checks it: unknown
//! top-level fields, a missing `max_tokens`, a `system` role inside
//! `messages`, two messages of one role in a row, a `tool_result` that
//! answers no `tool_use` of the message before, and malformed image
//! sources are refused with Anthropic's 400 error body.
//!
//! The reply echoes the last user message; when the last message carries
//! `tool_result` blocks, it echoes their content; when tools are offered
//! (and `tool_choice` is not `none`) it calls the named tool, or the first,
//! with `{"echo": <user text>}`.

use http::{HeaderMap, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};

use crate::{
    answer::{AnswerSettings, StreamPlan, count_words, model_name, split_reply},
    dialect::{
        Dialect, Ending, Refusal, WireAnswer, content_text, header_text, limit_reply, named_event,
        object, reply_text, unknown_field,
    },
    wire::{self, Body},
};

/// The Messages API's top-level fields.
const FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_k",
    "top_p",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
];

/// Anthropic's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anthropic;

impl Dialect for Anthropic {
    fn answers(&self, method: &Method, path: &str) -> bool {
        method == Method::POST && path.trim_end_matches('/').ends_with("/v1/messages")
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        header_text(headers, "x-api-key")
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let kind = match status.as_u16() {
            400 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            413 => "request_too_large",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        };
        let body = json!({
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_mock"
        });
        wire::json_response(status, wire::to_json(&body))
    }

    fn malformed_event(&self) -> &'static [u8] {
        b"event: content_block_delta\ndata: {not json\n\n"
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        id: u64,
    ) -> Result<WireAnswer, Refusal> {
        if header_text(&request.headers, "anthropic-version").is_none() {
            return Err(Refusal::bad_request(
                "anthropic-version: header is required",
            ));
        }
        let fields = object(body)?;
        if let Some(field) = unknown_field(fields, FIELDS) {
            return Err(Refusal::bad_request(format!(
                "{field}: Extra inputs are not permitted"
            )));
        }
        let call = Call::read(fields, settings)?;
        let id = format!("msg_mock_{id}");
        if fields.get("stream").and_then(Value::as_bool) == Some(true) {
            Ok(WireAnswer::Stream(call.stream(&id, settings)))
        } else {
            Ok(WireAnswer::Json(wire::to_json(&call.message(&id))))
        }
    }
}

/// What the mock will answer one request with.
struct Call {
    model: String,
    reply: Reply,
    ending: Ending,
    input_tokens: u64,
}

enum Reply {
    Text(String),
    ToolUse { name: String, input: Value },
}

impl Call {
    fn read(fields: &Map<String, Value>, settings: AnswerSettings<'_>) -> Result<Self, Refusal> {
        let max_tokens = fields
            .get("max_tokens")
            .ok_or_else(|| Refusal::bad_request("max_tokens: Field required"))?
            .as_u64()
            .filter(|max| *max > 0)
            .ok_or_else(|| {
                Refusal::bad_request("max_tokens: Input should be a valid positive integer")
            })?;
        let messages = fields
            .get("messages")
            .ok_or_else(|| Refusal::bad_request("messages: Field required"))?
            .as_array()
            .ok_or_else(|| Refusal::bad_request("messages: Input should be a valid list"))?;
        check_messages(messages)?;
        let system = fields.get("system").map(content_text).unwrap_or_default();
        let input_tokens = count_words(&system)
            + messages
                .iter()
                .map(|message| count_words(&message_text(message)))
                .sum::<u64>();
        let last = messages
            .last()
            .ok_or_else(|| Refusal::bad_request("messages: at least one message is required"))?;
        let stops: Vec<String> = match fields.get("stop_sequences") {
            None => Vec::new(),
            Some(stops) => serde_json::from_value(stops.clone()).map_err(|_| {
                Refusal::bad_request("stop_sequences: Input should be a valid list of strings")
            })?,
        };
        let reply = match tool_results(last) {
            Some(results) => Reply::Text(reply_text(settings, &results)),
            None => match tool_to_use(fields)? {
                Some(name) => Reply::ToolUse {
                    name,
                    input: json!({"echo": message_text(last)}),
                },
                None => Reply::Text(reply_text(settings, &message_text(last))),
            },
        };
        let (reply, ending) = match reply {
            Reply::Text(text) => {
                let (text, ending) = limit_reply(text, Some(max_tokens), &stops);
                (Reply::Text(text), ending)
            }
            tool_use => (tool_use, Ending::Complete),
        };
        Ok(Self {
            model: model_name(
                fields
                    .get("model")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .as_ref(),
            ),
            reply,
            ending,
            input_tokens,
        })
    }

    fn stop_reason(&self) -> &'static str {
        match (&self.reply, &self.ending) {
            (Reply::ToolUse { .. }, _) => "tool_use",
            (_, Ending::Complete) => "end_turn",
            (_, Ending::MaxTokens) => "max_tokens",
            (_, Ending::Stop(_)) => "stop_sequence",
        }
    }

    fn stop_sequence(&self) -> Value {
        match &self.ending {
            Ending::Stop(stop) => Value::String(stop.clone()),
            _ => Value::Null,
        }
    }

    fn output_text(&self) -> String {
        match &self.reply {
            Reply::Text(text) => text.clone(),
            Reply::ToolUse { input, .. } => input.to_string(),
        }
    }

    fn output_tokens(&self) -> u64 {
        count_words(&self.output_text())
    }

    fn block(&self) -> Value {
        match &self.reply {
            Reply::Text(text) => json!({"type": "text", "text": text}),
            Reply::ToolUse { name, input } => json!({
                "type": "tool_use", "id": "toolu_mock_0", "name": name, "input": input
            }),
        }
    }

    fn message(&self, id: &str) -> Value {
        json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [self.block()],
            "stop_reason": self.stop_reason(),
            "stop_sequence": self.stop_sequence(),
            "usage": {
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens(),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0
            }
        })
    }

    fn stream(&self, id: &str, settings: AnswerSettings<'_>) -> StreamPlan<bytes::Bytes> {
        let start = json!({
            "type": "message_start",
            "message": {
                "id": id, "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": 1}
            }
        });
        let (first_block, delta_kind, delta_field) = match &self.reply {
            Reply::Text(_) => (json!({"type": "text", "text": ""}), "text_delta", "text"),
            Reply::ToolUse { name, .. } => (
                json!({"type": "tool_use", "id": "toolu_mock_0", "name": name, "input": {}}),
                "input_json_delta",
                "partial_json",
            ),
        };
        let head = vec![
            named_event("message_start", &start),
            named_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0, "content_block": first_block}),
            ),
            named_event("ping", &json!({"type": "ping"})),
        ];
        let body = split_reply(&self.output_text(), settings.chunks)
            .into_iter()
            .map(|piece| {
                let mut delta = Map::new();
                delta.insert("type".to_owned(), Value::from(delta_kind));
                delta.insert(delta_field.to_owned(), Value::from(piece));
                named_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0, "delta": delta}),
                )
            })
            .collect();
        let tail = vec![
            named_event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": 0}),
            ),
            named_event(
                "message_delta",
                &json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason(), "stop_sequence": self.stop_sequence()},
                    "usage": {"output_tokens": self.output_tokens()}
                }),
            ),
            named_event("message_stop", &json!({"type": "message_stop"})),
        ];
        StreamPlan { head, body, tail }
    }
}

/// Refuses what Anthropic refuses in a conversation.
fn check_messages(messages: &[Value]) -> Result<(), Refusal> {
    let mut previous: Option<&Value> = None;
    for (index, message) in messages.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "user" | "assistant" => {}
            "system" => {
                return Err(Refusal::bad_request(
                    "messages: Unexpected role \"system\". The Messages API accepts a top-level \
                     `system` parameter, not \"system\" as an input message role.",
                ));
            }
            other => {
                return Err(Refusal::bad_request(format!(
                    "messages.{index}.role: Input should be 'user' or 'assistant' (got {other:?})"
                )));
            }
        }
        let previous_role = previous.and_then(|p| p.get("role")).and_then(Value::as_str);
        if previous_role == Some(role) {
            return Err(Refusal::bad_request(format!(
                "messages: roles must alternate between \"user\" and \"assistant\", but found \
                 multiple \"{role}\" roles in a row"
            )));
        }
        let content = message.get("content").ok_or_else(|| {
            Refusal::bad_request(format!("messages.{index}.content: Field required"))
        })?;
        if let Value::Array(blocks) = content {
            for (at, block) in blocks.iter().enumerate() {
                check_block(block, previous, &format!("messages.{index}.content.{at}"))?;
            }
        } else if !content.is_string() {
            return Err(Refusal::bad_request(format!(
                "messages.{index}.content: Input should be a valid string or list"
            )));
        }
        previous = Some(message);
    }
    Ok(())
}

fn check_block(block: &Value, previous: Option<&Value>, at: &str) -> Result<(), Refusal> {
    let text = |key: &str| block.get(key).and_then(Value::as_str);
    match text("type") {
        Some("text") if text("text").is_some() => Ok(()),
        Some("image") => {
            let source = block.get("source");
            let field = |key: &str| source.and_then(|s| s.get(key)).and_then(Value::as_str);
            match field("type") {
                Some("base64") if field("media_type").is_some() && field("data").is_some() => {
                    Ok(())
                }
                Some("url") if field("url").is_some() => Ok(()),
                _ => Err(Refusal::bad_request(format!(
                    "{at}.source: an image source needs type base64 (media_type, data) or url (url)"
                ))),
            }
        }
        Some("tool_use") if text("id").is_some() && text("name").is_some() => Ok(()),
        Some("tool_result") => {
            let id = text("tool_use_id").unwrap_or("");
            let answered = previous
                .and_then(|p| p.get("content"))
                .and_then(Value::as_array)
                .is_some_and(|blocks| {
                    blocks.iter().any(|b| {
                        b.get("type").and_then(Value::as_str) == Some("tool_use")
                            && b.get("id").and_then(Value::as_str) == Some(id)
                    })
                });
            if answered {
                Ok(())
            } else {
                Err(Refusal::bad_request(format!(
                    "{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each \
                     `tool_result` block must have a corresponding `tool_use` block in the \
                     previous message."
                )))
            }
        }
        _ => Err(Refusal::bad_request(format!(
            "{at}: not a valid content block: {block}"
        ))),
    }
}

/// The text a message carries: its string, text blocks and tool results.
fn message_text(message: &Value) -> String {
    let content = message.get("content").unwrap_or(&Value::Null);
    match content {
        Value::Array(blocks) => blocks
            .iter()
            .map(|block| match block.get("type").and_then(Value::as_str) {
                Some("text") => block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                Some("tool_result") => block.get("content").map(content_text).unwrap_or_default(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => content_text(other),
    }
}

/// The text of the message's `tool_result` blocks, if it has any.
fn tool_results(message: &Value) -> Option<String> {
    let blocks = message.get("content")?.as_array()?;
    let results: Vec<String> = blocks
        .iter()
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|block| block.get("content").map(content_text).unwrap_or_default())
        .collect();
    (!results.is_empty()).then(|| results.join(" "))
}

/// The tool to call: `tool_choice`'s, else the first tool, unless none are
/// offered or `tool_choice` is `none`.
fn tool_to_use(fields: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let Some(tools) = fields.get("tools") else {
        return Ok(None);
    };
    let tools = tools
        .as_array()
        .ok_or_else(|| Refusal::bad_request("tools: Input should be a valid list"))?;
    for (index, tool) in tools.iter().enumerate() {
        if tool.get("name").and_then(Value::as_str).is_none()
            || tool
                .get("input_schema")
                .and_then(Value::as_object)
                .is_none()
        {
            return Err(Refusal::bad_request(format!(
                "tools.{index}: a tool needs a `name` and an `input_schema` object"
            )));
        }
    }
    let Some(first) = tools
        .first()
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };
    let choice = fields.get("tool_choice");
    let kind = choice.and_then(|c| c.get("type")).and_then(Value::as_str);
    match kind {
        None | Some("auto" | "any") => Ok(Some(first.to_owned())),
        Some("none") => Ok(None),
        Some("tool") => choice
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .map(|name| Some(name.to_owned()))
            .ok_or_else(|| Refusal::bad_request("tool_choice.name: Field required")),
        Some(other) => Err(Refusal::bad_request(format!(
            "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none' (got {other:?})"
        ))),
    }
}
