//! Amazon Bedrock's runtime API: Converse (`POST /model/{modelId}/converse`),
//! ConverseStream (`POST /model/{modelId}/converse-stream`, answered in AWS's
//! binary event-stream framing) and InvokeModel (`POST /model/{modelId}/invoke`)
//! for Titan and Cohere embedding models.
//!
//! Every request must carry an AWS Signature Version 4 for service
//! `bedrock`, made with the test credentials of
//! [`crate::bedrock_signature`]: the signature is computed again and a
//! mismatch is answered 403 in Bedrock's error shape, `{"message": ...}`
//! with an `x-amzn-ErrorType` header.
//!
//! Converse requests are checked as Bedrock checks them: unknown top-level
//! fields, roles that do not alternate from `user`, content blocks of no
//! known kind, `toolUse`/`toolResult` blocks without a `toolConfig` and
//! unknown `inferenceConfig` fields are refused with a 400
//! `ValidationException`. The reply echoes the last user message (or the
//! text of its `toolResult` blocks); when tools are offered it calls the
//! named tool, or the first, with `{"echo": <user text>}`.
//!
//! Per-request settings go in `additionalModelRequestFields.mock`; a
//! string in `additionalModelRequestFields.mock_exception` makes a stream
//! end with a `throttlingException` carrying that message.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue as FrameValue, Message};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};

use crate::{
    answer::{AnswerSettings, StreamPlan, count_words, split_reply, unit_vector},
    bedrock_signature,
    dialect::{
        Dialect, Ending, Refusal, WireAnswer, limit_reply, object, reply_text, unknown_field,
    },
    wire::{self, Body},
};

/// Converse's top-level fields.
const FIELDS: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
];

/// `inferenceConfig`'s fields.
const INFERENCE_FIELDS: &[&str] = &["maxTokens", "temperature", "topP", "stopSequences"];

/// A frame whose prelude checksum is wrong.
const MALFORMED_FRAME: &[u8] = b"\x00\x00\x00\x10\x00\x00\x00\x00\xde\xad\xbe\xef\x00\x00\x00\x00";

/// Bedrock's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bedrock;

/// What a Bedrock path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Converse,
    ConverseStream,
    Invoke,
}

fn action(path: &str) -> Option<Action> {
    let rest = path.strip_prefix("/model/")?;
    if rest.ends_with("/converse-stream") {
        Some(Action::ConverseStream)
    } else if rest.ends_with("/converse") {
        Some(Action::Converse)
    } else if rest.ends_with("/invoke") {
        Some(Action::Invoke)
    } else {
        None
    }
}

/// Bedrock's 403 for a request whose signature does not hold, if it is a
/// Bedrock request; `body` is the request's raw body, which is signed.
pub(crate) fn refuse_unsigned(parts: &Parts, body: &[u8]) -> Option<Response<Body>> {
    action(parts.uri.path())?;
    let unsigned = bedrock_signature::check(parts, body).err()?;
    Some(error_response(
        StatusCode::FORBIDDEN,
        unsigned.kind,
        &unsigned.message,
    ))
}

fn error_response(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    let mut response = wire::json_response(status, wire::to_json(&json!({"message": message})));
    if let Ok(value) = HeaderValue::from_str(kind) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::bad_request(message)
}

impl Dialect for Bedrock {
    fn answers(&self, method: &Method, path: &str) -> bool {
        method == Method::POST && action(path).is_some()
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        bedrock_signature::access_key_id(headers)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let kind = match status.as_u16() {
            400 => "ValidationException",
            401 | 403 => "AccessDeniedException",
            404 => "ResourceNotFoundException",
            408 => "ModelTimeoutException",
            424 => "ModelErrorException",
            429 => "ThrottlingException",
            503 => "ServiceUnavailableException",
            _ => "InternalServerException",
        };
        error_response(status, kind, message)
    }

    fn controls<'b>(&self, body: &'b Value) -> &'b Value {
        body.get("additionalModelRequestFields")
            .unwrap_or(&Value::Null)
    }

    fn malformed_event(&self) -> &'static [u8] {
        MALFORMED_FRAME
    }

    fn stream_content_type(&self) -> Option<&'static str> {
        Some("application/vnd.amazon.eventstream")
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        _id: u64,
    ) -> Result<WireAnswer, Refusal> {
        let path = request.uri.path();
        let fields = object(body)?;
        match action(path) {
            Some(Action::Invoke) => invoke(path, fields),
            Some(Action::Converse) => {
                let call = Call::read(fields, settings)?;
                Ok(WireAnswer::Json(wire::to_json(&call.answer())))
            }
            Some(Action::ConverseStream) => {
                let call = Call::read(fields, settings)?;
                Ok(WireAnswer::Stream(call.stream(fields, settings)))
            }
            None => Err(Refusal::new(StatusCode::NOT_FOUND, "Unknown operation")),
        }
    }
}

/// The blocks of a message's `content`.
fn blocks(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn block_text(blocks: &[Value]) -> String {
    blocks
        .iter()
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of the `toolResult` blocks, if there are any.
fn tool_results(blocks: &[Value]) -> Option<String> {
    let results: Vec<String> = blocks
        .iter()
        .filter_map(|block| block.get("toolResult"))
        .map(|result| {
            block_text(
                result
                    .get("content")
                    .and_then(Value::as_array)
                    .map_or(&[], Vec::as_slice),
            )
        })
        .collect();
    (!results.is_empty()).then(|| results.join(" "))
}

fn check_block(block: &Value, at: &str, previous: Option<&Value>) -> Result<(), Refusal> {
    let kinds = ["text", "image", "toolUse", "toolResult", "document"];
    let fields = block
        .as_object()
        .filter(|fields| fields.len() == 1)
        .ok_or_else(|| {
            invalid(format!(
                "{at}: a content block must have exactly one member"
            ))
        })?;
    let (kind, value) = fields
        .iter()
        .next()
        .ok_or_else(|| invalid(format!("{at}: empty content block")))?;
    match kind.as_str() {
        "text" if value.is_string() => Ok(()),
        "image" => {
            let format = value.get("format").and_then(Value::as_str);
            let bytes = value.pointer("/source/bytes").and_then(Value::as_str);
            match (format, bytes) {
                (Some("png" | "jpeg" | "gif" | "webp"), Some(_)) => Ok(()),
                _ => Err(invalid(format!(
                    "{at}.image: needs a format (png, jpeg, gif, webp) and source.bytes"
                ))),
            }
        }
        "toolUse" => {
            let ok = value.get("toolUseId").is_some_and(Value::is_string)
                && value.get("name").is_some_and(Value::is_string)
                && value.get("input").is_some_and(Value::is_object);
            ok.then_some(())
                .ok_or_else(|| invalid(format!("{at}.toolUse: needs toolUseId, name and input")))
        }
        "toolResult" => {
            let id = value
                .get("toolUseId")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{at}.toolResult: needs toolUseId and content")))?;
            let used = previous.is_some_and(|message| {
                blocks(message).iter().any(|block| {
                    block.pointer("/toolUse/toolUseId").and_then(Value::as_str) == Some(id)
                })
            });
            if !used {
                return Err(invalid(format!(
                    "{at}.toolResult: toolUseId {id} answers no toolUse of the previous turn"
                )));
            }
            Ok(())
        }
        other if kinds.contains(&other) => Err(invalid(format!("{at}.{other}: malformed"))),
        other => Err(invalid(format!(
            "{at}: extraneous key [{other}] is not permitted"
        ))),
    }
}

/// What the mock will answer one Converse request with.
struct Call {
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
        if let Some(field) = unknown_field(fields, FIELDS) {
            return Err(invalid(format!(
                "Malformed input request: extraneous key [{field}] is not permitted"
            )));
        }
        let messages = fields
            .get("messages")
            .and_then(Value::as_array)
            .filter(|messages| !messages.is_empty())
            .ok_or_else(|| invalid("messages: at least one message is required"))?;
        let mut uses_tools = false;
        for (index, message) in messages.iter().enumerate() {
            let expected = if index % 2 == 0 { "user" } else { "assistant" };
            if message.get("role").and_then(Value::as_str) != Some(expected) {
                return Err(invalid(format!(
                    "A conversation must alternate between user and assistant roles; \
                     messages.{index}.role should be {expected}"
                )));
            }
            let content = message
                .get("content")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid(format!("messages.{index}.content: must be a list")))?;
            for (at, block) in content.iter().enumerate() {
                let previous = index.checked_sub(1).and_then(|i| messages.get(i));
                check_block(block, &format!("messages.{index}.content.{at}"), previous)?;
                uses_tools |= block.get("toolUse").is_some() || block.get("toolResult").is_some();
            }
        }
        let tools = read_tools(fields.get("toolConfig"))?;
        if uses_tools && tools.is_none() {
            return Err(invalid(
                "The toolConfig field must be defined when using toolUse and toolResult content blocks.",
            ));
        }
        let inference = fields.get("inferenceConfig").and_then(Value::as_object);
        if let Some(field) = inference.and_then(|config| unknown_field(config, INFERENCE_FIELDS)) {
            return Err(invalid(format!(
                "inferenceConfig: extraneous key [{field}] is not permitted"
            )));
        }
        let max_tokens = inference
            .and_then(|c| c.get("maxTokens"))
            .and_then(Value::as_u64);
        let stops: Vec<String> = inference
            .and_then(|c| c.get("stopSequences"))
            .and_then(|stops| serde_json::from_value(stops.clone()).ok())
            .unwrap_or_default();
        let system: Vec<Value> = fields
            .get("system")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let input_tokens = count_words(&block_text(&system))
            + messages
                .iter()
                .map(|message| count_words(&block_text(blocks(message))))
                .sum::<u64>();
        let last = blocks(messages.last().unwrap_or(&Value::Null));
        let reply = match (tool_results(last), tools) {
            (Some(results), _) => Reply::Text(reply_text(settings, &results)),
            (None, Some(name)) => Reply::ToolUse {
                name,
                input: json!({"echo": block_text(last)}),
            },
            (None, None) => Reply::Text(reply_text(settings, &block_text(last))),
        };
        let (reply, ending) = match reply {
            Reply::Text(text) => {
                let (text, ending) = limit_reply(text, max_tokens, &stops);
                (Reply::Text(text), ending)
            }
            tool_use => (tool_use, Ending::Complete),
        };
        Ok(Self {
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

    fn output_tokens(&self) -> u64 {
        match &self.reply {
            Reply::Text(text) => count_words(text),
            Reply::ToolUse { input, .. } => count_words(&input.to_string()),
        }
    }

    fn usage(&self) -> Value {
        let output = self.output_tokens();
        json!({
            "inputTokens": self.input_tokens,
            "outputTokens": output,
            "totalTokens": self.input_tokens + output,
        })
    }

    fn answer(&self) -> Value {
        let block = match &self.reply {
            Reply::Text(text) => json!({"text": text}),
            Reply::ToolUse { name, input } => {
                json!({"toolUse": {"toolUseId": "tooluse_mock_1", "name": name, "input": input}})
            }
        };
        json!({
            "output": {"message": {"role": "assistant", "content": [block]}},
            "stopReason": self.stop_reason(),
            "usage": self.usage(),
            "metrics": {"latencyMs": 1},
        })
    }

    fn stream(
        &self,
        fields: &Map<String, Value>,
        settings: AnswerSettings<'_>,
    ) -> StreamPlan<Bytes> {
        let mut head = vec![event("messageStart", &json!({"role": "assistant"}))];
        let mut body = Vec::new();
        match &self.reply {
            Reply::Text(text) => {
                for piece in split_reply(text, settings.chunks) {
                    body.push(event(
                        "contentBlockDelta",
                        &json!({"contentBlockIndex": 0, "delta": {"text": piece}}),
                    ));
                }
            }
            Reply::ToolUse { name, input } => {
                head.push(event(
                    "contentBlockStart",
                    &json!({"contentBlockIndex": 0, "start": {"toolUse": {
                        "toolUseId": "tooluse_mock_1", "name": name}}}),
                ));
                let input = input.to_string();
                let middle = input.len() / 2;
                let cut = (middle..input.len())
                    .find(|at| input.is_char_boundary(*at))
                    .unwrap_or(input.len());
                for piece in [&input[..cut], &input[cut..]] {
                    body.push(event(
                        "contentBlockDelta",
                        &json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}}),
                    ));
                }
            }
        }
        let exception = fields
            .get("additionalModelRequestFields")
            .and_then(|extra| extra.get("mock_exception"))
            .and_then(Value::as_str);
        let tail = match exception {
            Some(message) => vec![exception_frame("throttlingException", message)],
            None => vec![
                event("contentBlockStop", &json!({"contentBlockIndex": 0})),
                event("messageStop", &json!({"stopReason": self.stop_reason()})),
                event(
                    "metadata",
                    &json!({"usage": self.usage(), "metrics": {"latencyMs": 1}}),
                ),
            ],
        };
        StreamPlan { head, body, tail }
    }
}

/// The tool the reply calls, if `toolConfig` offers tools.
fn read_tools(config: Option<&Value>) -> Result<Option<String>, Refusal> {
    let Some(config) = config else {
        return Ok(None);
    };
    let tools = config
        .get("tools")
        .and_then(Value::as_array)
        .filter(|tools| !tools.is_empty())
        .ok_or_else(|| invalid("toolConfig.tools: at least one tool is required"))?;
    let mut names = Vec::new();
    for (index, tool) in tools.iter().enumerate() {
        let spec = tool
            .get("toolSpec")
            .ok_or_else(|| invalid(format!("toolConfig.tools.{index}: needs a toolSpec")))?;
        let name = spec.get("name").and_then(Value::as_str);
        let schema = spec
            .pointer("/inputSchema/json")
            .is_some_and(Value::is_object);
        match name {
            Some(name) if schema => names.push(name.to_owned()),
            _ => {
                return Err(invalid(format!(
                    "toolConfig.tools.{index}.toolSpec: needs a name and inputSchema.json"
                )));
            }
        }
    }
    let chosen = match config.get("toolChoice") {
        None => None,
        Some(choice) if choice.get("auto").is_some() || choice.get("any").is_some() => None,
        Some(choice) => {
            let name = choice
                .pointer("/tool/name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("toolConfig.toolChoice: must be auto, any or tool"))?;
            if !names.iter().any(|known| known == name) {
                return Err(invalid(format!(
                    "toolConfig.toolChoice.tool.name: {name} is not a tool of toolConfig.tools"
                )));
            }
            Some(name.to_owned())
        }
    };
    Ok(chosen.or_else(|| names.into_iter().next()))
}

/// One event-stream message with `headers` and a JSON `payload`.
fn frame(headers: Vec<Header>, payload: &Value) -> Bytes {
    let message = Message::new_from_parts(headers, wire::to_json(payload));
    let mut out = Vec::new();
    match write_message_to(&message, &mut out) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::from_static(MALFORMED_FRAME),
    }
}

fn text_header(name: &'static str, value: &str) -> Header {
    Header::new(name, FrameValue::String(value.to_owned().into()))
}

/// A ConverseStream event `name` with `payload`.
fn event(name: &str, payload: &Value) -> Bytes {
    frame(
        vec![
            text_header(":event-type", name),
            text_header(":content-type", "application/json"),
            text_header(":message-type", "event"),
        ],
        payload,
    )
}

/// An exception of `kind` in the stream, as Bedrock sends one mid-stream.
fn exception_frame(kind: &str, message: &str) -> Bytes {
    frame(
        vec![
            text_header(":exception-type", kind),
            text_header(":content-type", "application/json"),
            text_header(":message-type", "exception"),
        ],
        &json!({"message": message}),
    )
}

/// `InvokeModel` for the Titan and Cohere embedding models.
fn invoke(path: &str, fields: &Map<String, Value>) -> Result<WireAnswer, Refusal> {
    if path.contains("titan-embed") {
        if let Some(field) = unknown_field(
            fields,
            &["inputText", "dimensions", "normalize", "embeddingTypes"],
        ) {
            return Err(invalid(format!(
                "Malformed input request: extraneous key [{field}] is not permitted"
            )));
        }
        let text = fields
            .get("inputText")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid("Malformed input request: required key [inputText] not found")
            })?;
        let dimensions = fields
            .get("dimensions")
            .and_then(Value::as_u64)
            .unwrap_or(8);
        let dimensions = u32::try_from(dimensions).unwrap_or(8);
        let answer = json!({
            "embedding": unit_vector(text, dimensions),
            "inputTextTokenCount": count_words(text),
        });
        return Ok(WireAnswer::Json(wire::to_json(&answer)));
    }
    if path.contains("cohere.embed") {
        if let Some(field) = unknown_field(
            fields,
            &["texts", "input_type", "truncate", "embedding_types"],
        ) {
            return Err(invalid(format!(
                "Malformed input request: extraneous key [{field}] is not permitted"
            )));
        }
        if fields.get("input_type").and_then(Value::as_str).is_none() {
            return Err(invalid(
                "Malformed input request: required key [input_type] not found",
            ));
        }
        let texts: Vec<String> = fields
            .get("texts")
            .and_then(|texts| serde_json::from_value(texts.clone()).ok())
            .ok_or_else(|| invalid("Malformed input request: texts must be a list of strings"))?;
        let vectors: Vec<Vec<f32>> = texts.iter().map(|text| unit_vector(text, 8)).collect();
        let answer = json!({
            "id": "mock-embed",
            "embeddings": vectors,
            "texts": texts,
            "response_type": "embeddings_floats",
        });
        return Ok(WireAnswer::Json(wire::to_json(&answer)));
    }
    Err(invalid(
        "The provided model identifier is not an embedding model this mock serves",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};

    use super::*;

    fn decode(frame: Bytes) -> Message {
        let mut buffer = frame;
        match MessageFrameDecoder::new()
            .decode_frame(&mut buffer)
            .unwrap()
        {
            DecodedFrame::Complete(message) => message,
            DecodedFrame::Incomplete => panic!("incomplete frame"),
        }
    }

    fn header(message: &Message, name: &str) -> String {
        let header = message.headers().iter().find(|h| h.name().as_str() == name);
        header
            .unwrap()
            .value()
            .as_string()
            .unwrap()
            .as_str()
            .to_owned()
    }

    #[test]
    fn events_and_exceptions_are_real_event_stream_frames() {
        let message = decode(event("messageStop", &json!({"stopReason": "end_turn"})));
        assert_eq!(header(&message, ":message-type"), "event");
        assert_eq!(header(&message, ":event-type"), "messageStop");
        assert_eq!(message.payload().as_ref(), br#"{"stopReason":"end_turn"}"#);
        let message = decode(exception_frame("throttlingException", "slow down"));
        assert_eq!(header(&message, ":message-type"), "exception");
        assert_eq!(header(&message, ":exception-type"), "throttlingException");
    }

    #[test]
    fn the_malformed_frame_does_not_decode() {
        let mut buffer = Bytes::from_static(MALFORMED_FRAME);
        assert!(
            MessageFrameDecoder::new()
                .decode_frame(&mut buffer)
                .is_err()
        );
    }

    #[test]
    fn paths_name_the_action() {
        assert_eq!(action("/model/m%3A0/converse"), Some(Action::Converse));
        assert_eq!(
            action("/model/m/converse-stream"),
            Some(Action::ConverseStream)
        );
        assert_eq!(action("/model/m/invoke"), Some(Action::Invoke));
        assert_eq!(action("/v1/chat/completions"), None);
    }
}
