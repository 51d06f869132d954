//! Counting what a model generated, for upstreams that report no usage.

use towergate_core::{
    chat::{ChatChunk, ChatResponse},
    completion::{CompletionChunk, CompletionResponse},
};

use super::TokenCounter;

impl TokenCounter {
    /// The tokens a streamed chat chunk adds: the text, refusal and
    /// tool-call fragments of every choice's delta.
    ///
    /// Summed over a stream, this is the completion's size when the
    /// upstream reports no usage. Each delta is counted on its own, which
    /// matches the whole text's count when the upstream sends about a token
    /// per chunk (as OpenAI-style servers do) and may count a little more
    /// when it cuts words apart.
    ///
    /// ```
    /// use towergate_core::chat::ChatChunk;
    /// use towergate_tokens::TokenCounter;
    /// let chunk: ChatChunk = serde_json::from_value(serde_json::json!({
    ///     "id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
    ///     "choices": [{"index": 0, "delta": {"content": "hello world"}, "finish_reason": null}]
    /// })).unwrap();
    /// assert_eq!(TokenCounter::for_model("gpt-4o").count_chat_chunk(&chunk), 2);
    /// ```
    pub fn count_chat_chunk(&self, chunk: &ChatChunk) -> u64 {
        chunk
            .choices
            .iter()
            .map(|choice| {
                let delta = &choice.delta;
                let calls: u64 = delta
                    .tool_calls
                    .iter()
                    .flatten()
                    .filter_map(|call| call.function.as_ref())
                    .map(|function| {
                        self.count_optional(function.name.as_deref())
                            + self.count_optional(function.arguments.as_deref())
                    })
                    .sum();
                self.count_optional(delta.content.as_deref())
                    + self.count_optional(delta.refusal.as_deref())
                    + calls
            })
            .sum()
    }

    /// The tokens a streamed text-completion chunk adds: every choice's text.
    pub fn count_completion_chunk(&self, chunk: &CompletionChunk) -> u64 {
        self.count_completion_answer(chunk)
    }

    /// The completion tokens of a whole chat answer: every choice's text,
    /// refusal and tool calls (name and arguments).
    pub fn count_chat_answer(&self, answer: &ChatResponse) -> u64 {
        answer
            .choices
            .iter()
            .map(|choice| {
                let message = &choice.message;
                let calls: u64 = message
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|call| {
                        self.count_text(&call.function.name)
                            + self.count_text(&call.function.arguments)
                    })
                    .sum();
                message
                    .content
                    .as_ref()
                    .map_or(0, |c| self.count_text(&c.text()))
                    + self.count_optional(message.refusal.as_deref())
                    + calls
            })
            .sum()
    }

    /// The completion tokens of a whole text completion: every choice's text.
    pub fn count_completion_answer(&self, answer: &CompletionResponse) -> u64 {
        answer
            .choices
            .iter()
            .map(|choice| self.count_text(&choice.text))
            .sum()
    }

    fn count_optional(&self, text: Option<&str>) -> u64 {
        text.map_or(0, |text| self.count_text(text))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Encoding;

    #[test]
    fn a_chunk_counts_text_refusal_and_tool_call_fragments() {
        let counter = TokenCounter::new(Encoding::O200kBase);
        let chunk: ChatChunk = serde_json::from_value(json!({
            "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [
                {"index": 0, "delta": {"content": "hello world"}},
                {"index": 1, "delta": {"refusal": "hello world"}},
                {"index": 2, "delta": {"tool_calls": [
                    {"index": 0, "function": {"name": "get_weather", "arguments": "{\"city\""}}
                ]}}
            ]
        }))
        .unwrap();
        assert_eq!(
            counter.count_chat_chunk(&chunk),
            2 + 2 + counter.count_text("get_weather") + counter.count_text("{\"city\"")
        );
    }

    #[test]
    fn a_usage_chunk_with_no_choices_counts_nothing() {
        let chunk: ChatChunk = serde_json::from_value(json!({
            "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        }))
        .unwrap();
        assert_eq!(TokenCounter::default().count_chat_chunk(&chunk), 0);
    }

    #[test]
    fn summed_deltas_of_single_tokens_match_the_whole_text() {
        let counter = TokenCounter::new(Encoding::O200kBase);
        let text = "The quick brown fox jumps over the lazy dog.";
        let deltas = [
            "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
        ];
        assert_eq!(deltas.concat(), text);
        let summed: u64 = deltas
            .iter()
            .map(|delta| {
                let chunk: ChatChunk = serde_json::from_value(json!({
                    "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": delta}}]
                }))
                .unwrap();
                counter.count_chat_chunk(&chunk)
            })
            .sum();
        assert_eq!(summed, counter.count_text(text));
    }

    #[test]
    fn answers_count_every_choice() {
        let counter = TokenCounter::new(Encoding::Cl100kBase);
        let chat: ChatResponse = serde_json::from_value(json!({
            "id": "r", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "hello world"}, "finish_reason": "stop"},
                {"index": 1, "message": {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]}, "finish_reason": "tool_calls"}
            ]
        }))
        .unwrap();
        assert_eq!(
            counter.count_chat_answer(&chat),
            2 + counter.count_text("f") + counter.count_text("{}")
        );
        let completion: CompletionResponse = serde_json::from_value(json!({
            "id": "r", "object": "text_completion", "created": 0, "model": "m",
            "choices": [
                {"text": "hello world", "index": 0, "finish_reason": "stop"},
                {"text": "hello", "index": 1, "finish_reason": "stop"}
            ]
        }))
        .unwrap();
        assert_eq!(counter.count_completion_answer(&completion), 3);
        assert_eq!(counter.count_completion_chunk(&completion), 3);
    }
}
