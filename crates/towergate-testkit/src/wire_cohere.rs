//! Cohere's v2 API: `POST /v2/chat` (complete, or its typed stream events
//! `message-start` … `message-end`) and `POST /v2/embed`, with
//! `Authorization: Bearer KEY` and Cohere's `{"id", "message"}` error body.
//!
//! Unknown top-level fields are refused (400), as are a `tool_choice` other
//! than `REQUIRED` or `NONE`, a `tool` message without `tool_call_id`, and
//! an embed request without `input_type`. Usage reports billed units and,
//! larger by a five-token preamble, the tokens the model read.
//!
//! The reply echoes the last user message; after a `tool` message it echoes
//! the tool's result; when tools are offered (and `tool_choice` is not
//! `NONE`) it calls the first with `{"echo": <user text>}`.

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};

use crate::{
    answer::{AnswerSettings, StreamPlan, count_words, split_reply, unit_vector},
    dialect::{
        Dialect, Ending, Refusal, WireAnswer, bearer, content_text, limit_reply, named_event,
        object, reply_text, unknown_field,
    },
    wire::{self, Body},
};

/// Tokens Cohere adds to every prompt and does not bill, in the mock.
const PREAMBLE_TOKENS: u64 = 5;

/// The chat request's top-level fields.
const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "tools",
    "strict_tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "logprobs",
    "tool_choice",
    "stream",
    "thinking",
];

/// The embed request's top-level fields.
const EMBED_FIELDS: &[&str] = &[
    "model",
    "texts",
    "images",
    "inputs",
    "input_type",
    "embedding_types",
    "output_dimension",
    "truncate",
    "max_tokens",
];

/// Cohere's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cohere;

impl Dialect for Cohere {
    fn answers(&self, method: &Method, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        method == Method::POST && (path.ends_with("/v2/chat") || path.ends_with("/v2/embed"))
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        bearer(headers)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let body = json!({"id": "mock-error", "message": message});
        wire::json_response(status, wire::to_json(&body))
    }

    fn malformed_event(&self) -> &'static [u8] {
        b"event: content-delta\ndata: {not json\n\n"
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        id: u64,
    ) -> Result<WireAnswer, Refusal> {
        let fields = object(body)?;
        let id = format!("mock-{id}");
        if request.uri.path().trim_end_matches('/').ends_with("/embed") {
            return embed(fields, &id);
        }
        if let Some(field) = unknown_field(fields, CHAT_FIELDS) {
            return Err(Refusal::bad_request(format!(
                "invalid request: unknown field: parameter {field} is not a valid field"
            )));
        }
        let call = Call::read(fields, settings)?;
        if fields.get("stream").and_then(Value::as_bool) == Some(true) {
            Ok(WireAnswer::Stream(call.stream(&id, settings)))
        } else {
            Ok(WireAnswer::Json(wire::to_json(&call.complete(&id))))
        }
    }
}

struct Call {
    reply: Reply,
    ending: Ending,
    input_tokens: u64,
}

enum Reply {
    Text(String),
    ToolCall { name: String, arguments: String },
}

impl Call {
    fn read(fields: &Map<String, Value>, settings: AnswerSettings<'_>) -> Result<Self, Refusal> {
        let messages = fields
            .get("messages")
            .and_then(Value::as_array)
            .filter(|messages| !messages.is_empty())
            .ok_or_else(|| Refusal::bad_request("invalid request: messages must not be empty"))?;
        for (index, message) in messages.iter().enumerate() {
            check_message(index, message)?;
        }
        let input_tokens = messages
            .iter()
            .map(|message| {
                count_words(&content_text(
                    message.get("content").unwrap_or(&Value::Null),
                ))
            })
            .sum();
        let last = messages.last().unwrap_or(&Value::Null);
        let last_user = messages
            .iter()
            .rev()
            .find(|message| message.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|message| message.get("content"))
            .map(content_text)
            .unwrap_or_default();
        let stops: Vec<String> = match fields.get("stop_sequences") {
            None => Vec::new(),
            Some(stops) => serde_json::from_value(stops.clone()).map_err(|_| {
                Refusal::bad_request("invalid request: stop_sequences must be a list of strings")
            })?,
        };
        let max_tokens = fields.get("max_tokens").and_then(Value::as_u64);
        let reply = if last.get("role").and_then(Value::as_str) == Some("tool") {
            let result = content_text(last.get("content").unwrap_or(&Value::Null));
            Reply::Text(reply_text(settings, &result))
        } else {
            match tool_to_call(fields)? {
                Some(name) => Reply::ToolCall {
                    name,
                    arguments: json!({"echo": last_user}).to_string(),
                },
                None => Reply::Text(reply_text(settings, &last_user)),
            }
        };
        let (reply, ending) = match reply {
            Reply::Text(text) => {
                let (text, ending) = limit_reply(text, max_tokens, &stops);
                (Reply::Text(text), ending)
            }
            call => (call, Ending::Complete),
        };
        Ok(Self {
            reply,
            ending,
            input_tokens,
        })
    }

    fn finish_reason(&self) -> &'static str {
        match (&self.reply, &self.ending) {
            (Reply::ToolCall { .. }, _) => "TOOL_CALL",
            (_, Ending::Complete) => "COMPLETE",
            (_, Ending::MaxTokens) => "MAX_TOKENS",
            (_, Ending::Stop(_)) => "STOP_SEQUENCE",
        }
    }

    fn output_text(&self) -> &str {
        match &self.reply {
            Reply::Text(text) => text,
            Reply::ToolCall { arguments, .. } => arguments,
        }
    }

    fn usage(&self) -> Value {
        let output = count_words(self.output_text());
        json!({
            "billed_units": {"input_tokens": self.input_tokens, "output_tokens": output},
            "tokens": {"input_tokens": self.input_tokens + PREAMBLE_TOKENS, "output_tokens": output}
        })
    }

    fn tool_plan(name: &str) -> String {
        format!("I will call {name}.")
    }

    fn complete(&self, id: &str) -> Value {
        let message = match &self.reply {
            Reply::Text(text) => json!({
                "role": "assistant",
                "content": [{"type": "text", "text": text}]
            }),
            Reply::ToolCall { name, arguments } => json!({
                "role": "assistant",
                "tool_plan": Self::tool_plan(name),
                "tool_calls": [{
                    "id": format!("{name}_mock0"),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments}
                }]
            }),
        };
        json!({
            "id": id,
            "message": message,
            "finish_reason": self.finish_reason(),
            "usage": self.usage()
        })
    }

    fn stream(&self, id: &str, settings: AnswerSettings<'_>) -> StreamPlan<Bytes> {
        let event = |data: Value| {
            let name = data
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            named_event(&name, &data)
        };
        let mut head = vec![event(json!({
            "id": id,
            "type": "message-start",
            "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}
        }))];
        let pieces = split_reply(self.output_text(), settings.chunks);
        let (body, last_block): (Vec<Bytes>, Value) = match &self.reply {
            Reply::Text(_) => {
                head.push(event(json!({
                    "type": "content-start", "index": 0,
                    "delta": {"message": {"content": {"type": "text", "text": ""}}}
                })));
                let body = pieces
                    .into_iter()
                    .map(|piece| {
                        event(json!({
                            "type": "content-delta", "index": 0,
                            "delta": {"message": {"content": {"text": piece}}}
                        }))
                    })
                    .collect();
                (body, json!({"type": "content-end", "index": 0}))
            }
            Reply::ToolCall { name, .. } => {
                head.push(event(json!({
                    "type": "tool-plan-delta",
                    "delta": {"message": {"tool_plan": Self::tool_plan(name)}}
                })));
                head.push(event(json!({
                    "type": "tool-call-start", "index": 0,
                    "delta": {"message": {"tool_calls": {
                        "id": format!("{name}_mock0"), "type": "function",
                        "function": {"name": name, "arguments": ""}
                    }}}
                })));
                let body = pieces
                    .into_iter()
                    .map(|piece| {
                        event(json!({
                            "type": "tool-call-delta", "index": 0,
                            "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}}
                        }))
                    })
                    .collect();
                (body, json!({"type": "tool-call-end", "index": 0}))
            }
        };
        let tail = vec![
            event(last_block),
            event(json!({
                "type": "message-end",
                "delta": {"finish_reason": self.finish_reason(), "usage": self.usage()}
            })),
        ];
        StreamPlan { head, body, tail }
    }
}

fn check_message(index: usize, message: &Value) -> Result<(), Refusal> {
    let role = message.get("role").and_then(Value::as_str).unwrap_or("");
    let refuse = |what: &str| {
        Err(Refusal::bad_request(format!(
            "invalid request: messages[{index}]: {what}"
        )))
    };
    match role {
        "system" | "user" => {}
        "assistant" => {
            if message.get("content").is_none() && message.get("tool_calls").is_none() {
                return refuse("an assistant message needs content or tool_calls");
            }
        }
        "tool" => {
            if message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .is_none()
            {
                return refuse("a tool message needs a tool_call_id");
            }
        }
        other => return refuse(&format!("unknown role {other:?}")),
    }
    Ok(())
}

fn tool_to_call(fields: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let choice = match fields.get("tool_choice") {
        None => None,
        Some(Value::String(choice)) if choice == "REQUIRED" || choice == "NONE" => {
            Some(choice.as_str())
        }
        Some(other) => {
            return Err(Refusal::bad_request(format!(
                "invalid request: tool_choice must be one of REQUIRED, NONE (got {other})"
            )));
        }
    };
    let first = fields
        .get("tools")
        .and_then(Value::as_array)
        .and_then(|tools| tools.first())
        .and_then(|tool| tool.pointer("/function/name"))
        .and_then(Value::as_str);
    Ok(match (first, choice) {
        (Some(_), Some("NONE")) | (None, _) => None,
        (Some(name), _) => Some(name.to_owned()),
    })
}

/// `POST /v2/embed`: float vectors for `texts`.
fn embed(fields: &Map<String, Value>, id: &str) -> Result<WireAnswer, Refusal> {
    if let Some(field) = unknown_field(fields, EMBED_FIELDS) {
        return Err(Refusal::bad_request(format!(
            "invalid request: unknown field: parameter {field} is not a valid field"
        )));
    }
    if fields.get("input_type").and_then(Value::as_str).is_none() {
        return Err(Refusal::bad_request(
            "invalid request: valid input_type must be provided with the provided model",
        ));
    }
    let texts: Vec<String> = fields
        .get("texts")
        .and_then(Value::as_array)
        .and_then(|texts| {
            texts
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| Refusal::bad_request("invalid request: texts must be a list of strings"))?;
    let types: Vec<String> = fields
        .get("embedding_types")
        .map(|types| serde_json::from_value(types.clone()))
        .transpose()
        .map_err(|_| Refusal::bad_request("invalid request: embedding_types must be a list"))?
        .unwrap_or_else(|| vec!["float".to_owned()]);
    let dimensions = fields
        .get("output_dimension")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(8);
    let mut embeddings = Map::new();
    if types.iter().any(|kind| kind == "float") {
        let vectors: Vec<Vec<f32>> = texts.iter().map(|t| unit_vector(t, dimensions)).collect();
        embeddings.insert("float".to_owned(), json!(vectors));
    }
    let tokens: u64 = texts.iter().map(|text| count_words(text)).sum();
    Ok(WireAnswer::Json(wire::to_json(&json!({
        "id": id,
        "embeddings": embeddings,
        "texts": texts,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
        "response_type": "embeddings_by_type"
    }))))
}
