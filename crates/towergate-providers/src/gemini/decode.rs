//! Gemini's answers to OpenAI-shaped ones.

use std::sync::atomic::{AtomicU64, Ordering};

use towergate_core::{
    Usage,
    chat::{ChatChoice, ChatMessage, ChatResponse, FunctionCall, Role, ToolCall},
    embeddings::{Embedding, EmbeddingsResponse, Vector},
    usage::{CompletionTokensDetails, PromptTokensDetails},
};

use super::{
    encode::call_id,
    wire::{Candidate, ContentEmbedding, GenerateContentResponse, Part, UsageMetadata},
};
use crate::upstream::{base64_floats, unix_now};

/// OpenAI's `finish_reason` for Gemini's `finishReason`; a candidate that
/// called a function finished with `tool_calls`.
pub(super) fn finish_reason(reason: &str, called: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "MODEL_ARMOR" => "content_filter",
        _ if called => "tool_calls",
        _ => "stop",
    }
}

/// Usage in OpenAI's terms: thinking tokens count as completion tokens, as
/// OpenAI counts reasoning.
pub(super) fn usage(metadata: &UsageMetadata) -> Usage {
    let thoughts = metadata.thoughts_token_count.unwrap_or(0);
    let completion = metadata.candidates_token_count + thoughts;
    let mut usage = Usage::new(metadata.prompt_token_count, completion);
    if metadata.total_token_count > 0 {
        usage.total_tokens = metadata.total_token_count;
    }
    if let Some(thoughts) = metadata.thoughts_token_count {
        usage.completion_tokens_details = Some(CompletionTokensDetails {
            reasoning_tokens: Some(thoughts),
            ..CompletionTokensDetails::default()
        });
    }
    if let Some(cached) = metadata.cached_content_token_count {
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(cached),
            ..PromptTokensDetails::default()
        });
    }
    usage
}

/// A fresh id for an answer or a tool call that Gemini gave none.
pub(super) fn fresh_id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("{prefix}{:x}{nanos:08x}{n:x}", unix_now())
}

/// A `functionCall` part as an OpenAI tool call.
pub(super) fn tool_call(part: &Part) -> Option<ToolCall> {
    let call = part.function_call.as_ref()?;
    let base = call.id.clone().unwrap_or_else(|| fresh_id("call_"));
    Some(ToolCall {
        id: call_id(&base, part.thought_signature.as_deref()),
        kind: "function".to_owned(),
        function: FunctionCall {
            name: call.name.clone(),
            arguments: serde_json::Value::Object(call.args.clone()).to_string(),
        },
    })
}

/// A candidate as a chat choice.
fn choice(position: u32, candidate: &Candidate) -> ChatChoice {
    let parts = candidate
        .content
        .as_ref()
        .map(|content| content.parts.as_slice())
        .unwrap_or_default();
    let text: String = parts.iter().filter_map(Part::answer_text).collect();
    let calls: Vec<ToolCall> = parts.iter().filter_map(tool_call).collect();
    let mut message = ChatMessage::text(Role::Assistant, text);
    if !calls.is_empty() {
        if message.text_content().is_some_and(|text| text.is_empty()) {
            message.content = None;
        }
        message.tool_calls = Some(calls);
    }
    let called = message.tool_calls.is_some();
    ChatChoice {
        index: candidate.index.unwrap_or(position),
        message,
        finish_reason: Some(
            finish_reason(candidate.finish_reason.as_deref().unwrap_or("STOP"), called).to_owned(),
        ),
        logprobs: None,
    }
}

/// A `generateContent` answer as a chat completion; `model` when the answer
/// names no `modelVersion`.
pub(super) fn chat(answer: GenerateContentResponse, model: &str) -> ChatResponse {
    let mut choices: Vec<ChatChoice> = (0u32..)
        .zip(&answer.candidates)
        .map(|(position, candidate)| choice(position, candidate))
        .collect();
    let blocked = answer
        .prompt_feedback
        .as_ref()
        .and_then(|feedback| feedback.block_reason.as_ref());
    if choices.is_empty() && blocked.is_some() {
        // The prompt itself was refused: an empty answer, filtered.
        choices.push(ChatChoice {
            index: 0,
            message: ChatMessage::text(Role::Assistant, ""),
            finish_reason: Some("content_filter".to_owned()),
            logprobs: None,
        });
    }
    ChatResponse {
        id: answer
            .response_id
            .clone()
            .unwrap_or_else(|| fresh_id("chatcmpl-")),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: answer
            .model_version
            .clone()
            .unwrap_or_else(|| model.to_owned()),
        choices,
        usage: answer.usage_metadata.as_ref().map(usage),
        system_fingerprint: None,
        extra: Default::default(),
    }
}

/// Embedding vectors as OpenAI's embeddings answer.
pub(super) fn embeddings(
    vectors: Vec<ContentEmbedding>,
    model: &str,
    base64: bool,
) -> EmbeddingsResponse {
    EmbeddingsResponse {
        object: "list".to_owned(),
        data: (0u32..)
            .zip(vectors)
            .map(|(index, vector)| Embedding {
                object: "embedding".to_owned(),
                index,
                embedding: if base64 {
                    Vector::Base64(base64_floats(&vector.values))
                } else {
                    Vector::Float(vector.values)
                },
            })
            .collect(),
        model: model.to_owned(),
        usage: None,
        extra: Default::default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_follow_openai() {
        assert_eq!(finish_reason("STOP", false), "stop");
        assert_eq!(finish_reason("STOP", true), "tool_calls");
        assert_eq!(finish_reason("MAX_TOKENS", true), "length");
        assert_eq!(finish_reason("SAFETY", false), "content_filter");
        assert_eq!(finish_reason("RECITATION", false), "content_filter");
        assert_eq!(finish_reason("OTHER", false), "stop");
    }

    #[test]
    fn thinking_counts_as_completion() {
        let metadata: UsageMetadata = serde_json::from_value(serde_json::json!({
            "promptTokenCount": 10, "candidatesTokenCount": 4,
            "thoughtsTokenCount": 6, "totalTokenCount": 20
        }))
        .unwrap();
        let usage = usage(&metadata);
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (10, 10, 20)
        );
        assert_eq!(
            usage.completion_tokens_details.unwrap().reasoning_tokens,
            Some(6)
        );
    }

    #[test]
    fn a_blocked_prompt_is_an_empty_filtered_answer() {
        let answer: GenerateContentResponse = serde_json::from_value(serde_json::json!({
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}
        }))
        .unwrap();
        let chat = chat(answer, "gemini-x");
        assert_eq!(
            chat.choices[0].finish_reason.as_deref(),
            Some("content_filter")
        );
        assert_eq!(chat.model, "gemini-x");
    }
}
