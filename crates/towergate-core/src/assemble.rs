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

use std::collections::BTreeMap;

use serde_json::Value;

use crate::chat::{ChatChoice, ChatChunk, ChatResponse, ChunkChoice};
use crate::completion::{CompletionChoice, CompletionResponse};
use crate::{Extra, Usage};

mod chat;
mod completion;
#[cfg(test)]
mod tests;

/// A complete answer or one chunk of a stream: a header around a list of
/// choices.
trait Envelope: Sized {
    /// What its list holds.
    type Choice;

    // Its header fields and its choices, as they stand.
    fn id(&self) -> &str;
    fn created(&self) -> u64;
    fn model(&self) -> &str;
    fn usage(&self) -> Option<&Usage>;
    fn system_fingerprint(&self) -> Option<&str>;
    fn extra(&self) -> &Extra;
    fn choices(&self) -> &[Self::Choice];

    /// One with `head`'s header, its fixed object name, and `choices`.
    fn new(head: Head, choices: Vec<Self::Choice>) -> Self;

    /// Its own header.
    fn head(&self) -> Head {
        Head {
            id: self.id().to_owned(),
            created: self.created(),
            model: self.model().to_owned(),
            usage: self.usage().cloned(),
            system_fingerprint: self.system_fingerprint().map(str::to_owned),
            extra: self.extra().clone(),
        }
    }

    /// `self` as a stream: one chunk per entry of `choices`, then, when
    /// `include_usage` is set and `self` has usage, a chunk with no choices
    /// and that usage. Every chunk repeats `self`'s header.
    fn split<C: Envelope>(
        &self,
        choices: impl IntoIterator<Item = C::Choice>,
        include_usage: bool,
    ) -> Vec<C> {
        let mut head = self.head();
        let usage = head.usage.take().filter(|_| include_usage);
        let mut chunks: Vec<C> = choices
            .into_iter()
            .map(|choice| C::new(head.clone(), vec![choice]))
            .collect();
        if let Some(usage) = usage {
            let head = Head {
                usage: Some(usage),
                ..head
            };
            chunks.push(C::new(head, Vec::new()));
        }
        chunks
    }
}

/// The header of a complete answer or of a chunk: all but its object name
/// and its choices.
#[derive(Clone)]
struct Head {
    id: String,
    created: u64,
    model: String,
    usage: Option<Usage>,
    system_fingerprint: Option<String>,
    extra: Extra,
}

impl Head {
    /// The header of the answer `chunks` add up to, or `None` when there are
    /// no chunks: the first id, creation time, model and fingerprint that
    /// are set, the usage of the last chunk that has it, and the first
    /// chunk's other fields.
    fn of<C: Envelope>(chunks: &[C]) -> Option<Head> {
        let first = chunks.first()?;
        Some(Head {
            id: first_non_empty(chunks.iter().map(C::id)),
            created: chunks.iter().map(C::created).find(|&t| t > 0).unwrap_or(0),
            model: first_non_empty(chunks.iter().map(C::model)),
            usage: chunks.iter().rev().find_map(|chunk| chunk.usage().cloned()),
            system_fingerprint: chunks
                .iter()
                .find_map(|chunk| chunk.system_fingerprint().map(str::to_owned)),
            extra: first.extra().clone(),
        })
    }
}

/// Implements [`Envelope`] for `$kind`, whose object name is `$object` and
/// whose choices are `$choice`. Answers and chunks name their header fields
/// alike, so one body serves them all.
macro_rules! envelope {
    ($kind:ty, $choice:ty, $object:literal) => {
        impl Envelope for $kind {
            type Choice = $choice;

            fn id(&self) -> &str {
                &self.id
            }

            fn created(&self) -> u64 {
                self.created
            }

            fn model(&self) -> &str {
                &self.model
            }

            fn usage(&self) -> Option<&Usage> {
                self.usage.as_ref()
            }

            fn system_fingerprint(&self) -> Option<&str> {
                self.system_fingerprint.as_deref()
            }

            fn extra(&self) -> &Extra {
                &self.extra
            }

            fn choices(&self) -> &[$choice] {
                &self.choices
            }

            fn new(head: Head, choices: Vec<$choice>) -> Self {
                Self {
                    id: head.id,
                    object: $object.to_owned(),
                    created: head.created,
                    model: head.model,
                    choices,
                    usage: head.usage,
                    system_fingerprint: head.system_fingerprint,
                    extra: head.extra,
                }
            }
        }
    };
}

envelope!(ChatResponse, ChatChoice, "chat.completion");
envelope!(ChatChunk, ChunkChoice, "chat.completion.chunk");
// A text completion's chunks are of its own type.
envelope!(CompletionResponse, CompletionChoice, "text_completion");

/// One choice of a complete answer, as gathered from the chunks so far.
trait Gather: Default {
    /// What a chunk carries of the choice.
    type Part;
    /// The choice as a complete answer holds it.
    type Whole;

    /// Which choice `part` belongs to.
    fn index(part: &Self::Part) -> u32;
    /// Adds one chunk's part.
    fn add(&mut self, part: &Self::Part);
    /// The choice gathered, at `index`.
    fn finish(self, index: u32) -> Self::Whole;

    /// The complete answer `chunks` add up to, or `None` when no chunk
    /// carries a choice: their [`Head`], and their parts gathered by index.
    fn assemble<C, R>(chunks: &[C]) -> Option<R>
    where
        C: Envelope<Choice = Self::Part>,
        R: Envelope<Choice = Self::Whole>,
    {
        let mut gathered: BTreeMap<u32, Self> = BTreeMap::new();
        for part in chunks.iter().flat_map(C::choices) {
            gathered.entry(Self::index(part)).or_default().add(part);
        }
        if gathered.is_empty() {
            return None;
        }
        let choices = gathered
            .into_iter()
            .map(|(index, choice)| choice.finish(index))
            .collect();
        Some(R::new(Head::of(chunks)?, choices))
    }
}

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
