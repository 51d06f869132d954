//! Cohere's v2 stream events as OpenAI chat chunks.
//!
//! | Cohere event | chunks |
//! |---|---|
//! | `message-start` | the role chunk (the answer's id noted) |
//! | `content-delta` | content (`delta.message.content.text`) |
//! | `tool-call-start` | a tool call's first fragment (index, id, name, arguments so far) |
//! | `tool-call-delta` | the tool call's arguments |
//! | `message-end` | the finish chunk, then the usage chunk (`delta.usage`); the stream ends |
//! | `content-start`, `content-end`, `tool-plan-delta`, `tool-call-end`, citations, unknown events | nothing |
//!
//! A `message-end` whose `delta.error` says what failed ends the stream
//! with that message (502); a body that ends before `message-end` ends the
//! stream with a 502.

use std::collections::{HashMap, VecDeque};

use eventsource_stream::Event;
use serde::Deserialize;
use serde_json::Value;
use towergate_core::{GatewayError, chat::ChatChunk};

use super::decode::{CohereUsage, arguments_text, finish_reason};
use crate::{chunks::ChunkMaker, sse::Translate, upstream::unix_now};

/// The state of one Cohere stream.
#[derive(Debug)]
pub(super) struct CohereStream {
    model: String,
    maker: Option<ChunkMaker>,
    /// Cohere's tool call index to OpenAI's.
    tool_calls: HashMap<u64, u32>,
    ended: bool,
}

impl CohereStream {
    /// A stream of an answer from `model` (Cohere's events do not name it).
    pub(super) fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            maker: None,
            tool_calls: HashMap::new(),
            ended: false,
        }
    }

    /// The chunk maker; an answer whose first event is not `message-start`
    /// gets one with no id.
    fn maker(&mut self) -> &ChunkMaker {
        let model = &self.model;
        self.maker
            .get_or_insert_with(|| ChunkMaker::new("", model.clone(), unix_now()))
    }

    fn tool_index(&mut self, cohere: u64) -> u32 {
        let next = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
        *self.tool_calls.entry(cohere).or_insert(next)
    }
}

#[derive(Debug, Deserialize)]
struct MessageEnd {
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    usage: Option<CohereUsage>,
    #[serde(default)]
    error: Option<String>,
}

impl Translate for CohereStream {
    type Chunk = ChatChunk;

    fn event(
        &mut self,
        event: &Event,
        host: &str,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool, GatewayError> {
        let data: Value = serde_json::from_str(&event.data).map_err(|error| {
            GatewayError::bad_gateway(format!(
                "upstream `{host}` sent a stream event that is not a Cohere event: {error}"
            ))
        })?;
        let text = |pointer: &str| data.pointer(pointer).and_then(Value::as_str);
        let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
        match data.get("type").and_then(Value::as_str).unwrap_or("") {
            "message-start" => {
                let id = data.get("id").and_then(Value::as_str).unwrap_or("");
                let maker = ChunkMaker::new(id, self.model.clone(), unix_now());
                out.push_back(maker.role());
                self.maker = Some(maker);
            }
            "content-delta" => {
                if let Some(piece) = text("/delta/message/content/text") {
                    let piece = piece.to_owned();
                    out.push_back(self.maker().content(piece));
                }
            }
            "tool-call-start" => {
                let call = data
                    .pointer("/delta/message/tool_calls")
                    .cloned()
                    .unwrap_or(Value::Null);
                let id = call
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let name = call
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let arguments = arguments_text(
                    call.pointer("/function/arguments")
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                let at = self.tool_index(index);
                out.push_back(self.maker().tool_call_start(at, id, name, arguments));
            }
            "tool-call-delta" => {
                if let Some(piece) = text("/delta/message/tool_calls/function/arguments") {
                    let piece = piece.to_owned();
                    let at = self.tool_index(index);
                    out.push_back(self.maker().tool_call_arguments(at, piece));
                }
            }
            "message-end" => {
                let end: MessageEnd = data
                    .get("delta")
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|error| {
                        GatewayError::bad_gateway(format!(
                            "upstream `{host}` sent a message-end event Cohere would not: {error}"
                        ))
                    })?
                    .unwrap_or(MessageEnd {
                        finish_reason: None,
                        usage: None,
                        error: None,
                    });
                if let Some(error) = end.error.filter(|error| !error.is_empty()) {
                    return Err(GatewayError::bad_gateway(error));
                }
                self.ended = true;
                let maker = self.maker().clone();
                out.push_back(maker.finish(finish_reason(end.finish_reason.as_deref())));
                if let Some(usage) = end.usage.as_ref().and_then(CohereUsage::to_usage) {
                    out.push_back(maker.usage(usage));
                }
                return Ok(true);
            }
            _ => {}
        }
        Ok(false)
    }

    fn end(&mut self, host: &str, _out: &mut VecDeque<ChatChunk>) -> Result<(), GatewayError> {
        if self.ended {
            Ok(())
        } else {
            Err(GatewayError::bad_gateway(format!(
                "upstream `{host}` stream ended before message-end"
            )))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn translate(text: &'static str) -> Vec<Result<ChatChunk, GatewayError>> {
        crate::sse::translate_text(text, "h", CohereStream::new("command-r")).await
    }

    #[tokio::test]
    async fn a_message_end_with_an_error_ends_with_its_message() {
        let items = translate(
            "data: {\"type\":\"message-start\",\"id\":\"x\"}\n\n\
             data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"error\":\"internal failure\"}}\n\n",
        )
        .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().message(), "internal failure");
    }

    #[tokio::test]
    async fn a_stream_cut_before_message_end_is_a_bad_gateway() {
        let items = translate(
            "data: {\"type\":\"message-start\",\"id\":\"x\"}\n\n\
             data: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\n",
        )
        .await;
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1].as_ref().unwrap().choices[0]
                .delta
                .content
                .as_deref(),
            Some("Hi")
        );
        assert!(
            items[2]
                .as_ref()
                .unwrap_err()
                .message()
                .contains("before message-end")
        );
    }
}
