//! Text completions: chunks to a complete answer and back.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{first_non_empty, merge_logprobs};
use crate::completion::{CompletionChoice, CompletionChunk, CompletionResponse};
use crate::{Extra, Usage};

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
        let first = chunks.first()?;
        let mut choices: BTreeMap<u32, ChoiceParts> = BTreeMap::new();
        for choice in chunks.iter().flat_map(|chunk| &chunk.choices) {
            choices.entry(choice.index).or_default().add(choice);
        }
        if choices.is_empty() {
            return None;
        }
        Some(CompletionResponse {
            id: first_non_empty(chunks.iter().map(|chunk| chunk.id.as_str())),
            object: "text_completion".to_owned(),
            created: chunks
                .iter()
                .map(|chunk| chunk.created)
                .find(|&t| t > 0)
                .unwrap_or(0),
            model: first_non_empty(chunks.iter().map(|chunk| chunk.model.as_str())),
            choices: choices
                .into_iter()
                .map(|(index, parts)| parts.finish(index))
                .collect(),
            usage: chunks.iter().rev().find_map(|chunk| chunk.usage.clone()),
            system_fingerprint: chunks
                .iter()
                .find_map(|chunk| chunk.system_fingerprint.clone()),
            extra: first.extra.clone(),
        })
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
        let chunk = |choices: Vec<CompletionChoice>, usage: Option<Usage>| CompletionChunk {
            id: self.id.clone(),
            object: "text_completion".to_owned(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage,
            system_fingerprint: self.system_fingerprint.clone(),
            extra: self.extra.clone(),
        };
        let mut chunks: Vec<CompletionChunk> = self
            .choices
            .iter()
            .map(|choice| chunk(vec![choice.clone()], None))
            .collect();
        if include_usage && let Some(usage) = &self.usage {
            chunks.push(chunk(Vec::new(), Some(usage.clone())));
        }
        chunks
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

impl ChoiceParts {
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
