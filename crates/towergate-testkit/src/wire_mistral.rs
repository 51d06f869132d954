//! Mistral's API: `POST /v1/chat/completions` and `POST /v1/embeddings`,
//! OpenAI's paths and nearly OpenAI's shapes, served under the `/mistral`
//! prefix ([`MockUpstream::mistral_base_url`](crate::MockUpstream::mistral_base_url)).
//!
//! What differs from OpenAI, and the mock keeps: fields Mistral does not
//! know are refused with 422 and Mistral's `{"object": "error", "message":
//! {"detail": [...]}}` body (`stream_options`, `seed`, `user`, a `name` on a
//! user message, ...); the seed is `random_seed`; `tool_choice` is `auto`,
//! `none`, `any`, `required` or a named function; tool call ids are nine
//! letters and digits; a stream always reports usage, in the chunk that
//! carries the finish reason, then sends `data: [DONE]`; embeddings take
//! `output_dimension`.

use http::{HeaderMap, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};
use towergate_core::{
    Usage,
    chat::{ChatRequest, ChatResponse},
};

use crate::{
    answer::{self, AnswerSettings, StreamPlan, count_words, model_name, split_reply, unit_vector},
    dialect::{Dialect, Refusal, WireAnswer, bearer, content_text, object},
    wire::{self, Body},
};

/// Where the mock serves Mistral's wire.
pub(crate) const PREFIX: &str = "/mistral";

/// The chat request's top-level fields.
const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stop",
    "random_seed",
    "response_format",
    "tools",
    "tool_choice",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "prediction",
    "parallel_tool_calls",
    "safe_prompt",
    "prompt_mode",
];

/// The embeddings request's top-level fields.
const EMBEDDINGS_FIELDS: &[&str] = &[
    "model",
    "input",
    "output_dimension",
    "output_dtype",
    "encoding_format",
];

/// Mistral's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mistral;

impl Dialect for Mistral {
    fn answers(&self, method: &Method, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        method == Method::POST
            && path.starts_with(PREFIX)
            && (path.ends_with("/v1/chat/completions") || path.ends_with("/v1/embeddings"))
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        bearer(headers)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let body = if status == StatusCode::UNAUTHORIZED {
            json!({"message": "Unauthorized", "request_id": "mock"})
        } else {
            let kind = if status.is_client_error() {
                "invalid_request_error"
            } else {
                "internal_server_error"
            };
            json!({"object": "error", "message": message, "type": kind, "param": null, "code": null})
        };
        wire::json_response(status, wire::to_json(&body))
    }

    fn done_event(&self) -> Option<&'static [u8]> {
        Some(wire::DONE_EVENT)
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        id: u64,
    ) -> Result<WireAnswer, Refusal> {
        let fields = object(body)?;
        if request
            .uri
            .path()
            .trim_end_matches('/')
            .ends_with("/embeddings")
        {
            return embeddings(fields, id);
        }
        let mut problems = extra_fields(fields, CHAT_FIELDS, &["body"]);
        problems.extend(message_problems(fields));
        if !problems.is_empty() {
            return Err(validation(problems));
        }
        check_tool_choice(fields.get("tool_choice"))?;
        let request = chat_request(fields)?;
        let mut response = answer::chat_response(&request, settings, id)
            .map_err(|error| Refusal::bad_request(error.message()))?;
        for choice in &mut response.choices {
            if let Some(calls) = &mut choice.message.tool_calls {
                for (index, call) in calls.iter_mut().enumerate() {
                    call.id = format!("mockcall{index}");
                }
            }
        }
        if request.is_stream() {
            Ok(WireAnswer::Stream(stream(&response, settings)))
        } else {
            Ok(WireAnswer::Json(wire::to_json(&complete(&response))))
        }
    }
}

/// One of pydantic's `extra_forbidden` entries, as Mistral reports them.
fn extra_fields(fields: &Map<String, Value>, allowed: &[&str], at: &[&str]) -> Vec<Value> {
    fields
        .iter()
        .filter(|(key, _)| !allowed.contains(&key.as_str()))
        .map(|(key, value)| {
            let mut loc: Vec<Value> = at.iter().map(|part| Value::from(*part)).collect();
            loc.push(Value::from(key.as_str()));
            json!({"type": "extra_forbidden", "loc": loc, "msg": "Extra inputs are not permitted", "input": value})
        })
        .collect()
}

/// Fields a message of its role may not carry.
fn message_problems(fields: &Map<String, Value>) -> Vec<Value> {
    let Some(messages) = fields.get("messages").and_then(Value::as_array) else {
        return vec![
            json!({"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": null}),
        ];
    };
    let mut problems = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let Some(message) = message.as_object() else {
            continue;
        };
        let role = message.get("role").and_then(Value::as_str).unwrap_or("");
        let allowed: &[&str] = match role {
            "system" | "user" => &["role", "content"],
            "assistant" => &["role", "content", "tool_calls", "prefix"],
            "tool" => &["role", "content", "tool_call_id", "name"],
            _ => {
                problems.push(json!({
                    "type": "union_tag_invalid", "loc": ["body", "messages", index],
                    "msg": format!("Input tag '{role}' found using 'role' does not match any of the expected tags: 'assistant', 'system', 'tool', 'user'"),
                    "input": message
                }));
                continue;
            }
        };
        let index = index.to_string();
        problems.extend(extra_fields(
            message,
            allowed,
            &["body", "messages", &index, role],
        ));
    }
    problems
}

fn validation(detail: Vec<Value>) -> Refusal {
    Refusal::with_body(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({
            "object": "error",
            "message": {"detail": detail},
            "type": "invalid_request_message_error",
            "param": null,
            "code": null
        }),
    )
}

fn check_tool_choice(choice: Option<&Value>) -> Result<(), Refusal> {
    match choice {
        None => Ok(()),
        Some(Value::String(text))
            if ["auto", "none", "any", "required"].contains(&text.as_str()) =>
        {
            Ok(())
        }
        Some(named @ Value::Object(_))
            if named.get("type").and_then(Value::as_str) == Some("function")
                && named
                    .pointer("/function/name")
                    .is_some_and(Value::is_string) =>
        {
            Ok(())
        }
        Some(other) => Err(validation(vec![json!({
            "type": "enum", "loc": ["body", "tool_choice"],
            "msg": "Input should be 'auto', 'none', 'any' or 'required', or a named function",
            "input": other
        })])),
    }
}

/// The request in OpenAI's terms, which the mock's answers are built from.
fn chat_request(fields: &Map<String, Value>) -> Result<ChatRequest, Refusal> {
    let mut openai = fields.clone();
    if let Some(seed) = openai.remove("random_seed") {
        openai.insert("seed".to_owned(), seed);
    }
    // The mock echoes text; a tool message's text counts like any other.
    if let Some(Value::Array(messages)) = openai.get_mut("messages") {
        for message in messages {
            if let Some(content) = message.get_mut("content")
                && content.is_array()
            {
                *content = Value::String(content_text(content));
            }
        }
    }
    serde_json::from_value(Value::Object(openai)).map_err(|error| {
        validation(vec![json!({"type": "value_error", "loc": ["body"], "msg": error.to_string(), "input": null})])
    })
}

fn plain_usage(usage: Option<&Usage>) -> Value {
    let usage = usage.cloned().unwrap_or_default();
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens
    })
}

/// The complete answer, without the fields only OpenAI sends.
fn complete(response: &ChatResponse) -> Value {
    let choices: Vec<Value> = response
        .choices
        .iter()
        .map(|choice| {
            let mut message = json!({
                "role": "assistant",
                "content": choice.message.text_content(),
                "tool_calls": choice.message.tool_calls,
                "prefix": false
            });
            if choice.message.tool_calls.is_none() {
                message["tool_calls"] = Value::Null;
            }
            json!({"index": choice.index, "message": message, "finish_reason": choice.finish_reason})
        })
        .collect();
    json!({
        "id": response.id,
        "object": "chat.completion",
        "created": response.created,
        "model": response.model,
        "choices": choices,
        "usage": plain_usage(response.usage.as_ref())
    })
}

/// The answer as Mistral streams it: a role chunk, content pieces (a tool
/// call in one piece), then the finish chunk carrying the usage.
fn stream(response: &ChatResponse, settings: AnswerSettings<'_>) -> StreamPlan<bytes::Bytes> {
    let chunk = |choices: Vec<Value>, usage: Option<Value>| {
        let mut chunk = json!({
            "id": response.id,
            "object": "chat.completion.chunk",
            "created": response.created,
            "model": response.model,
            "choices": choices
        });
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        wire::sse_event(&chunk)
    };
    let delta = |index: u32, delta: Value, finish: Option<&str>| json!({"index": index, "delta": delta, "finish_reason": finish, "logprobs": null});
    let mut head = Vec::new();
    let mut body = Vec::new();
    let mut finishes = Vec::new();
    for choice in &response.choices {
        head.push(chunk(
            vec![delta(
                choice.index,
                json!({"role": "assistant", "content": ""}),
                None,
            )],
            None,
        ));
        match &choice.message.tool_calls {
            Some(calls) => {
                let calls: Vec<Value> = (0u32..)
                    .zip(calls)
                    .map(|(index, call)| {
                        json!({"id": call.id, "function": {"name": call.function.name, "arguments": call.function.arguments}, "index": index})
                    })
                    .collect();
                body.push(chunk(
                    vec![delta(choice.index, json!({"tool_calls": calls}), None)],
                    None,
                ));
            }
            None => {
                let text = choice.message.text_content().unwrap_or_default();
                for piece in split_reply(&text, settings.chunks) {
                    body.push(chunk(
                        vec![delta(choice.index, json!({"content": piece}), None)],
                        None,
                    ));
                }
            }
        }
        finishes.push(delta(
            choice.index,
            json!({"content": ""}),
            choice.finish_reason.as_deref(),
        ));
    }
    let tail = vec![chunk(finishes, Some(plain_usage(response.usage.as_ref())))];
    StreamPlan { head, body, tail }
}

/// `POST /v1/embeddings`: one unit vector per input.
fn embeddings(fields: &Map<String, Value>, id: u64) -> Result<WireAnswer, Refusal> {
    let problems = extra_fields(fields, EMBEDDINGS_FIELDS, &["body"]);
    if !problems.is_empty() {
        return Err(validation(problems));
    }
    let texts: Vec<String> = match fields.get("input") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| Refusal::bad_request("input: every input must be a string"))?,
        _ => {
            return Err(Refusal::bad_request(
                "input: a string or a list of strings is required",
            ));
        }
    };
    if fields
        .get("encoding_format")
        .is_some_and(|format| format != "float")
    {
        return Err(Refusal::bad_request(
            "encoding_format: the mock answers `float` only",
        ));
    }
    let dimensions = match fields.get("output_dimension") {
        None | Some(Value::Null) => 8,
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=8192).contains(n))
            .ok_or_else(|| Refusal::bad_request("output_dimension: between 1 and 8192"))?,
    };
    let data: Vec<Value> = (0u32..)
        .zip(&texts)
        .map(|(index, text)| {
            json!({"object": "embedding", "embedding": unit_vector(text, dimensions), "index": index})
        })
        .collect();
    let tokens: u64 = texts.iter().map(|text| count_words(text)).sum();
    let model = model_name(
        fields
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .as_ref(),
    );
    Ok(WireAnswer::Json(wire::to_json(&json!({
        "id": format!("embd-mock-{id}"),
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}
    }))))
}
