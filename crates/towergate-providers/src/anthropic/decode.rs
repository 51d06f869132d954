//! Anthropic's message (the complete answer) as OpenAI's chat completion.

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use towergate_core::{
    Extra, GatewayError, GatewayResponse, Payload, ResponseMeta, Usage,
    chat::{ChatChoice, ChatMessage, ChatResponse, FunctionCall, Role, ToolCall},
    usage::PromptTokensDetails,
};

use crate::upstream::{parse_json, unix_now};

/// A message from `POST /v1/messages`.
#[derive(Debug, Deserialize)]
struct AnthropicMessage {
    id: String,
    model: String,
    content: Vec<ResponseBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    usage: AnthropicUsage,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ResponseBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// Thinking, redacted thinking, server tool blocks: not part of OpenAI's answer.
    #[serde(other)]
    Other,
}

/// Anthropic's token counts; `input_tokens` excludes the cached prompt.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct AnthropicUsage {
    #[serde(default)]
    pub(super) input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Counts `later` reports over these (a stream's `message_delta`).
    pub(super) fn update(&mut self, later: &AnthropicUsage) {
        let take = |mine: &mut Option<u64>, theirs: Option<u64>| {
            if theirs.is_some() {
                *mine = theirs;
            }
        };
        take(&mut self.input_tokens, later.input_tokens);
        take(&mut self.output_tokens, later.output_tokens);
        take(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        take(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
    }

    /// OpenAI's usage: the prompt counts cached and cache-writing tokens too.
    pub(super) fn to_usage(&self) -> Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let prompt =
            self.input_tokens.unwrap_or(0) + self.cache_creation_input_tokens.unwrap_or(0) + cached;
        let mut usage = Usage::new(prompt, self.output_tokens.unwrap_or(0));
        if cached > 0 {
            usage.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: Some(cached),
                ..PromptTokensDetails::default()
            });
        }
        usage
    }
}

/// OpenAI's `finish_reason` for Anthropic's `stop_reason`.
pub(super) fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Parses a successful body into a chat completion.
pub(super) fn decode(
    status: StatusCode,
    body: &[u8],
    host: &str,
) -> Result<GatewayResponse, GatewayError> {
    let message: AnthropicMessage = parse_json(body, host, status, "an Anthropic message")?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in message.content {
        match block {
            ResponseBlock::Text { text: piece } => text.push_str(&piece),
            ResponseBlock::ToolUse { id, name, input } => calls.push(ToolCall {
                id,
                kind: "function".to_owned(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            ResponseBlock::Other => {}
        }
    }
    let mut reply = ChatMessage::text(Role::Assistant, text);
    if !calls.is_empty() {
        if reply.text_content().is_some_and(|text| text.is_empty()) {
            reply.content = None;
        }
        reply.tool_calls = Some(calls);
    }
    let usage = message.usage.to_usage();
    let chat = ChatResponse {
        id: message.id,
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: message.model.clone(),
        choices: vec![ChatChoice {
            index: 0,
            message: reply,
            finish_reason: Some(finish_reason(message.stop_reason.as_deref()).to_owned()),
            logprobs: None,
        }],
        usage: Some(usage.clone()),
        system_fingerprint: None,
        extra: Extra::new(),
    };
    Ok(GatewayResponse {
        payload: Payload::Chat(chat),
        meta: ResponseMeta {
            model: Some(message.model),
            usage: Some(usage),
            ..ResponseMeta::default()
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cached_prompt_tokens_count_in_the_prompt() {
        let usage = AnthropicUsage {
            input_tokens: Some(10),
            output_tokens: Some(5),
            cache_creation_input_tokens: Some(20),
            cache_read_input_tokens: Some(100),
        }
        .to_usage();
        assert_eq!(usage.prompt_tokens, 130);
        assert_eq!(usage.total_tokens, 135);
        assert_eq!(
            usage.prompt_tokens_details.unwrap().cached_tokens,
            Some(100)
        );
    }

    #[test]
    fn thinking_blocks_are_left_out_and_tool_use_becomes_a_call() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x",
            "content":[{"type":"thinking","thinking":"hmm","signature":"s"},
                       {"type":"tool_use","id":"toolu_1","name":"w","input":{"city":"Oslo"}}],
            "stop_reason":"tool_use","stop_sequence":null,
            "usage":{"input_tokens":3,"output_tokens":4}}"#;
        let response = decode(StatusCode::OK, body, "h").unwrap();
        let Payload::Chat(chat) = response.payload else {
            panic!("not a chat answer")
        };
        let choice = &chat.choices[0];
        assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(choice.message.content, None);
        let call = &choice.message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.arguments, r#"{"city":"Oslo"}"#);
    }

    #[test]
    fn a_body_that_is_not_a_message_names_the_host() {
        let error = decode(StatusCode::OK, b"{\"id\":1}", "api.anthropic.com").unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
        assert!(
            error.message().contains("api.anthropic.com"),
            "{}",
            error.message()
        );
    }
}
