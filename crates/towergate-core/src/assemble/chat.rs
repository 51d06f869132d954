//! Chat completions: chunks to a complete answer and back.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Envelope, Gather, merge_logprobs};
use crate::Extra;
use crate::chat::{
    ChatChoice, ChatChunk, ChatDelta, ChatMessage, ChatResponse, ChunkChoice, FunctionCall,
    FunctionCallDelta, MessageContent, Role, ToolCall, ToolCallDelta,
};

impl ChatResponse {
    /// The complete answer a finished stream adds up to, or `None` when no
    /// chunk carries a choice.
    ///
    /// Each choice's text, refusal and tool-call arguments are concatenated,
    /// its last finish reason kept, its log-probability arrays joined; usage
    /// comes from the last chunk that has it.
    ///
    /// ```
    /// use towergate_core::chat::{ChatChunk, ChatResponse};
    /// let chunks: Vec<ChatChunk> = serde_json::from_value(serde_json::json!([
    ///     {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    ///      "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
    ///     {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
    ///      "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]}
    /// ])).unwrap();
    /// let answer = ChatResponse::from_chunks(&chunks).unwrap();
    /// assert_eq!(answer.object, "chat.completion");
    /// assert_eq!(answer.choices[0].message.text_content().as_deref(), Some("Hello"));
    /// assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    /// assert_eq!(ChatResponse::from_chunks(&[]), None);
    /// ```
    pub fn from_chunks(chunks: &[ChatChunk]) -> Option<ChatResponse> {
        ChoiceParts::assemble(chunks)
    }

    /// The answer as a stream: per choice, one chunk with the whole message,
    /// then per choice one chunk with its finish reason, then, when
    /// `include_usage` is set and the answer has usage, a chunk with no
    /// choices and that usage.
    ///
    /// A message's `name` and `tool_call_id` have no place in a delta and
    /// are left out; content parts are sent as their joined text.
    ///
    /// ```
    /// use towergate_core::chat::ChatResponse;
    /// let answer: ChatResponse = serde_json::from_value(serde_json::json!({
    ///     "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
    ///     "choices": [{"index": 0, "finish_reason": "stop",
    ///                  "message": {"role": "assistant", "content": "Hello"}}],
    ///     "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    /// })).unwrap();
    /// let chunks = answer.to_chunks(true);
    /// assert_eq!(chunks.len(), 3);
    /// assert_eq!(chunks[0].choices[0].delta.content.as_deref(), Some("Hello"));
    /// assert_eq!(chunks[1].choices[0].finish_reason.as_deref(), Some("stop"));
    /// assert!(chunks[2].choices.is_empty() && chunks[2].usage.is_some());
    /// assert_eq!(answer.to_chunks(false).len(), 2);
    /// ```
    pub fn to_chunks(&self, include_usage: bool) -> Vec<ChatChunk> {
        let messages = self.choices.iter().map(|choice| ChunkChoice {
            index: choice.index,
            delta: delta_of(&choice.message),
            finish_reason: None,
            logprobs: choice.logprobs.clone(),
        });
        let finishes = self.choices.iter().map(|choice| ChunkChoice {
            index: choice.index,
            delta: ChatDelta::default(),
            finish_reason: choice.finish_reason.clone(),
            logprobs: None,
        });
        self.split(messages.chain(finishes), include_usage)
    }
}

/// The whole of `message` as a single delta.
fn delta_of(message: &ChatMessage) -> ChatDelta {
    let tool_calls = message.tool_calls.as_ref().map(|calls| {
        (0u32..)
            .zip(calls)
            .map(|(index, call)| ToolCallDelta {
                index,
                id: Some(call.id.clone()),
                kind: Some(call.kind.clone()),
                function: Some(FunctionCallDelta {
                    name: Some(call.function.name.clone()),
                    arguments: Some(call.function.arguments.clone()),
                }),
            })
            .collect()
    });
    ChatDelta {
        role: Some(message.role),
        content: message.text_content(),
        tool_calls,
        refusal: message.refusal.clone(),
        extra: message.extra.clone(),
    }
}

/// One choice, as gathered from its deltas so far.
#[derive(Default)]
struct ChoiceParts {
    role: Option<Role>,
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<BTreeMap<u32, ToolCallParts>>,
    finish_reason: Option<String>,
    logprobs: Extra,
    extra: Extra,
}

impl Gather for ChoiceParts {
    type Part = ChunkChoice;
    type Whole = ChatChoice;

    fn index(choice: &ChunkChoice) -> u32 {
        choice.index
    }

    fn add(&mut self, choice: &ChunkChoice) {
        let delta = &choice.delta;
        self.role = self.role.or(delta.role);
        append(&mut self.content, delta.content.as_deref());
        append(&mut self.refusal, delta.refusal.as_deref());
        if let Some(calls) = &delta.tool_calls {
            let parts = self.tool_calls.get_or_insert_default();
            for call in calls {
                parts.entry(call.index).or_default().add(call);
            }
        }
        if choice.finish_reason.is_some() {
            self.finish_reason.clone_from(&choice.finish_reason);
        }
        if let Some(Value::Object(logprobs)) = &choice.logprobs {
            merge_logprobs(&mut self.logprobs, logprobs);
        }
        for (key, value) in &delta.extra {
            self.extra.insert(key.clone(), value.clone());
        }
    }

    fn finish(self, index: u32) -> ChatChoice {
        let tool_calls = self
            .tool_calls
            .map(|calls| calls.into_values().map(ToolCallParts::finish).collect());
        let has_logprobs = self.logprobs.values().any(Value::is_array);
        let message = ChatMessage {
            role: self.role.unwrap_or(Role::Assistant),
            content: self.content.map(MessageContent::Text),
            name: None,
            tool_calls,
            tool_call_id: None,
            refusal: self.refusal,
            extra: self.extra,
        };
        ChatChoice {
            index,
            message,
            finish_reason: self.finish_reason,
            logprobs: has_logprobs.then_some(Value::Object(self.logprobs)),
        }
    }
}

/// Appends `piece` to `text`, which becomes `Some` on its first piece.
fn append(text: &mut Option<String>, piece: Option<&str>) {
    if let Some(piece) = piece {
        text.get_or_insert_default().push_str(piece);
    }
}

/// One tool call, as gathered from its fragments so far.
#[derive(Default)]
struct ToolCallParts {
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl ToolCallParts {
    fn add(&mut self, call: &ToolCallDelta) {
        self.id = self.id.take().or_else(|| call.id.clone());
        self.kind = self.kind.take().or_else(|| call.kind.clone());
        if let Some(function) = &call.function {
            self.name = self.name.take().or_else(|| function.name.clone());
            self.arguments
                .push_str(function.arguments.as_deref().unwrap_or_default());
        }
    }

    fn finish(self) -> ToolCall {
        ToolCall {
            id: self.id.unwrap_or_default(),
            kind: self.kind.unwrap_or_else(|| "function".to_owned()),
            function: FunctionCall {
                name: self.name.unwrap_or_default(),
                arguments: self.arguments,
            },
        }
    }
}
