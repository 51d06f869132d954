//! Cohere's v2 answers as OpenAI's chat completion and embeddings.

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use towergate_core::{
    Extra, GatewayError, GatewayResponse, Payload, ResponseMeta, Usage,
    chat::{ChatChoice, ChatMessage, ChatResponse, FunctionCall, Role, ToolCall},
    embeddings::{Embedding, EmbeddingsResponse, Vector},
};

use crate::upstream::{base64_floats, parse_json, unix_now};

/// OpenAI's `finish_reason` for Cohere's.
pub(super) fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS" | "TIMEOUT" | "ERROR_LIMIT") => "length",
        Some("TOOL_CALL") => "tool_calls",
        Some("ERROR_TOXIC") => "content_filter",
        _ => "stop",
    }
}

/// Cohere's usage: `billed_units` (what is paid for) when given, else
/// `tokens` (which also count the preamble Cohere adds).
#[derive(Debug, Default, Deserialize)]
pub(super) struct CohereUsage {
    #[serde(default)]
    billed_units: Option<Units>,
    #[serde(default)]
    tokens: Option<Units>,
}

#[derive(Debug, Default, Deserialize)]
struct Units {
    #[serde(default)]
    input_tokens: Option<f64>,
    #[serde(default)]
    output_tokens: Option<f64>,
}

impl Units {
    fn is_empty(&self) -> bool {
        self.input_tokens.is_none() && self.output_tokens.is_none()
    }

    fn to_usage(&self) -> Usage {
        // Counts come as JSON numbers; negative or fractional ones are not expected.
        let count = |n: Option<f64>| n.map_or(0, |n| n.max(0.0).round() as u64);
        Usage::new(count(self.input_tokens), count(self.output_tokens))
    }
}

impl CohereUsage {
    pub(super) fn to_usage(&self) -> Option<Usage> {
        [&self.billed_units, &self.tokens]
            .into_iter()
            .flatten()
            .find(|units| !units.is_empty())
            .map(Units::to_usage)
    }
}

#[derive(Debug, Deserialize)]
struct ChatV2Response {
    id: String,
    #[serde(default)]
    finish_reason: Option<String>,
    message: ResponseMessage,
    #[serde(default)]
    usage: Option<CohereUsage>,
}

#[derive(Debug, Deserialize)]
struct ResponseMessage {
    #[serde(default)]
    content: Vec<ContentBlock>,
    #[serde(default)]
    tool_calls: Vec<CohereToolCall>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    /// Thinking, and blocks added later: not part of OpenAI's answer.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct CohereToolCall {
    id: String,
    function: CohereFunctionCall,
}

#[derive(Debug, Deserialize)]
struct CohereFunctionCall {
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// Tool call arguments as JSON text, whether they came as text or as an object.
pub(super) fn arguments_text(arguments: Value) -> String {
    match arguments {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A chat completion from a successful `/v2/chat` body.
pub(super) fn chat(
    status: StatusCode,
    body: &[u8],
    host: &str,
    model: &str,
) -> Result<GatewayResponse, GatewayError> {
    let answer: ChatV2Response = parse_json(body, host, status, "a Cohere chat answer")?;
    let text: String = answer
        .message
        .content
        .into_iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } => Some(text),
            ContentBlock::Other => None,
        })
        .collect();
    let calls: Vec<ToolCall> = answer
        .message
        .tool_calls
        .into_iter()
        .map(|call| ToolCall {
            id: call.id,
            kind: "function".to_owned(),
            function: FunctionCall {
                name: call.function.name,
                arguments: arguments_text(call.function.arguments),
            },
        })
        .collect();
    let mut reply = ChatMessage::text(Role::Assistant, text);
    if !calls.is_empty() {
        if reply.text_content().is_some_and(|text| text.is_empty()) {
            reply.content = None;
        }
        reply.tool_calls = Some(calls);
    }
    let usage = answer.usage.as_ref().and_then(CohereUsage::to_usage);
    let chat = ChatResponse {
        id: answer.id,
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: vec![ChatChoice {
            index: 0,
            message: reply,
            finish_reason: Some(finish_reason(answer.finish_reason.as_deref()).to_owned()),
            logprobs: None,
        }],
        usage: usage.clone(),
        system_fingerprint: None,
        extra: Extra::new(),
    };
    Ok(GatewayResponse {
        payload: Payload::Chat(chat),
        meta: ResponseMeta {
            model: Some(model.to_owned()),
            usage,
            ..ResponseMeta::default()
        },
    })
}

#[derive(Debug, Deserialize)]
struct EmbedResponse {
    /// `{"float": [[…]]}` (embeddings by type), or `[[…]]` (floats only).
    embeddings: Value,
    #[serde(default)]
    meta: Option<EmbedMeta>,
}

#[derive(Debug, Deserialize)]
struct EmbedMeta {
    #[serde(default)]
    billed_units: Option<Units>,
}

/// Embeddings from a successful `/v2/embed` body, as floats or as OpenAI's
/// base64 of little-endian `f32`s.
pub(super) fn embeddings(
    status: StatusCode,
    body: &[u8],
    host: &str,
    model: &str,
    base64: bool,
) -> Result<GatewayResponse, GatewayError> {
    let answer: EmbedResponse = parse_json(body, host, status, "a Cohere embed answer")?;
    let floats = match &answer.embeddings {
        Value::Object(by_type) => by_type.get("float").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let vectors: Vec<Vec<f32>> = serde_json::from_value(floats).map_err(|error| {
        GatewayError::bad_gateway(format!(
            "upstream `{host}` answered {status} but its body has no float embeddings: {error}"
        ))
    })?;
    let usage = answer
        .meta
        .and_then(|meta| meta.billed_units)
        .map(|units| units.to_usage());
    let data = (0u32..)
        .zip(vectors)
        .map(|(index, vector)| Embedding {
            object: "embedding".to_owned(),
            index,
            embedding: if base64 {
                Vector::Base64(base64_floats(&vector))
            } else {
                Vector::Float(vector)
            },
        })
        .collect();
    Ok(GatewayResponse {
        payload: Payload::Embeddings(EmbeddingsResponse {
            object: "list".to_owned(),
            data,
            model: model.to_owned(),
            usage: usage.clone(),
            extra: Extra::new(),
        }),
        meta: ResponseMeta {
            model: Some(model.to_owned()),
            usage,
            ..ResponseMeta::default()
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn billed_units_win_over_tokens_which_stand_in_when_alone() {
        let both: CohereUsage = serde_json::from_str(
            r#"{"billed_units":{"input_tokens":5,"output_tokens":7},"tokens":{"input_tokens":70,"output_tokens":7}}"#,
        )
        .unwrap();
        assert_eq!(both.to_usage(), Some(Usage::new(5, 7)));
        let tokens: CohereUsage = serde_json::from_str(
            r#"{"billed_units":{},"tokens":{"input_tokens":70,"output_tokens":7}}"#,
        )
        .unwrap();
        assert_eq!(tokens.to_usage(), Some(Usage::new(70, 7)));
        assert_eq!(CohereUsage::default().to_usage(), None);
    }

    #[test]
    fn base64_embeddings_are_little_endian_f32s() {
        let body = br#"{"id":"e","embeddings":{"float":[[1.0,-2.0]]},"texts":["a"],"meta":{"billed_units":{"input_tokens":1}}}"#;
        let response = embeddings(StatusCode::OK, body, "h", "embed", true).unwrap();
        let Payload::Embeddings(answer) = response.payload else {
            panic!("not embeddings")
        };
        let Vector::Base64(text) = &answer.data[0].embedding else {
            panic!("not base64")
        };
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert_eq!(bytes[..4], 1.0f32.to_le_bytes());
        assert_eq!(bytes[4..], (-2.0f32).to_le_bytes());
        assert_eq!(answer.usage.map(|u| u.prompt_tokens), Some(1));
    }
}
