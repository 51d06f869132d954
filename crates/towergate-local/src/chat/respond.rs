//! OpenAI-shaped answers and stream chunks from generated text.

use std::time::{SystemTime, UNIX_EPOCH};

use towergate_core::{
    Extra, Usage,
    chat::{ChatChoice, ChatChunk, ChatDelta, ChatMessage, ChatResponse, ChunkChoice, Role},
    completion::{CompletionChoice, CompletionChunk, CompletionResponse},
};

use super::generate::Finish;

/// What every answer and chunk of one generation shares.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// The completion's id.
    pub(crate) id: String,
    /// Unix seconds.
    pub(crate) created: u64,
    /// The model's name.
    pub(crate) model: String,
}

impl Header {
    /// A header stamped now.
    pub(crate) fn new(id: String, model: &str) -> Self {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            id,
            created,
            model: model.to_owned(),
        }
    }
}

/// Usage of a finished generation.
pub(crate) fn usage(finish: &Finish) -> Usage {
    Usage::new(finish.prompt_tokens as u64, finish.completion_tokens as u64)
}

/// A whole chat completion.
pub(crate) fn chat(header: &Header, text: String, finish: &Finish) -> ChatResponse {
    ChatResponse {
        id: header.id.clone(),
        object: "chat.completion".into(),
        created: header.created,
        model: header.model.clone(),
        choices: vec![ChatChoice {
            index: 0,
            message: ChatMessage::text(Role::Assistant, text),
            finish_reason: Some(finish.reason.as_str().into()),
            logprobs: None,
        }],
        usage: Some(usage(finish)),
        system_fingerprint: None,
        extra: Extra::new(),
    }
}

/// A chat chunk with one choice (or none, for the usage chunk).
pub(crate) fn chat_chunk(
    header: &Header,
    delta: Option<ChatDelta>,
    finish_reason: Option<&str>,
    usage: Option<Usage>,
) -> ChatChunk {
    ChatChunk {
        id: header.id.clone(),
        object: "chat.completion.chunk".into(),
        created: header.created,
        model: header.model.clone(),
        choices: delta
            .map(|delta| ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish_reason.map(Into::into),
                logprobs: None,
            })
            .into_iter()
            .collect(),
        usage,
        system_fingerprint: None,
        extra: Extra::new(),
    }
}

/// A delta that adds `content`.
pub(crate) fn content_delta(content: String) -> ChatDelta {
    ChatDelta {
        content: Some(content),
        ..ChatDelta::default()
    }
}

/// A whole text completion, or one chunk of a streamed one.
pub(crate) fn completion(
    header: &Header,
    text: Option<String>,
    finish_reason: Option<&str>,
    usage: Option<Usage>,
) -> CompletionResponse {
    CompletionChunk {
        id: header.id.clone(),
        object: "text_completion".into(),
        created: header.created,
        model: header.model.clone(),
        choices: text
            .map(|text| CompletionChoice {
                text,
                index: 0,
                logprobs: None,
                finish_reason: finish_reason.map(Into::into),
            })
            .into_iter()
            .collect(),
        usage,
        system_fingerprint: None,
        extra: Extra::new(),
    }
}
