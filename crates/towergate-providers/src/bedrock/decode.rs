//! A Converse answer as OpenAI's chat completion.

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use towergate_core::{
    Extra, GatewayError, GatewayResponse, Payload, ResponseMeta, Usage,
    chat::{ChatChoice, ChatMessage, ChatResponse, FunctionCall, Role, ToolCall},
};

use crate::upstream::{parse_json, unix_now};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseAnswer {
    output: Output,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<BedrockUsage>,
}

#[derive(Debug, Deserialize)]
struct Output {
    message: OutputMessage,
}

#[derive(Debug, Deserialize)]
struct OutputMessage {
    #[serde(default)]
    content: Vec<Block>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Block {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolUse>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse {
    tool_use_id: String,
    name: String,
    #[serde(default)]
    input: Value,
}

/// Bedrock's token counts.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BedrockUsage {
    #[serde(default)]
    pub(super) input_tokens: u64,
    #[serde(default)]
    pub(super) output_tokens: u64,
}

impl BedrockUsage {
    pub(super) fn to_usage(&self) -> Usage {
        Usage::new(self.input_tokens, self.output_tokens)
    }
}

/// OpenAI's `finish_reason` for Bedrock's `stopReason`.
pub(super) fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("content_filtered" | "guardrail_intervened") => "content_filter",
        _ => "stop",
    }
}

/// An id for an answer, since Converse gives none.
pub(super) fn answer_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("chatcmpl-bedrock-{nanos:x}")
}

/// Parses a successful Converse body into a chat completion.
pub(super) fn decode(
    status: StatusCode,
    body: &[u8],
    host: &str,
    model: &str,
) -> Result<GatewayResponse, GatewayError> {
    let answer: ConverseAnswer = parse_json(body, host, status, "a Bedrock Converse answer")?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in answer.output.message.content {
        if let Some(piece) = block.text {
            text.push_str(&piece);
        }
        if let Some(call) = block.tool_use {
            calls.push(ToolCall {
                id: call.tool_use_id,
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: call.name,
                    arguments: call.input.to_string(),
                },
            });
        }
    }
    let mut reply = ChatMessage::text(Role::Assistant, text);
    if !calls.is_empty() {
        if reply.text_content().is_some_and(|text| text.is_empty()) {
            reply.content = None;
        }
        reply.tool_calls = Some(calls);
    }
    let usage = answer.usage.map(|usage| usage.to_usage());
    let chat = ChatResponse {
        id: answer_id(),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: vec![ChatChoice {
            index: 0,
            message: reply,
            finish_reason: Some(finish_reason(answer.stop_reason.as_deref()).to_owned()),
            logprobs: None,
        }],
        usage: usage.clone(),
        system_fingerprint: None,
        extra: Extra::new(),
    };
    Ok(GatewayResponse {
        payload: Payload::Chat(chat),
        meta: ResponseMeta {
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
    fn stop_reasons_map_to_openai() {
        assert_eq!(finish_reason(Some("end_turn")), "stop");
        assert_eq!(finish_reason(Some("stop_sequence")), "stop");
        assert_eq!(finish_reason(Some("max_tokens")), "length");
        assert_eq!(finish_reason(Some("tool_use")), "tool_calls");
        assert_eq!(finish_reason(Some("content_filtered")), "content_filter");
    }

    #[test]
    fn a_body_that_is_not_an_answer_names_the_host() {
        let error = decode(StatusCode::OK, b"{}", "bedrock.example", "m").unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
        assert!(error.message().contains("bedrock.example"));
    }
}
