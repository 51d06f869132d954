//! Building OpenAI-shaped chat chunks from a provider's own stream events.
//!
//! A translated stream sends, in order: a role chunk, content and tool-call
//! deltas, a finish chunk, and (when the provider reported usage) a usage
//! chunk with no choices. [`ChunkMaker`] holds what every chunk repeats.

#[cfg(any(feature = "anthropic", feature = "bedrock", feature = "cohere"))]
use towergate_core::chat::{FunctionCallDelta, ToolCallDelta};
use towergate_core::{
    Extra, Usage,
    chat::{ChatChunk, ChatDelta, ChunkChoice, Role},
};

/// Makes the chunks of one streamed answer (a single choice, index 0).
#[derive(Debug, Clone)]
pub(crate) struct ChunkMaker {
    pub(crate) id: String,
    pub(crate) model: String,
    pub(crate) created: u64,
}

impl ChunkMaker {
    /// Chunks of answer `id` from `model`, created at `created` (Unix seconds).
    pub(crate) fn new(id: impl Into<String>, model: impl Into<String>, created: u64) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            created,
        }
    }

    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            system_fingerprint: None,
            extra: Extra::new(),
        }
    }

    fn delta(&self, delta: ChatDelta, finish_reason: Option<String>) -> ChatChunk {
        self.chunk(
            vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
            }],
            None,
        )
    }

    /// The first chunk: the assistant's role and empty content.
    pub(crate) fn role(&self) -> ChatChunk {
        self.delta(
            ChatDelta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..ChatDelta::default()
            },
            None,
        )
    }

    /// A piece of the answer's text.
    pub(crate) fn content(&self, text: impl Into<String>) -> ChatChunk {
        self.delta(
            ChatDelta {
                content: Some(text.into()),
                ..ChatDelta::default()
            },
            None,
        )
    }

    /// The first fragment of tool call `index`: its id and function name.
    #[cfg(any(feature = "anthropic", feature = "bedrock", feature = "cohere"))]
    pub(crate) fn tool_call_start(
        &self,
        index: u32,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> ChatChunk {
        self.tool_call_delta(ToolCallDelta {
            index,
            id: Some(id.into()),
            kind: Some("function".to_owned()),
            function: Some(FunctionCallDelta {
                name: Some(name.into()),
                arguments: Some(arguments.into()),
            }),
        })
    }

    /// A further piece of tool call `index`'s JSON arguments.
    #[cfg(any(feature = "anthropic", feature = "bedrock", feature = "cohere"))]
    pub(crate) fn tool_call_arguments(
        &self,
        index: u32,
        arguments: impl Into<String>,
    ) -> ChatChunk {
        self.tool_call_delta(ToolCallDelta {
            index,
            id: None,
            kind: None,
            function: Some(FunctionCallDelta {
                name: None,
                arguments: Some(arguments.into()),
            }),
        })
    }

    #[cfg(any(feature = "anthropic", feature = "bedrock", feature = "cohere"))]
    fn tool_call_delta(&self, call: ToolCallDelta) -> ChatChunk {
        self.delta(
            ChatDelta {
                tool_calls: Some(vec![call]),
                ..ChatDelta::default()
            },
            None,
        )
    }

    /// The chunk that ends the choice with OpenAI's `finish_reason`.
    pub(crate) fn finish(&self, finish_reason: impl Into<String>) -> ChatChunk {
        self.delta(ChatDelta::default(), Some(finish_reason.into()))
    }

    /// The last chunk: usage, and no choices.
    pub(crate) fn usage(&self, usage: Usage) -> ChatChunk {
        self.chunk(Vec::new(), Some(usage))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chunks_have_openai_shape() {
        let maker = ChunkMaker::new("msg_1", "m", 7);
        let role = serde_json::to_value(maker.role()).unwrap();
        assert_eq!(role["object"], "chat.completion.chunk");
        assert_eq!(role["choices"][0]["delta"]["role"], "assistant");
        let usage = maker.usage(Usage::new(1, 2));
        assert!(usage.choices.is_empty());
        assert_eq!(usage.usage.map(|u| u.total_tokens), Some(3));
        assert_eq!(
            maker.finish("stop").choices[0].finish_reason.as_deref(),
            Some("stop")
        );
    }

    #[test]
    #[cfg(any(feature = "anthropic", feature = "bedrock", feature = "cohere"))]
    fn a_tool_call_starts_with_its_index_and_type() {
        let maker = ChunkMaker::new("msg_1", "m", 7);
        let call = serde_json::to_value(maker.tool_call_start(1, "t1", "f", "")).unwrap();
        assert_eq!(call["choices"][0]["delta"]["tool_calls"][0]["index"], 1);
        assert_eq!(
            call["choices"][0]["delta"]["tool_calls"][0]["type"],
            "function"
        );
    }
}
