//! Mistral's stream as OpenAI chat chunks.
//!
//! Mistral streams OpenAI's chunks, ending with `data: [DONE]`, but reports
//! usage inside the chunk that carries the finish reason; that chunk is
//! split in two here, so the stream ends as OpenAI's does: the finish
//! chunk, then a usage chunk with no choices. A body that ends before
//! `[DONE]` ends the stream with a 502.

use std::collections::VecDeque;

use eventsource_stream::Event;
use serde_json::Value;
use towergate_core::{GatewayError, chat::ChatChunk};

use super::decode;
use crate::{error, sse::Translate};

/// The state of one Mistral stream.
#[derive(Debug, Default)]
pub(super) struct MistralStream {
    done: bool,
}

impl Translate for MistralStream {
    type Chunk = ChatChunk;

    fn event(
        &mut self,
        event: &Event,
        host: &str,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<bool, GatewayError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(true);
        }
        if let Some(error) = stream_error(data) {
            return Err(error);
        }
        let mut chunk = decode::chunk(data, host)?;
        match chunk.usage.take() {
            Some(usage) if !chunk.choices.is_empty() => {
                let usage_chunk = ChatChunk {
                    choices: Vec::new(),
                    usage: Some(usage),
                    ..chunk.clone()
                };
                out.push_back(chunk);
                out.push_back(usage_chunk);
            }
            usage => {
                chunk.usage = usage;
                out.push_back(chunk);
            }
        }
        Ok(false)
    }

    fn end(&mut self, host: &str, _out: &mut VecDeque<ChatChunk>) -> Result<(), GatewayError> {
        if self.done {
            Ok(())
        } else {
            Err(GatewayError::bad_gateway(format!(
                "upstream `{host}` stream ended before [DONE]"
            )))
        }
    }
}

/// The upstream's error, when an event carries one instead of a chunk.
fn stream_error(data: &str) -> Option<GatewayError> {
    let value: Value = serde_json::from_str(data).ok()?;
    if value.get("error").is_some() {
        return error::from_stream_event(data);
    }
    if value.get("object").and_then(Value::as_str) == Some("error") {
        let message = match value.get("message") {
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => "the upstream reported an error mid-stream".to_owned(),
        };
        return Some(GatewayError::bad_gateway(message));
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn translate(text: &'static str) -> Vec<Result<ChatChunk, GatewayError>> {
        crate::sse::translate_text(text, "h", MistralStream::default()).await
    }

    #[tokio::test]
    async fn usage_in_the_finish_chunk_becomes_its_own_last_chunk() {
        let items = translate(
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n\
             data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1,\"total_tokens\":3}}\n\n\
             data: [DONE]\n\n",
        )
        .await;
        let chunks: Vec<ChatChunk> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[1].choices[0].finish_reason.as_deref(), Some("stop"));
        assert!(chunks[1].usage.is_none());
        assert!(chunks[2].choices.is_empty());
        assert_eq!(chunks[2].usage.as_ref().unwrap().total_tokens, 3);
    }

    #[tokio::test]
    async fn an_error_event_ends_the_stream_with_its_message() {
        let items = translate("data: {\"object\":\"error\",\"message\":\"Service tier capacity exceeded\",\"type\":\"service_tier_capacity_exceeded\"}\n\n").await;
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].as_ref().unwrap_err().message(),
            "Service tier capacity exceeded"
        );
    }
}
