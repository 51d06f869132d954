//! Text completions: chunks to a complete answer and back.

use serde_json::Value;

use super::{Envelope, Gather, merge_logprobs};
use crate::Extra;
use crate::completion::{CompletionChoice, CompletionChunk, CompletionResponse};

impl CompletionResponse {
    /// The complete answer a finished stream adds up to, or `None` when no
    /// chunk carries a choice.
    ///
    /// Each choice's text is concatenated and its last finish reason kept;
    /// its log probabilities are kept, their arrays joined, only when every
    /// chunk of the choice has them. Usage comes from the last chunk that
    /// has it.
    ///
    /// ```
    /// use towergate_core::completion::{CompletionChunk, CompletionResponse};
    /// let chunks: Vec<CompletionChunk> = serde_json::from_value(serde_json::json!([
    ///     {"id": "c1", "object": "text_completion", "created": 1, "model": "m",
    ///      "choices": [{"index": 0, "text": "Hel"}]},
    ///     {"id": "c1", "object": "text_completion", "created": 1, "model": "m",
    ///      "choices": [{"index": 0, "text": "lo", "finish_reason": "stop"}]}
    /// ])).unwrap();
    /// let answer = CompletionResponse::from_chunks(&chunks).unwrap();
    /// assert_eq!(answer.choices[0].text, "Hello");
    /// assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    /// assert_eq!(CompletionResponse::from_chunks(&[]), None);
    /// ```
    pub fn from_chunks(chunks: &[CompletionChunk]) -> Option<CompletionResponse> {
        ChoiceParts::assemble(chunks)
    }

    /// The answer as a stream: one chunk per choice with its whole text and
    /// finish reason, then, when `include_usage` is set and the answer has
    /// usage, a chunk with no choices and that usage. Chunks of a text
    /// completion stream keep the object name `text_completion`.
    ///
    /// ```
    /// use towergate_core::completion::CompletionResponse;
    /// let answer: CompletionResponse = serde_json::from_value(serde_json::json!({
    ///     "id": "c1", "object": "text_completion", "created": 1, "model": "m",
    ///     "choices": [{"index": 0, "text": "Hello", "finish_reason": "stop"}],
    ///     "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    /// })).unwrap();
    /// let chunks = answer.to_chunks(true);
    /// assert_eq!(chunks.len(), 2);
    /// assert_eq!(chunks[0].choices[0].text, "Hello");
    /// assert!(chunks[1].choices.is_empty() && chunks[1].usage.is_some());
    /// assert_eq!(CompletionResponse::from_chunks(&chunks), Some(answer));
    /// ```
    pub fn to_chunks(&self, include_usage: bool) -> Vec<CompletionChunk> {
        self.split(self.choices.iter().cloned(), include_usage)
    }
}

/// One choice, as gathered from its chunks so far.
struct ChoiceParts {
    text: String,
    finish_reason: Option<String>,
    /// `None` once a chunk of the choice came without log probabilities.
    logprobs: Option<Extra>,
}

impl Default for ChoiceParts {
    fn default() -> Self {
        Self {
            text: String::new(),
            finish_reason: None,
            logprobs: Some(Extra::new()),
        }
    }
}

impl Gather for ChoiceParts {
    type Part = CompletionChoice;
    type Whole = CompletionChoice;

    fn index(choice: &CompletionChoice) -> u32 {
        choice.index
    }

    fn add(&mut self, choice: &CompletionChoice) {
        self.text.push_str(&choice.text);
        if choice.finish_reason.is_some() {
            self.finish_reason.clone_from(&choice.finish_reason);
        }
        self.logprobs = match (self.logprobs.take(), &choice.logprobs) {
            (Some(mut gathered), Some(Value::Object(part))) => {
                merge_logprobs(&mut gathered, part);
                Some(gathered)
            }
            _ => None,
        };
    }

    fn finish(self, index: u32) -> CompletionChoice {
        CompletionChoice {
            text: self.text,
            index,
            logprobs: self.logprobs.map(Value::Object),
            finish_reason: self.finish_reason,
        }
    }
}
