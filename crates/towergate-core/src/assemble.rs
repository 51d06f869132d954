//! Complete answers assembled from stream chunks, and split back into them.
//!
//! A response cache keeps whichever form it saw first and must answer the
//! other: a streamed request from a cached complete answer
//! ([`ChatResponse::to_chunks`], [`CompletionResponse::to_chunks`]), a plain
//! request from a cached stream ([`ChatResponse::from_chunks`],
//! [`CompletionResponse::from_chunks`]). The two directions undo each other:
//! assembling the chunks of an answer gives that answer back, usage included
//! when the chunks were asked to carry it.
//!
//! ```
//! use towergate_core::chat::ChatResponse;
//! let answer: ChatResponse = serde_json::from_value(serde_json::json!({
//!     "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
//!     "choices": [{"index": 0, "finish_reason": "stop",
//!                  "message": {"role": "assistant", "content": "Hello"}}],
//!     "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
//! })).unwrap();
//! let chunks = answer.to_chunks(true);
//! assert_eq!(ChatResponse::from_chunks(&chunks), Some(answer));
//! ```
//!
//! [`ChatResponse::to_chunks`]: crate::chat::ChatResponse::to_chunks
//! [`ChatResponse::from_chunks`]: crate::chat::ChatResponse::from_chunks
//! [`CompletionResponse::to_chunks`]: crate::completion::CompletionResponse::to_chunks
//! [`CompletionResponse::from_chunks`]: crate::completion::CompletionResponse::from_chunks

use serde_json::Value;

use crate::Extra;

mod chat;
mod completion;
#[cfg(test)]
mod tests;

/// The first of `values` that is not empty, or an empty string.
///
/// Azure OpenAI opens a stream with a chunk of content-filter results whose
/// id and model are empty, so the first chunk alone is not enough.
fn first_non_empty<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values
        .into_iter()
        .find(|value| !value.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Folds one chunk's log probabilities into those gathered so far: arrays
/// are concatenated; any other value is kept as first seen, unless it was
/// null and something better comes.
fn merge_logprobs(gathered: &mut Extra, part: &Extra) {
    for (key, value) in part {
        let slot = gathered.entry(key.clone()).or_insert(Value::Null);
        match (slot, value) {
            (Value::Array(have), Value::Array(more)) => have.extend_from_slice(more),
            (slot, _) if slot.is_null() => *slot = value.clone(),
            _ => {}
        }
    }
}
