//! What the accounting needs from a streamed chunk, for chat and text chunks alike.

use towergate_core::{
    Usage,
    chat::{ChatChunk, ChatResponse},
    completion::CompletionChunk,
};

/// A streamed chunk the accounting can read usage and text from.
pub trait AccountedChunk: Send + Unpin + 'static {
    /// The usage the chunk carries (the last chunk, when asked for).
    fn usage(&self) -> Option<&Usage>;

    /// Appends the text the chunk adds (content, refusals, tool-call
    /// fragments) to `text`.
    fn append_text(&self, text: &mut String);

    /// A chunk with no choices carrying `usage`, shaped like `self` (same
    /// id, model and creation time): the last chunk of a stream whose
    /// upstream reported no usage, for a caller that asked for it.
    fn usage_chunk(&self, usage: Usage) -> Self;
}

impl AccountedChunk for ChatChunk {
    fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    fn append_text(&self, text: &mut String) {
        for choice in &self.choices {
            let delta = &choice.delta;
            for part in [delta.content.as_deref(), delta.refusal.as_deref()]
                .into_iter()
                .flatten()
            {
                text.push_str(part);
            }
            for function in delta
                .tool_calls
                .iter()
                .flatten()
                .filter_map(|call| call.function.as_ref())
            {
                for part in [function.name.as_deref(), function.arguments.as_deref()]
                    .into_iter()
                    .flatten()
                {
                    text.push_str(part);
                }
            }
        }
    }

    fn usage_chunk(&self, usage: Usage) -> Self {
        ChatChunk {
            id: self.id.clone(),
            object: self.object.clone(),
            created: self.created,
            model: self.model.clone(),
            choices: Vec::new(),
            usage: Some(usage),
            system_fingerprint: self.system_fingerprint.clone(),
            extra: Default::default(),
        }
    }
}

impl AccountedChunk for CompletionChunk {
    fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    fn append_text(&self, text: &mut String) {
        for choice in &self.choices {
            text.push_str(&choice.text);
        }
    }

    fn usage_chunk(&self, usage: Usage) -> Self {
        CompletionChunk {
            id: self.id.clone(),
            object: self.object.clone(),
            created: self.created,
            model: self.model.clone(),
            choices: Vec::new(),
            usage: Some(usage),
            system_fingerprint: self.system_fingerprint.clone(),
            extra: Default::default(),
        }
    }
}

/// The text of a whole chat answer, for counting its completion tokens.
pub(crate) fn chat_answer_text(answer: &ChatResponse) -> String {
    let mut text = String::new();
    for choice in &answer.choices {
        let message = &choice.message;
        if let Some(content) = message.text_content() {
            text.push_str(&content);
        }
        if let Some(refusal) = &message.refusal {
            text.push_str(refusal);
        }
        for call in message.tool_calls.iter().flatten() {
            text.push_str(&call.function.name);
            text.push_str(&call.function.arguments);
        }
    }
    text
}
