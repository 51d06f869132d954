//! Counting the prompt of a request.

use towergate_core::{
    Operation,
    chat::{ChatMessage, ChatRequest, ContentPart, MessageContent, Tool},
    completion::{CompletionRequest, Prompt},
    embeddings::{EmbeddingInput, EmbeddingsRequest},
};

use super::TokenCounter;

/// Tokens that frame every chat message (OpenAI's cookbook, "How to count
/// tokens with tiktoken", for every current chat model).
pub(crate) const TOKENS_PER_MESSAGE: u64 = 3;
/// Extra tokens for a message's `name`.
pub(crate) const TOKENS_PER_NAME: u64 = 1;
/// Tokens that prime the assistant's reply, once per request.
pub(crate) const REPLY_PRIMING: u64 = 3;
/// An image at `detail: low`: OpenAI's fixed price for one.
pub(crate) const LOW_DETAIL_IMAGE: u64 = 85;
/// An image at `detail: high` or `auto`, whose size the gateway does not
/// know: what a 1024×1024 image costs (85 + 4 tiles × 170).
pub(crate) const DETAILED_IMAGE: u64 = 765;

impl TokenCounter {
    /// The prompt tokens of a chat request, as OpenAI's cookbook counts
    /// them: per message, 3 tokens of framing plus its role, its content
    /// and, if it has one, its name plus 1; 3 more to prime the reply.
    ///
    /// Beyond the cookbook, and approximately (OpenAI does not document
    /// how these are billed):
    ///
    /// - the name and arguments of each tool call an assistant message
    ///   makes, and a refusal's text;
    /// - the `tools` offered: each function definition serialized as JSON
    ///   and counted as text;
    /// - images: 85 tokens at `detail: low`, else 765 (the price of a
    ///   1024×1024 image, since the gateway does not decode images);
    /// - audio and file parts are not counted.
    pub fn count_chat(&self, chat: &ChatRequest) -> u64 {
        let messages: u64 = chat.messages.iter().map(|m| self.count_message(m)).sum();
        messages + self.count_chat_overhead(chat)
    }

    /// The tokens of a chat that belong to no message: the tools offered
    /// and the 3 that prime the reply. [`count_chat`](Self::count_chat) is
    /// this plus every message's [`count_message`](Self::count_message).
    pub fn count_chat_overhead(&self, chat: &ChatRequest) -> u64 {
        self.count_tools(chat.tools.as_deref().unwrap_or_default()) + REPLY_PRIMING
    }

    /// One message's share of [`count_chat`](Self::count_chat): framing,
    /// role, content, name, tool calls and refusal.
    pub fn count_message(&self, message: &ChatMessage) -> u64 {
        let mut tokens = TOKENS_PER_MESSAGE + self.count_text(message.role.as_str());
        if let Some(content) = &message.content {
            tokens += self.count_content(content);
        }
        if let Some(name) = &message.name {
            tokens += self.count_text(name) + TOKENS_PER_NAME;
        }
        for call in message.tool_calls.iter().flatten() {
            tokens += self.count_text(&call.function.name);
            tokens += self.count_text(&call.function.arguments);
        }
        if let Some(refusal) = &message.refusal {
            tokens += self.count_text(refusal);
        }
        tokens
    }

    /// The tokens of the tools offered: each function definition as JSON.
    pub fn count_tools(&self, tools: &[Tool]) -> u64 {
        tools
            .iter()
            .map(|tool| {
                serde_json::to_string(&tool.function)
                    .map_or(0, |definition| self.count_text(&definition))
            })
            .sum()
    }

    fn count_content(&self, content: &MessageContent) -> u64 {
        match content {
            MessageContent::Text(text) => self.count_text(text),
            MessageContent::Parts(parts) => parts
                .iter()
                .map(|part| match part {
                    ContentPart::Text { text } => self.count_text(text),
                    ContentPart::ImageUrl { image_url } => match image_url.detail.as_deref() {
                        Some("low") => LOW_DETAIL_IMAGE,
                        _ => DETAILED_IMAGE,
                    },
                    ContentPart::InputAudio { .. } | ContentPart::File { .. } => 0,
                })
                .sum(),
        }
    }

    /// The prompt tokens of a text completion: every prompt (a batch of
    /// prompts is billed as their sum) and the suffix. Prompts given as
    /// token ids count their length.
    pub fn count_completion_prompt(&self, completion: &CompletionRequest) -> u64 {
        let prompts: u64 = self.count_each_prompt(&completion.prompt).iter().sum();
        prompts
            + completion
                .suffix
                .as_deref()
                .map_or(0, |s| self.count_text(s))
    }

    /// The tokens of each prompt of a completion request, in order.
    pub fn count_each_prompt(&self, prompt: &Prompt) -> Vec<u64> {
        match prompt {
            Prompt::Text(text) => vec![self.count_text(text)],
            Prompt::Texts(texts) => texts.iter().map(|t| self.count_text(t)).collect(),
            Prompt::Tokens(tokens) => vec![tokens.len() as u64],
            Prompt::TokenBatches(batches) => batches.iter().map(|b| b.len() as u64).collect(),
        }
    }

    /// The tokens of everything an embeddings request embeds. Inputs given
    /// as token ids count their length.
    pub fn count_embeddings_input(&self, embeddings: &EmbeddingsRequest) -> u64 {
        self.count_each_input(&embeddings.input).iter().sum()
    }

    /// The tokens of each input of an embeddings request, in order.
    pub fn count_each_input(&self, input: &EmbeddingInput) -> Vec<u64> {
        match input {
            EmbeddingInput::Text(text) => vec![self.count_text(text)],
            EmbeddingInput::Texts(texts) => texts.iter().map(|t| self.count_text(t)).collect(),
            EmbeddingInput::Tokens(tokens) => vec![tokens.len() as u64],
            EmbeddingInput::TokenBatches(batches) => {
                batches.iter().map(|b| b.len() as u64).collect()
            }
        }
    }

    /// The prompt tokens of any operation; 0 for a listing.
    pub fn count_request(&self, operation: &Operation) -> u64 {
        match operation {
            Operation::Chat(chat) => self.count_chat(chat),
            Operation::Completion(completion) => self.count_completion_prompt(completion),
            Operation::Embeddings(embeddings) => self.count_embeddings_input(embeddings),
            Operation::ListEndpoints => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use towergate_core::chat::Role;

    use super::*;
    use crate::Encoding;

    fn chat(value: serde_json::Value) -> ChatRequest {
        serde_json::from_value(value).unwrap()
    }

    /// The example conversation of OpenAI's cookbook "How to count tokens
    /// with tiktoken".
    fn cookbook_example() -> ChatRequest {
        chat(json!({"messages": [
            {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
            {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
            {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
            {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
            {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
            {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
        ]}))
    }

    // 129 and 124: the cookbook's own counting function, run with Python's
    // tiktoken 0.14 for gpt-4-0613 (cl100k_base) and gpt-4o (o200k_base).
    #[test]
    fn the_cookbook_example_counts_as_with_tiktoken() {
        let example = cookbook_example();
        assert_eq!(
            TokenCounter::for_model("gpt-4-0613").count_chat(&example),
            129
        );
        assert_eq!(
            TokenCounter::for_model("gpt-3.5-turbo").count_chat(&example),
            129
        );
        assert_eq!(TokenCounter::for_model("gpt-4o").count_chat(&example), 124);
    }

    #[test]
    fn a_chat_is_the_sum_of_its_messages_plus_priming() {
        let counter = TokenCounter::new(Encoding::O200kBase);
        let example = cookbook_example();
        let messages: u64 = example
            .messages
            .iter()
            .map(|m| counter.count_message(m))
            .sum();
        assert_eq!(counter.count_chat(&example), messages + REPLY_PRIMING);
    }

    #[test]
    fn text_parts_count_like_plain_text() {
        let counter = TokenCounter::new(Encoding::O200kBase);
        let plain = chat(json!({"messages": [{"role": "user", "content": "hello world, twice"}]}));
        let parts = chat(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "hello world"},
            {"type": "text", "text": ", twice"}
        ]}]}));
        assert_eq!(counter.count_chat(&parts), counter.count_chat(&plain));
    }

    #[test]
    fn images_count_a_fixed_estimate_by_detail() {
        let counter = TokenCounter::new(Encoding::O200kBase);
        let image = |detail: &str| {
            chat(json!({"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": detail}}
            ]}]}))
        };
        let empty = chat(json!({"messages": [{"role": "user", "content": []}]}));
        let base = counter.count_chat(&empty);
        assert_eq!(counter.count_chat(&image("low")), base + LOW_DETAIL_IMAGE);
        assert_eq!(counter.count_chat(&image("high")), base + DETAILED_IMAGE);
    }

    #[test]
    fn tool_calls_tool_answers_and_tools_are_counted() {
        let counter = TokenCounter::new(Encoding::O200kBase);
        let arguments = r#"{"city":"Paris","unit":"celsius"}"#;
        let request = chat(json!({
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments}
                }]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees, cloudy"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}
            }}]
        }));
        let assistant = &request.messages[1];
        assert_eq!(
            counter.count_message(assistant),
            TOKENS_PER_MESSAGE
                + counter.count_text("assistant")
                + counter.count_text("get_weather")
                + counter.count_text(arguments)
        );
        let tool = &request.messages[2];
        assert_eq!(
            counter.count_message(tool),
            TOKENS_PER_MESSAGE
                + counter.count_text("tool")
                + counter.count_text("18 degrees, cloudy")
        );
        let tools = request.tools.as_deref().unwrap();
        let definition = serde_json::to_string(&tools[0].function).unwrap();
        assert!(definition.contains("The weather in a city"));
        assert_eq!(counter.count_tools(tools), counter.count_text(&definition));

        let messages: u64 = request
            .messages
            .iter()
            .map(|m| counter.count_message(m))
            .sum();
        assert_eq!(
            counter.count_chat(&request),
            messages + counter.count_tools(tools) + REPLY_PRIMING
        );
    }

    #[test]
    fn a_name_costs_its_tokens_plus_one() {
        let counter = TokenCounter::new(Encoding::Cl100kBase);
        let mut message = ChatMessage::text(Role::User, "hi");
        let unnamed = counter.count_message(&message);
        message.name = Some("example_user".into());
        assert_eq!(
            counter.count_message(&message),
            unnamed + counter.count_text("example_user") + TOKENS_PER_NAME
        );
    }

    #[test]
    fn completion_prompts_count_texts_token_ids_and_suffix() {
        let counter = TokenCounter::new(Encoding::Cl100kBase);
        let request = |value| -> CompletionRequest { serde_json::from_value(value).unwrap() };
        assert_eq!(
            counter.count_completion_prompt(&request(json!({"prompt": "hello world"}))),
            2
        );
        assert_eq!(
            counter.count_completion_prompt(&request(json!({"prompt": ["hello world", "hello"]}))),
            3
        );
        assert_eq!(
            counter.count_completion_prompt(&request(json!({"prompt": [1, 2, 3, 4]}))),
            4
        );
        assert_eq!(
            counter.count_completion_prompt(&request(json!({"prompt": [[1, 2], [3, 4, 5]]}))),
            5
        );
        assert_eq!(
            counter.count_completion_prompt(&request(
                json!({"prompt": "hello world", "suffix": "hello world"})
            )),
            4
        );
    }

    #[test]
    fn embeddings_inputs_count_texts_and_token_ids() {
        let counter = TokenCounter::for_model("text-embedding-3-small");
        let request = |value| -> EmbeddingsRequest { serde_json::from_value(value).unwrap() };
        assert_eq!(
            counter.count_embeddings_input(&request(json!({"input": "hello world"}))),
            2
        );
        assert_eq!(
            counter.count_embeddings_input(&request(json!({"input": ["hello world", "hello"]}))),
            3
        );
        assert_eq!(
            counter.count_embeddings_input(&request(json!({"input": [7, 8, 9]}))),
            3
        );
        assert_eq!(
            counter.count_each_input(&EmbeddingInput::TokenBatches(vec![vec![1], vec![2, 3]])),
            vec![1, 2]
        );
    }

    #[test]
    fn count_request_dispatches_on_the_operation() {
        let counter = TokenCounter::new(Encoding::Cl100kBase);
        let example = cookbook_example();
        assert_eq!(counter.count_request(&Operation::Chat(example)), 129);
        assert_eq!(counter.count_request(&Operation::ListEndpoints), 0);
    }
}
