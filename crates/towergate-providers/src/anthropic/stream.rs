//! Anthropic's stream events as OpenAI chat chunks.
//!
//! | Anthropic event | chunks |
//! |---|---|
//! | `message_start` | the role chunk (id, model and prompt tokens noted) |
//! | `content_block_start` `tool_use` | a tool call's first fragment (index, id, name) |
//! | `content_block_delta` `text_delta` | content |
//! | `content_block_delta` `input_json_delta` | the tool call's arguments |
//! | `message_delta` | nothing yet (stop reason and output tokens noted) |
//! | `message_stop` | the finish chunk, then the usage chunk; the stream ends |
//! | `ping`, `content_block_stop`, thinking deltas, unknown events | nothing |
//! | `error` | the provider's error, with the status its type stands for |
//!
//! A body that ends before `message_stop` ends the stream with a 502.

use std::collections::{HashMap, VecDeque};

use eventsource_stream::Event;
use http::StatusCode;
use serde::Deserialize;
use towergate_core::{GatewayError, chat::ChatChunk};

use super::decode::{AnthropicUsage, finish_reason};
use crate::{chunks::ChunkMaker, sse::Translate, upstream::unix_now};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent {
    MessageStart {
        message: StartedMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartedBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<AnthropicUsage>,
    },
    MessageStop,
    Error {
        error: StreamError,
    },
    /// `ping`, `content_block_stop`, and events added later.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct StartedMessage {
    id: String,
    model: String,
    #[serde(default)]
    usage: AnthropicUsage,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartedBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct MessageDelta {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StreamError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// The status an Anthropic error type stands for.
fn error_status(kind: &str) -> StatusCode {
    let code = match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "overloaded_error" => 529,
        _ => 502,
    };
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY)
}

/// The state of one Anthropic stream.
#[derive(Debug, Default)]
pub(super) struct AnthropicStream {
    /// Set by `message_start`.
    maker: Option<ChunkMaker>,
    /// Anthropic's block index to OpenAI's tool call index.
    tool_calls: HashMap<u32, u32>,
    stop_reason: Option<String>,
    usage: AnthropicUsage,
    stopped: bool,
}

impl AnthropicStream {
    fn maker(&self, host: &str) -> Result<&ChunkMaker, GatewayError> {
        self.maker.as_ref().ok_or_else(|| {
            GatewayError::bad_gateway(format!(
                "upstream `{host}` sent a content event before `message_start`"
            ))
        })
    }
}

impl Translate for AnthropicStream {
    type Chunk = ChatChunk;

    fn event(
        &mut self,
        event: &Event,
        host: &str,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool, GatewayError> {
        let parsed: StreamEvent = serde_json::from_str(&event.data).map_err(|error| {
            GatewayError::bad_gateway(format!(
                "upstream `{host}` sent a stream event that is not an Anthropic event: {error}"
            ))
        })?;
        match parsed {
            StreamEvent::MessageStart { message } => {
                let maker = ChunkMaker::new(message.id, message.model, unix_now());
                out.push_back(maker.role());
                self.maker = Some(maker);
                self.usage.update(&message.usage);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                StartedBlock::Text { text } if !text.is_empty() => {
                    out.push_back(self.maker(host)?.content(text));
                }
                StartedBlock::ToolUse { id, name } => {
                    let call = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
                    self.tool_calls.insert(index, call);
                    out.push_back(self.maker(host)?.tool_call_start(call, id, name, ""));
                }
                StartedBlock::Text { .. } | StartedBlock::Other => {}
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => out.push_back(self.maker(host)?.content(text)),
                BlockDelta::InputJsonDelta { partial_json } => {
                    let call = self.tool_calls.get(&index).copied().ok_or_else(|| {
                        GatewayError::bad_gateway(format!(
                            "upstream `{host}` sent tool input for block {index}, which is not a tool_use block"
                        ))
                    })?;
                    out.push_back(self.maker(host)?.tool_call_arguments(call, partial_json));
                }
                BlockDelta::Other => {}
            },
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                if let Some(usage) = usage {
                    self.usage.update(&usage);
                }
            }
            StreamEvent::MessageStop => {
                self.stopped = true;
                return Ok(true);
            }
            StreamEvent::Error { error } => {
                return Err(GatewayError::upstream(
                    error_status(&error.kind),
                    error.message,
                ));
            }
            StreamEvent::Other => {}
        }
        Ok(false)
    }

    fn end(&mut self, host: &str, out: &mut VecDeque<ChatChunk>) -> Result<(), GatewayError> {
        if !self.stopped {
            return Err(GatewayError::bad_gateway(format!(
                "upstream `{host}` stream ended before message_stop"
            )));
        }
        let maker = self.maker(host)?;
        out.push_back(maker.finish(finish_reason(self.stop_reason.as_deref())));
        out.push_back(maker.usage(self.usage.to_usage()));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn translate(text: &'static str) -> Vec<Result<ChatChunk, GatewayError>> {
        crate::sse::translate_text(text, "api.anthropic.com", AnthropicStream::default()).await
    }

    const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n";

    #[tokio::test]
    async fn an_error_event_keeps_its_message_and_the_status_of_its_type() {
        let text = Box::leak(
            format!(
                "{START}event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}\n\n"
            )
            .into_boxed_str(),
        );
        let items = translate(text).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.status().as_u16(), 529);
        assert_eq!(error.message(), "Overloaded");
    }

    #[tokio::test]
    async fn a_stream_cut_before_message_stop_is_a_bad_gateway() {
        let items = translate(Box::leak(
            format!("{START}event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"Hi\"}}}}\n\n")
                .into_boxed_str(),
        ))
        .await;
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1].as_ref().unwrap().choices[0]
                .delta
                .content
                .as_deref(),
            Some("Hi")
        );
        let error = items[2].as_ref().unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
        assert!(
            error.message().contains("before message_stop"),
            "{}",
            error.message()
        );
    }

    #[tokio::test]
    async fn thinking_and_unknown_events_are_skipped() {
        let items = translate(Box::leak(
            format!(
                "{START}event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"thinking\",\"thinking\":\"\"}}}}\n\n\
                 event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}}}\n\n\
                 event: future_event\ndata: {{\"type\":\"future_event\"}}\n\n\
                 event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"max_tokens\"}},\"usage\":{{\"output_tokens\":9}}}}\n\n\
                 event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
            )
            .into_boxed_str(),
        ))
        .await;
        let chunks: Vec<ChatChunk> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks[1].choices[0].finish_reason.as_deref(),
            Some("length")
        );
        let usage = chunks[2].usage.as_ref().unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (7, 9));
    }
}
