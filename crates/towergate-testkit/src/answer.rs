//! The mock's answers as typed towergate-core values, shared by the server
//! (which serializes them) and the in-process provider.
//!
//! Everything here is deterministic so tests can assert it: the reply echoes
//! the last user message, token counts are whitespace-separated words, and
//! embeddings are unit vectors derived from a hash of each input.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use towergate_core::{
    GatewayError, Usage,
    chat::{
        ChatChoice, ChatChunk, ChatDelta, ChatMessage, ChatRequest, ChatResponse, ChunkChoice,
        FunctionCall, FunctionCallDelta, Role, ToolCall, ToolCallDelta,
    },
    completion::{
        CompletionChoice, CompletionChunk, CompletionRequest, CompletionResponse, Prompt,
    },
    embeddings::{Embedding, EmbeddingInput, EmbeddingsRequest, EmbeddingsResponse, Vector},
    usage::{CompletionTokensDetails, PromptTokensDetails},
};

/// The model named in answers when the request names none.
pub(crate) const DEFAULT_MODEL: &str = "mock-model";
/// The `system_fingerprint` of chat answers.
const FINGERPRINT: &str = "fp_mock";
/// Embedding dimensions when the request sets none.
const DEFAULT_DIMENSIONS: u32 = 8;
/// The most embedding dimensions a request may ask for.
const MAX_DIMENSIONS: u32 = 8192;
/// The most choices a request may ask for.
const MAX_CHOICES: u32 = 128;

/// What shapes an answer besides the request itself.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AnswerSettings<'a> {
    /// A fixed reply instead of the echo.
    pub(crate) reply: Option<&'a str>,
    /// Content chunks per streamed choice; one per word when unset.
    pub(crate) chunks: Option<usize>,
}

/// A streamed answer in three parts, so faults can cut it after the content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StreamPlan<T> {
    /// Chunks before the content (the role chunks of a chat stream).
    pub(crate) head: Vec<T>,
    /// The content chunks.
    pub(crate) body: Vec<T>,
    /// The finish chunks and, when asked for, the usage chunk.
    pub(crate) tail: Vec<T>,
}

impl<T> StreamPlan<T> {
    /// Converts every chunk.
    pub(crate) fn map<U>(self, mut convert: impl FnMut(T) -> U) -> StreamPlan<U> {
        StreamPlan {
            head: self.head.into_iter().map(&mut convert).collect(),
            body: self.body.into_iter().map(&mut convert).collect(),
            tail: self.tail.into_iter().map(&mut convert).collect(),
        }
    }

    /// All chunks, in order.
    pub(crate) fn into_chunks(self) -> Vec<T> {
        let mut chunks = self.head;
        chunks.extend(self.body);
        chunks.extend(self.tail);
        chunks
    }
}

/// What one chat choice says: text, or a call to a tool.
enum ChatReply {
    Text(String),
    ToolCall { name: String, arguments: String },
}

impl ChatReply {
    fn for_request(request: &ChatRequest, settings: AnswerSettings<'_>) -> Self {
        let user_text = last_user_text(request);
        match tool_to_call(request) {
            Some(name) => ChatReply::ToolCall {
                name,
                arguments: serde_json::json!({ "echo": user_text }).to_string(),
            },
            None => ChatReply::Text(reply_text(settings.reply, &user_text)),
        }
    }

    /// The text whose words count as completion tokens.
    fn text(&self) -> &str {
        match self {
            ChatReply::Text(text) => text,
            ChatReply::ToolCall { arguments, .. } => arguments,
        }
    }

    fn finish_reason(&self) -> &'static str {
        match self {
            ChatReply::Text(_) => "stop",
            ChatReply::ToolCall { .. } => "tool_calls",
        }
    }
}

/// The text of the last user message, or nothing.
fn last_user_text(request: &ChatRequest) -> String {
    request
        .messages
        .iter()
        .rev()
        .find(|message| message.role == Role::User)
        .and_then(ChatMessage::text_content)
        .unwrap_or_default()
}

/// The tool to call: the one `tool_choice` names, else the first, unless
/// there are no tools or `tool_choice` is `"none"`.
fn tool_to_call(request: &ChatRequest) -> Option<String> {
    let first = request.tools.as_ref()?.first()?;
    match &request.tool_choice {
        Some(Value::String(choice)) if choice == "none" => None,
        Some(choice) => Some(
            choice
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or(&first.function.name)
                .to_owned(),
        ),
        None => Some(first.function.name.clone()),
    }
}

fn reply_text(fixed: Option<&str>, prompt: &str) -> String {
    match fixed {
        Some(reply) => reply.to_owned(),
        None => format!("echo: {prompt}"),
    }
}

/// Tokens, as the mock counts them: whitespace-separated words.
pub(crate) fn count_words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Unix seconds now.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

pub(crate) fn model_name(model: Option<&String>) -> String {
    model.map_or_else(|| DEFAULT_MODEL.to_owned(), Clone::clone)
}

fn choice_count(n: Option<u32>) -> Result<u32, GatewayError> {
    match n.unwrap_or(1) {
        n @ 1..=MAX_CHOICES => Ok(n),
        n => Err(GatewayError::invalid(format!(
            "Invalid 'n': {n}. Expected a value between 1 and {MAX_CHOICES}."
        ))
        .with_param("n")),
    }
}

/// Splits `text` into pieces whose concatenation is `text`: `chunks` pieces
/// of nearly equal length, or one piece per word (with the whitespace before
/// it) when `chunks` is unset. There is always at least one piece.
pub(crate) fn split_reply(text: &str, chunks: Option<usize>) -> Vec<String> {
    match chunks {
        Some(count) => {
            let count = count.max(1);
            let chars: Vec<char> = text.chars().collect();
            (0..count)
                .map(|i| {
                    let start = i * chars.len() / count;
                    let end = (i + 1) * chars.len() / count;
                    chars[start..end].iter().collect()
                })
                .collect()
        }
        None => {
            let mut pieces: Vec<String> = Vec::new();
            let mut current = String::new();
            let mut in_word = false;
            for c in text.chars() {
                if !c.is_whitespace() {
                    in_word = true;
                } else if in_word {
                    pieces.push(std::mem::take(&mut current));
                    in_word = false;
                }
                current.push(c);
            }
            match pieces.last_mut() {
                // Trailing whitespace belongs to the last word.
                Some(last) if !in_word => last.push_str(&current),
                _ => pieces.push(current),
            }
            pieces
        }
    }
}

/// Usage of a chat answer, with the detail blocks OpenAI sends.
fn chat_usage(request: &ChatRequest, reply: &ChatReply, choices: u32) -> Usage {
    let prompt = request
        .messages
        .iter()
        .filter_map(ChatMessage::text_content)
        .map(|text| count_words(&text))
        .sum();
    let mut usage = Usage::new(prompt, count_words(reply.text()) * u64::from(choices));
    usage.prompt_tokens_details = Some(PromptTokensDetails {
        cached_tokens: Some(0),
        ..PromptTokensDetails::default()
    });
    usage.completion_tokens_details = Some(CompletionTokensDetails {
        reasoning_tokens: Some(0),
        ..CompletionTokensDetails::default()
    });
    usage
}

/// The complete answer to a chat request.
pub(crate) fn chat_response(
    request: &ChatRequest,
    settings: AnswerSettings<'_>,
    id: u64,
) -> Result<ChatResponse, GatewayError> {
    let n = choice_count(request.n)?;
    let reply = ChatReply::for_request(request, settings);
    let message = match &reply {
        ChatReply::Text(text) => ChatMessage::text(Role::Assistant, text.clone()),
        ChatReply::ToolCall { name, arguments } => {
            let mut message = ChatMessage::text(Role::Assistant, "");
            message.content = None;
            message.tool_calls = Some(vec![ToolCall {
                id: "call_mock_0".to_owned(),
                kind: "function".to_owned(),
                function: FunctionCall {
                    name: name.clone(),
                    arguments: arguments.clone(),
                },
            }]);
            message
        }
    };
    Ok(ChatResponse {
        id: format!("chatcmpl-mock-{id}"),
        object: "chat.completion".to_owned(),
        created: now(),
        model: model_name(request.model.as_ref()),
        choices: (0..n)
            .map(|index| ChatChoice {
                index,
                message: message.clone(),
                finish_reason: Some(reply.finish_reason().to_owned()),
                logprobs: Some(Value::Null),
            })
            .collect(),
        usage: Some(chat_usage(request, &reply, n)),
        system_fingerprint: Some(FINGERPRINT.to_owned()),
        extra: Default::default(),
    })
}

/// The chunks of a streamed answer to a chat request.
pub(crate) fn chat_stream(
    request: &ChatRequest,
    settings: AnswerSettings<'_>,
    id: u64,
) -> Result<StreamPlan<ChatChunk>, GatewayError> {
    let n = choice_count(request.n)?;
    let reply = ChatReply::for_request(request, settings);
    let template = ChatChunk {
        id: format!("chatcmpl-mock-{id}"),
        object: "chat.completion.chunk".to_owned(),
        created: now(),
        model: model_name(request.model.as_ref()),
        choices: Vec::new(),
        usage: None,
        system_fingerprint: Some(FINGERPRINT.to_owned()),
        extra: Default::default(),
    };
    let chunk = |index: u32, delta: ChatDelta, finish_reason: Option<&str>| ChatChunk {
        choices: vec![ChunkChoice {
            index,
            delta,
            finish_reason: finish_reason.map(str::to_owned),
            logprobs: Some(Value::Null),
        }],
        ..template.clone()
    };

    let (first_delta, pieces) = match &reply {
        ChatReply::Text(text) => (
            ChatDelta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..ChatDelta::default()
            },
            split_reply(text, settings.chunks),
        ),
        ChatReply::ToolCall { name, arguments } => (
            ChatDelta {
                role: Some(Role::Assistant),
                tool_calls: Some(vec![ToolCallDelta {
                    index: 0,
                    id: Some("call_mock_0".to_owned()),
                    kind: Some("function".to_owned()),
                    function: Some(FunctionCallDelta {
                        name: Some(name.clone()),
                        arguments: Some(String::new()),
                    }),
                }]),
                ..ChatDelta::default()
            },
            split_reply(arguments, settings.chunks),
        ),
    };
    let piece_delta = |piece: &str| match &reply {
        ChatReply::Text(_) => ChatDelta {
            content: Some(piece.to_owned()),
            ..ChatDelta::default()
        },
        ChatReply::ToolCall { .. } => ChatDelta {
            tool_calls: Some(vec![ToolCallDelta {
                index: 0,
                id: None,
                kind: None,
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some(piece.to_owned()),
                }),
            }]),
            ..ChatDelta::default()
        },
    };

    let head = (0..n)
        .map(|i| chunk(i, first_delta.clone(), None))
        .collect();
    let body = pieces
        .iter()
        .flat_map(|piece| (0..n).map(|i| chunk(i, piece_delta(piece), None)))
        .collect();
    let mut tail: Vec<ChatChunk> = (0..n)
        .map(|i| chunk(i, ChatDelta::default(), Some(reply.finish_reason())))
        .collect();
    if request.wants_stream_usage() {
        tail.push(ChatChunk {
            usage: Some(chat_usage(request, &reply, n)),
            ..template.clone()
        });
    }
    Ok(StreamPlan { head, body, tail })
}

/// The texts of a completion prompt; token ids are joined with spaces.
fn prompt_texts(prompt: &Prompt) -> Vec<String> {
    let join = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    match prompt {
        Prompt::Text(text) => vec![text.clone()],
        Prompt::Texts(texts) => texts.clone(),
        Prompt::Tokens(ids) => vec![join(ids)],
        Prompt::TokenBatches(batches) => batches.iter().map(|ids| join(ids)).collect(),
    }
}

/// One reply per choice of a completion: `n` per prompt, in prompt order.
fn completion_replies(
    request: &CompletionRequest,
    settings: AnswerSettings<'_>,
) -> Result<(Vec<String>, Usage), GatewayError> {
    let prompts = prompt_texts(&request.prompt);
    if prompts.is_empty() {
        return Err(GatewayError::invalid("'prompt' must not be empty").with_param("prompt"));
    }
    let n = choice_count(request.n)?;
    let replies: Vec<String> = prompts
        .iter()
        .flat_map(|prompt| (0..n).map(move |_| reply_text(settings.reply, prompt)))
        .collect();
    let prompt_tokens = prompts.iter().map(|p| count_words(p)).sum();
    let completion_tokens = replies.iter().map(|r| count_words(r)).sum();
    Ok((replies, Usage::new(prompt_tokens, completion_tokens)))
}

fn completion_template(request: &CompletionRequest, id: u64) -> CompletionResponse {
    CompletionResponse {
        id: format!("cmpl-mock-{id}"),
        object: "text_completion".to_owned(),
        created: now(),
        model: model_name(request.model.as_ref()),
        choices: Vec::new(),
        usage: None,
        system_fingerprint: None,
        extra: Default::default(),
    }
}

/// The complete answer to a text completion request.
pub(crate) fn completion_response(
    request: &CompletionRequest,
    settings: AnswerSettings<'_>,
    id: u64,
) -> Result<CompletionResponse, GatewayError> {
    let (replies, usage) = completion_replies(request, settings)?;
    Ok(CompletionResponse {
        choices: (0u32..)
            .zip(replies)
            .map(|(index, text)| CompletionChoice {
                text,
                index,
                logprobs: None,
                finish_reason: Some("stop".to_owned()),
            })
            .collect(),
        usage: Some(usage),
        ..completion_template(request, id)
    })
}

/// The chunks of a streamed answer to a text completion request.
pub(crate) fn completion_stream(
    request: &CompletionRequest,
    settings: AnswerSettings<'_>,
    id: u64,
) -> Result<StreamPlan<CompletionChunk>, GatewayError> {
    let (replies, usage) = completion_replies(request, settings)?;
    let template = completion_template(request, id);
    let chunk = |index: u32, text: &str, finish_reason: Option<&str>| CompletionChunk {
        choices: vec![CompletionChoice {
            text: text.to_owned(),
            index,
            logprobs: None,
            finish_reason: finish_reason.map(str::to_owned),
        }],
        ..template.clone()
    };
    let pieces: Vec<Vec<String>> = replies
        .iter()
        .map(|reply| split_reply(reply, settings.chunks))
        .collect();
    let longest = pieces.iter().map(Vec::len).max().unwrap_or(0);
    let body = (0..longest)
        .flat_map(|k| {
            (0u32..)
                .zip(&pieces)
                .filter_map(move |(index, pieces)| Some((index, pieces.get(k)?)))
        })
        .map(|(index, piece)| chunk(index, piece, None))
        .collect();
    let mut tail: Vec<CompletionChunk> = (0u32..)
        .zip(&replies)
        .map(|(index, _)| chunk(index, "", Some("stop")))
        .collect();
    if request.wants_stream_usage() {
        tail.push(CompletionChunk {
            usage: Some(usage),
            ..template.clone()
        });
    }
    Ok(StreamPlan {
        head: Vec::new(),
        body,
        tail,
    })
}

/// The texts to embed; token ids are joined with spaces.
fn embedding_texts(input: &EmbeddingInput) -> Vec<String> {
    match input {
        EmbeddingInput::Text(text) => vec![text.clone()],
        EmbeddingInput::Texts(texts) => texts.clone(),
        EmbeddingInput::Tokens(ids) => prompt_texts(&Prompt::Tokens(ids.clone())),
        EmbeddingInput::TokenBatches(batches) => {
            prompt_texts(&Prompt::TokenBatches(batches.clone()))
        }
    }
}

/// The answer to an embeddings request: one unit vector per input.
pub(crate) fn embeddings_response(
    request: &EmbeddingsRequest,
) -> Result<EmbeddingsResponse, GatewayError> {
    let texts = embedding_texts(&request.input);
    if texts.is_empty() {
        return Err(GatewayError::invalid("'input' must not be empty").with_param("input"));
    }
    let dimensions = request.dimensions.unwrap_or(DEFAULT_DIMENSIONS);
    if !(1..=MAX_DIMENSIONS).contains(&dimensions) {
        return Err(GatewayError::invalid(format!(
            "Invalid 'dimensions': {dimensions}. Expected a value between 1 and {MAX_DIMENSIONS}."
        ))
        .with_param("dimensions"));
    }
    let prompt_tokens = texts.iter().map(|t| count_words(t)).sum();
    Ok(EmbeddingsResponse {
        object: "list".to_owned(),
        data: (0u32..)
            .zip(&texts)
            .map(|(index, text)| Embedding {
                object: "embedding".to_owned(),
                index,
                embedding: Vector::Float(unit_vector(text, dimensions)),
            })
            .collect(),
        model: model_name(request.model.as_ref()),
        usage: Some(Usage::new(prompt_tokens, 0)),
        extra: Default::default(),
    })
}

/// A unit vector of `dimensions` floats, the same for the same text on every
/// run and platform: FNV-1a of the text seeds a SplitMix64 sequence.
pub(crate) fn unit_vector(text: &str, dimensions: u32) -> Vec<f32> {
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // Top 53 bits as a float in [-1, 1).
    let raw: Vec<f64> = (0..dimensions)
        .map(|_| (next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        let mut unit = vec![0.0; raw.len()];
        unit[0] = 1.0;
        return unit;
    }
    raw.iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn split_reply_keeps_the_text() {
        let text = "echo: hello  big world ";
        let words = split_reply(text, None);
        assert_eq!(words, ["echo:", " hello", "  big", " world "]);
        for chunks in 1..30 {
            let pieces = split_reply(text, Some(chunks));
            assert_eq!(pieces.len(), chunks);
            assert_eq!(pieces.concat(), text);
        }
        assert_eq!(split_reply("", None), [""]);
        assert_eq!(split_reply("  lead", None).concat(), "  lead");
        assert_eq!(split_reply("héllo wörld", Some(4)).concat(), "héllo wörld");
    }

    #[test]
    fn unit_vectors_are_deterministic_and_normalised() {
        let a = unit_vector("hello", 8);
        assert_eq!(a, unit_vector("hello", 8));
        assert_ne!(a, unit_vector("hello!", 8));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(unit_vector("x", 1)[0].abs(), 1.0);
    }

    #[test]
    fn tool_choice_none_answers_with_text() {
        let request: ChatRequest = serde_json::from_value(json!({
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "lookup"}}],
            "tool_choice": "none"
        }))
        .unwrap();
        let response = chat_response(&request, AnswerSettings::default(), 1).unwrap();
        assert_eq!(response.choices[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            response.choices[0].message.text_content().as_deref(),
            Some("echo: hi")
        );
    }
}
