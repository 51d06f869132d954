//! Google's Gemini API: `POST …/models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:embedContent` and
//! `:batchEmbedContents`, with the key in `x-goog-api-key` and Google's
//! `{"error": {"code", "message", "status"}}` error body.
//!
//! Top-level fields Gemini does not know are refused (400, "Invalid JSON
//! payload received. Unknown name …"), except `"mock"`, which carries the
//! per-request settings. Contents must alternate between nothing but the
//! roles `user` and `model`, and every content needs parts.
//!
//! The reply echoes the text of the last `user` content; after a
//! `functionResponse` it echoes the function's response. When function
//! declarations are offered (and `toolConfig` mode is not `NONE`) the model
//! calls the first allowed one with `{"echo": <user text>}`. A
//! `responseMimeType` of `application/json` makes the reply
//! `{"echo": <user text>}`. Streams send one event per piece of the reply
//! and a last event with the `finishReason` and the full `usageMetadata`.

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};

use crate::{
    answer::{AnswerSettings, StreamPlan, count_words, split_reply, unit_vector},
    dialect::{Dialect, Ending, Refusal, WireAnswer, header_text, limit_reply, object, reply_text},
    wire::{self, Body},
};

/// The fields of a `generateContent` body.
const GENERATE_FIELDS: &[&str] = &[
    "contents",
    "systemInstruction",
    "system_instruction",
    "tools",
    "toolConfig",
    "tool_config",
    "safetySettings",
    "safety_settings",
    "generationConfig",
    "generation_config",
    "cachedContent",
    "cached_content",
    "mock",
];

/// The fields of one `embedContent` request.
const EMBED_FIELDS: &[&str] = &[
    "model",
    "content",
    "taskType",
    "title",
    "outputDimensionality",
    "mock",
];

/// Embedding dimensions when the request sets none.
const DEFAULT_DIMENSIONS: u64 = 8;

/// Gemini's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gemini;

/// The method a path calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Generate,
    Stream,
    Embed,
    BatchEmbed,
}

/// `(model, method)` of `…/models/{model}:{method}`.
fn split_path(path: &str) -> Option<(&str, Call)> {
    let (before, method) = path.trim_end_matches('/').rsplit_once(':')?;
    let (_, model) = before.rsplit_once("/models/")?;
    let call = match method {
        "generateContent" => Call::Generate,
        "streamGenerateContent" => Call::Stream,
        "embedContent" => Call::Embed,
        "batchEmbedContents" => Call::BatchEmbed,
        _ => return None,
    };
    (!model.is_empty() && !model.contains('/')).then_some((model, call))
}

/// Google's name for an HTTP status.
fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

impl Dialect for Gemini {
    fn answers(&self, method: &Method, path: &str) -> bool {
        method == Method::POST && split_path(path).is_some()
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        header_text(headers, "x-goog-api-key")
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let body = json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "status": status_name(status)
        }});
        wire::json_response(status, wire::to_json(&body))
    }

    fn body_controls(&self) -> bool {
        true
    }

    fn malformed_event(&self) -> &'static [u8] {
        b"data: {not json\r\n\r\n"
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        id: u64,
    ) -> Result<WireAnswer, Refusal> {
        let Some((model, call)) = split_path(request.uri.path()) else {
            return Err(Refusal::new(StatusCode::NOT_FOUND, "unknown method"));
        };
        let fields = object(body)?;
        match call {
            Call::Embed => embed_one(fields, model).map(|vector| {
                WireAnswer::Json(wire::to_json(&json!({"embedding": {"values": vector}})))
            }),
            Call::BatchEmbed => batch_embed(fields, model),
            Call::Generate | Call::Stream => {
                if call == Call::Stream && request.uri.query() != Some("alt=sse") {
                    return Err(Refusal::bad_request(
                        "the mock streams only as server-sent events: add ?alt=sse",
                    ));
                }
                refuse_unknown(fields, GENERATE_FIELDS)?;
                let generation = Generation::read(fields, settings)?;
                let id = format!("mock-{id}");
                if call == Call::Stream {
                    Ok(WireAnswer::Stream(generation.stream(&id, model, settings)))
                } else {
                    Ok(WireAnswer::Json(wire::to_json(
                        &generation.complete(&id, model),
                    )))
                }
            }
        }
    }
}

fn refuse_unknown(fields: &Map<String, Value>, allowed: &[&str]) -> Result<(), Refusal> {
    match fields.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(field) => Err(Refusal::bad_request(format!(
            "Invalid JSON payload received. Unknown name \"{field}\": Cannot find field."
        ))),
        None => Ok(()),
    }
}

/// What one `generateContent` call answers.
struct Generation {
    reply: Reply,
    ending: Ending,
    candidates: u64,
    prompt_tokens: u64,
}

enum Reply {
    Text(String),
    Call { name: String, args: Value },
}

impl Generation {
    fn read(fields: &Map<String, Value>, settings: AnswerSettings<'_>) -> Result<Self, Refusal> {
        let contents = fields
            .get("contents")
            .and_then(Value::as_array)
            .filter(|contents| !contents.is_empty())
            .ok_or_else(|| {
                Refusal::bad_request("* GenerateContentRequest.contents: contents is not specified")
            })?;
        for (index, content) in contents.iter().enumerate() {
            check_content(index, content)?;
        }
        let system = fields
            .get("systemInstruction")
            .or_else(|| fields.get("system_instruction"));
        let prompt_tokens = contents
            .iter()
            .chain(system)
            .map(|content| count_words(&parts_text(content)))
            .sum();
        let config = fields
            .get("generationConfig")
            .or_else(|| fields.get("generation_config"))
            .cloned()
            .unwrap_or(Value::Null);
        let last = contents.last().unwrap_or(&Value::Null);
        let user_text = contents
            .iter()
            .rev()
            .filter(|content| content.get("role").and_then(Value::as_str) == Some("user"))
            .map(parts_text)
            .find(|text| !text.is_empty())
            .unwrap_or_default();
        let answered = function_responses(last);
        let reply = if let Some(response) = answered {
            Reply::Text(reply_text(settings, &response))
        } else if let Some(name) = function_to_call(fields)? {
            Reply::Call {
                name,
                args: json!({ "echo": user_text }),
            }
        } else if config.get("responseMimeType").and_then(Value::as_str) == Some("application/json")
        {
            Reply::Text(json!({ "echo": user_text }).to_string())
        } else {
            Reply::Text(reply_text(settings, &user_text))
        };
        let stops: Vec<String> = match config.get("stopSequences") {
            None => Vec::new(),
            Some(stops) => serde_json::from_value(stops.clone()).map_err(|_| {
                Refusal::bad_request("Invalid value at 'generation_config.stop_sequences'")
            })?,
        };
        let max_tokens = config.get("maxOutputTokens").and_then(Value::as_u64);
        let (reply, ending) = match reply {
            Reply::Text(text) => {
                let (text, ending) = limit_reply(text, max_tokens, &stops);
                (Reply::Text(text), ending)
            }
            call => (call, Ending::Complete),
        };
        let candidates = config
            .get("candidateCount")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if !(1..=8).contains(&candidates) {
            return Err(Refusal::bad_request(
                "* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8",
            ));
        }
        Ok(Self {
            reply,
            ending,
            candidates,
            prompt_tokens,
        })
    }

    fn finish_reason(&self) -> &'static str {
        match self.ending {
            Ending::MaxTokens => "MAX_TOKENS",
            Ending::Complete | Ending::Stop(_) => "STOP",
        }
    }

    fn output_tokens(&self) -> u64 {
        let one = match &self.reply {
            Reply::Text(text) => count_words(text),
            Reply::Call { args, .. } => count_words(&args.to_string()),
        };
        one * self.candidates
    }

    fn usage(&self) -> Value {
        let output = self.output_tokens();
        json!({
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": output,
            "totalTokenCount": self.prompt_tokens + output
        })
    }

    fn parts(&self) -> Value {
        match &self.reply {
            Reply::Text(text) => json!([{ "text": text }]),
            Reply::Call { name, args } => json!([{ "functionCall": {"name": name, "args": args} }]),
        }
    }

    fn candidates(&self, parts: &Value, finish: Option<&str>) -> Value {
        let candidates: Vec<Value> = (0..self.candidates)
            .map(|index| {
                let mut candidate = json!({
                    "content": {"role": "model", "parts": parts},
                    "index": index
                });
                if let Some(finish) = finish {
                    candidate["finishReason"] = json!(finish);
                }
                candidate
            })
            .collect();
        Value::Array(candidates)
    }

    fn complete(&self, id: &str, model: &str) -> Value {
        json!({
            "candidates": self.candidates(&self.parts(), Some(self.finish_reason())),
            "usageMetadata": self.usage(),
            "modelVersion": model,
            "responseId": id
        })
    }

    fn stream(&self, id: &str, model: &str, settings: AnswerSettings<'_>) -> StreamPlan<Bytes> {
        let event = |candidates: Value, usage: Value| {
            sse_event(&json!({
                "candidates": candidates,
                "usageMetadata": usage,
                "modelVersion": model,
                "responseId": id
            }))
        };
        let running =
            json!({"promptTokenCount": self.prompt_tokens, "totalTokenCount": self.prompt_tokens});
        let body = match &self.reply {
            Reply::Text(text) => split_reply(text, settings.chunks)
                .into_iter()
                .map(|piece| {
                    event(
                        self.candidates(&json!([{ "text": piece }]), None),
                        running.clone(),
                    )
                })
                .collect(),
            Reply::Call { .. } => {
                vec![event(self.candidates(&self.parts(), None), running.clone())]
            }
        };
        let last = event(
            self.candidates(&json!([{ "text": "" }]), Some(self.finish_reason())),
            self.usage(),
        );
        StreamPlan {
            head: Vec::new(),
            body,
            tail: vec![last],
        }
    }
}

/// `value` as one event, with the CRLF line ends Google sends.
fn sse_event(value: &Value) -> Bytes {
    let mut event = b"data: ".to_vec();
    event.extend_from_slice(&wire::to_json(value));
    event.extend_from_slice(b"\r\n\r\n");
    Bytes::from(event)
}

fn check_content(index: usize, content: &Value) -> Result<(), Refusal> {
    let role = content
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("user");
    if !matches!(role, "user" | "model" | "function") {
        return Err(Refusal::bad_request(format!(
            "Please use a valid role: user, model. (contents[{index}].role is \"{role}\")"
        )));
    }
    let parts = content.get("parts").and_then(Value::as_array);
    if parts.is_none_or(Vec::is_empty) {
        return Err(Refusal::bad_request(format!(
            "* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty."
        )));
    }
    Ok(())
}

/// The text parts of a content, joined.
fn parts_text(content: &Value) -> String {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

/// The `response` objects of a content's `functionResponse` parts, as JSON text.
fn function_responses(content: &Value) -> Option<String> {
    let responses: Vec<String> = content
        .get("parts")?
        .as_array()?
        .iter()
        .filter_map(|part| part.pointer("/functionResponse/response"))
        .map(Value::to_string)
        .collect();
    (!responses.is_empty()).then(|| responses.join(" "))
}

/// The function the model calls: the first allowed declaration, unless
/// there is none or the mode is `NONE`.
fn function_to_call(fields: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    let config = fields
        .get("toolConfig")
        .or_else(|| fields.get("tool_config"))
        .and_then(|config| config.get("functionCallingConfig"));
    let mode = config
        .and_then(|config| config.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("AUTO");
    if !matches!(mode, "AUTO" | "ANY" | "NONE" | "VALIDATED") {
        return Err(Refusal::bad_request(format!(
            "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{mode}\""
        )));
    }
    let declared: Vec<&str> = fields
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| tool.get("functionDeclarations").and_then(Value::as_array))
        .flatten()
        .filter_map(|declaration| declaration.get("name").and_then(Value::as_str))
        .collect();
    if declared.is_empty() || mode == "NONE" {
        return Ok(None);
    }
    let allowed = config
        .and_then(|config| config.get("allowedFunctionNames"))
        .and_then(Value::as_array)
        .and_then(|names| names.first())
        .and_then(Value::as_str);
    Ok(Some(allowed.unwrap_or(declared[0]).to_owned()))
}

/// One `embedContent` request's vector.
fn embed_one(fields: &Map<String, Value>, model: &str) -> Result<Vec<f32>, Refusal> {
    refuse_unknown(fields, EMBED_FIELDS)?;
    if let Some(named) = fields.get("model").and_then(Value::as_str)
        && named != format!("models/{model}")
    {
        return Err(Refusal::bad_request(format!(
            "Model names in the batch must match the model of the call: `{named}`"
        )));
    }
    let text = fields.get("content").map(parts_text).unwrap_or_default();
    if fields.get("content").is_none() {
        return Err(Refusal::bad_request(
            "* EmbedContentRequest.content: content is not specified",
        ));
    }
    let dimensions = fields
        .get("outputDimensionality")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_DIMENSIONS);
    let dimensions = u32::try_from(dimensions)
        .ok()
        .filter(|n| (1..=3072).contains(n))
        .ok_or_else(|| Refusal::bad_request("outputDimensionality must be between 1 and 3072"))?;
    Ok(unit_vector(&text, dimensions))
}

fn batch_embed(fields: &Map<String, Value>, model: &str) -> Result<WireAnswer, Refusal> {
    refuse_unknown(fields, &["requests", "mock"])?;
    let requests = fields
        .get("requests")
        .and_then(Value::as_array)
        .filter(|requests| !requests.is_empty())
        .ok_or_else(|| {
            Refusal::bad_request("* BatchEmbedContentsRequest.requests: requests is not specified")
        })?;
    let embeddings = requests
        .iter()
        .map(|request| {
            let fields = object(request)?;
            if fields.get("model").is_none() {
                return Err(Refusal::bad_request(
                    "* BatchEmbedContentsRequest.requests[].model: model is not specified",
                ));
            }
            embed_one(fields, model).map(|vector| json!({ "values": vector }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WireAnswer::Json(wire::to_json(
        &json!({ "embeddings": embeddings }),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_model_and_method() {
        assert_eq!(
            split_path("/v1beta/models/gemini-2.0-flash:generateContent"),
            Some(("gemini-2.0-flash", Call::Generate))
        );
        assert_eq!(
            split_path("/v1beta/models/m:streamGenerateContent"),
            Some(("m", Call::Stream))
        );
        assert_eq!(split_path("/v1beta/models/m:countTokens"), None);
        assert_eq!(split_path("/v1/chat/completions"), None);
    }
}
