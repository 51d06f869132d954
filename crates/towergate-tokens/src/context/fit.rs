//! Fitting a request into a context window.

use towergate_core::{
    GatewayError, Operation,
    chat::{ChatRequest, Role},
    completion::CompletionRequest,
    embeddings::EmbeddingsRequest,
};

use super::ContextFitted;
use crate::TokenCounter;

/// The window a request must fit in, and how to count.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window<'a> {
    pub(super) tokens: u64,
    pub(super) counter: TokenCounter,
    pub(super) endpoint: &'a str,
}

/// The tokens a request reserves for the answer, and the field that asked.
#[derive(Debug, Clone, Copy)]
struct Reserve {
    field: &'static str,
    tokens: u64,
}

impl Reserve {
    fn of_chat(chat: &ChatRequest) -> Option<Self> {
        let (field, tokens) = match (chat.max_completion_tokens, chat.max_tokens) {
            (Some(tokens), _) => ("max_completion_tokens", tokens),
            (None, Some(tokens)) => ("max_tokens", tokens),
            (None, None) => return None,
        };
        Some(Self {
            field,
            tokens: tokens.into(),
        })
    }

    fn of_completion(completion: &CompletionRequest) -> Option<Self> {
        completion.max_tokens.map(|tokens| Self {
            field: "max_tokens",
            tokens: tokens.into(),
        })
    }
}

fn tokens_of(reserve: Option<Reserve>) -> u64 {
    reserve.map_or(0, |r| r.tokens)
}

impl Window<'_> {
    /// Fits `operation` into the window, changing it if it must; `None`
    /// for an operation with no prompt (a listing).
    pub(super) fn fit(
        &self,
        operation: &mut Operation,
    ) -> Result<Option<ContextFitted>, GatewayError> {
        match operation {
            Operation::Chat(chat) => self.fit_chat(chat).map(Some),
            Operation::Completion(completion) => self.check_completion(completion).map(Some),
            Operation::Embeddings(embeddings) => self.check_embeddings(embeddings).map(Some),
            Operation::ListEndpoints => Ok(None),
        }
    }

    fn fits(&self, prompt: u64, reserve: Option<Reserve>) -> bool {
        prompt.saturating_add(tokens_of(reserve)) <= self.tokens
    }

    fn fitted(&self, dropped_messages: usize, prompt_tokens: u64) -> ContextFitted {
        ContextFitted {
            dropped_messages,
            prompt_tokens,
            encoding: self.counter.encoding(),
        }
    }

    /// Drops the oldest turns of a chat until it fits; see the module docs.
    fn fit_chat(&self, chat: &mut ChatRequest) -> Result<ContextFitted, GatewayError> {
        let reserve = Reserve::of_chat(chat);
        let costs: Vec<u64> = chat
            .messages
            .iter()
            .map(|message| self.counter.count_message(message))
            .collect();
        let mut prompt = self.counter.count_chat_overhead(chat) + costs.iter().sum::<u64>();
        if self.fits(prompt, reserve) {
            return Ok(self.fitted(0, prompt));
        }

        // Everything from the last user message on is kept.
        let kept_tail = chat
            .messages
            .iter()
            .rposition(|message| message.role == Role::User)
            .unwrap_or(0);
        let mut dropped = vec![false; costs.len()];
        let mut dropped_messages = 0;
        let mut turn_start = 0;
        while turn_start < kept_tail && !self.fits(prompt, reserve) {
            // A turn runs from a user message to the next one, so an
            // assistant's tool calls go with the tool messages answering them.
            let turn_end = (turn_start + 1..kept_tail)
                .find(|&at| chat.messages[at].role == Role::User)
                .unwrap_or(kept_tail);
            for at in turn_start..turn_end {
                if !is_instruction(chat.messages[at].role) {
                    dropped[at] = true;
                    dropped_messages += 1;
                    prompt -= costs[at];
                }
            }
            turn_start = turn_end;
        }
        if !self.fits(prompt, reserve) {
            let after = (dropped_messages > 0)
                .then(|| format!(" (counted with its {dropped_messages} oldest messages dropped)"));
            return Err(self.too_long("prompt", prompt, reserve, after.as_deref(), "messages"));
        }

        let mut at = 0;
        chat.messages.retain(|_| {
            let keep = !dropped[at];
            at += 1;
            keep
        });
        tracing::debug!(
            endpoint = self.endpoint,
            dropped_messages,
            prompt_tokens = prompt,
            context_window = self.tokens,
            "dropped the oldest turns of a chat to fit the context window"
        );
        Ok(self.fitted(dropped_messages, prompt))
    }

    /// Refuses a completion whose longest prompt does not fit.
    fn check_completion(
        &self,
        completion: &CompletionRequest,
    ) -> Result<ContextFitted, GatewayError> {
        let reserve = Reserve::of_completion(completion);
        let suffix = completion
            .suffix
            .as_deref()
            .map_or(0, |suffix| self.counter.count_text(suffix));
        let prompts = self.counter.count_each_prompt(&completion.prompt);
        let several = prompts.len() > 1;
        for (index, tokens) in prompts.iter().enumerate() {
            let needed = tokens + suffix;
            if !self.fits(needed, reserve) {
                let what = if several {
                    format!("prompt {index}")
                } else {
                    "prompt".into()
                };
                return Err(self.too_long(&what, needed, reserve, None, "prompt"));
            }
        }
        Ok(self.fitted(0, prompts.iter().sum::<u64>() + suffix))
    }

    /// Refuses embeddings with an input that does not fit.
    fn check_embeddings(
        &self,
        embeddings: &EmbeddingsRequest,
    ) -> Result<ContextFitted, GatewayError> {
        let inputs = self.counter.count_each_input(&embeddings.input);
        let several = inputs.len() > 1;
        for (index, &tokens) in inputs.iter().enumerate() {
            if !self.fits(tokens, None) {
                let what = if several {
                    format!("input {index}")
                } else {
                    "input".into()
                };
                return Err(self.too_long(&what, tokens, None, None, "input"));
            }
        }
        Ok(self.fitted(0, inputs.iter().sum()))
    }

    fn too_long(
        &self,
        what: &str,
        needed: u64,
        reserve: Option<Reserve>,
        note: Option<&str>,
        param: &str,
    ) -> GatewayError {
        let plus = reserve.map_or_else(String::new, |r| format!(" plus {} {}", r.field, r.tokens));
        GatewayError::invalid(format!(
            "{what} needs {needed} tokens{plus}, over the context window of {} tokens of endpoint `{}`{}",
            self.tokens,
            self.endpoint,
            note.unwrap_or_default()
        ))
        .with_param(param)
        .with_code("context_length_exceeded")
    }
}

/// Whether a message instructs the model (system or developer): those are
/// never dropped.
fn is_instruction(role: Role) -> bool {
    matches!(role, Role::System | Role::Developer)
}
