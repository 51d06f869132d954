//! TGI's answers as OpenAI-shaped chat and completion answers.

use serde::Deserialize;
use towergate_core::{
    Usage,
    chat::{ChatChoice, ChatMessage, ChatResponse, Role},
    completion::{CompletionChoice, CompletionResponse},
};

use crate::upstream::unix_now;

/// `POST /generate`'s answer.
#[derive(Debug, Deserialize)]
pub(super) struct Generated {
    pub(super) generated_text: String,
    #[serde(default)]
    pub(super) details: Option<Details>,
}

/// `details` of a complete answer.
#[derive(Debug, Deserialize)]
pub(super) struct Details {
    pub(super) finish_reason: String,
    pub(super) generated_tokens: u64,
    /// The prompt's tokens, with `decoder_input_details`.
    #[serde(default)]
    pub(super) prefill: Vec<serde_json::Value>,
}

/// One event of `POST /generate_stream`.
#[derive(Debug, Deserialize)]
pub(super) struct StreamEvent {
    pub(super) token: Token,
    #[serde(default)]
    pub(super) details: Option<StreamDetails>,
}

/// A generated token.
#[derive(Debug, Deserialize)]
pub(super) struct Token {
    #[serde(default)]
    pub(super) text: String,
    /// A special token (`</s>`) is not part of the text.
    #[serde(default)]
    pub(super) special: bool,
}

/// `details` of a stream's last event.
#[derive(Debug, Deserialize)]
pub(super) struct StreamDetails {
    pub(super) finish_reason: String,
    pub(super) generated_tokens: u64,
    /// The prompt's length in tokens (TGI 2.1 and later).
    #[serde(default)]
    pub(super) input_length: Option<u64>,
}

/// OpenAI's `finish_reason` for TGI's: `length`, or `stop` for
/// `eos_token` and `stop_sequence`.
pub(super) fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "length" => "length",
        _ => "stop",
    }
}

/// A fresh id for an answer.
pub(super) fn fresh_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}tgi-{:x}-{:x}",
        unix_now(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn usage(details: Option<&Details>) -> Option<Usage> {
    details.map(|details| {
        Usage::new(
            u64::try_from(details.prefill.len()).unwrap_or(u64::MAX),
            details.generated_tokens,
        )
    })
}

fn reason(details: Option<&Details>) -> String {
    finish_reason(details.map_or("eos_token", |details| &details.finish_reason)).to_owned()
}

/// The answer as a chat completion of `model`.
pub(super) fn chat(generated: Generated, model: &str) -> ChatResponse {
    let details = generated.details.as_ref();
    ChatResponse {
        id: fresh_id("chatcmpl-"),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: vec![ChatChoice {
            index: 0,
            message: ChatMessage::text(Role::Assistant, generated.generated_text.clone()),
            finish_reason: Some(reason(details)),
            logprobs: None,
        }],
        usage: usage(details),
        system_fingerprint: None,
        extra: Default::default(),
    }
}

/// The answer as a text completion of `model`.
pub(super) fn completion(generated: Generated, model: &str) -> CompletionResponse {
    let details = generated.details.as_ref();
    CompletionResponse {
        id: fresh_id("cmpl-"),
        object: "text_completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: vec![CompletionChoice {
            text: generated.generated_text.clone(),
            index: 0,
            logprobs: None,
            finish_reason: Some(reason(details)),
        }],
        usage: usage(details),
        system_fingerprint: None,
        extra: Default::default(),
    }
}
