//! A request turned into the ids and settings of one generation.

use towergate_core::{
    GatewayError, GatewayRequest, Operation,
    chat::{ChatMessage, Role, Stop},
    completion::Prompt,
};

use super::{generate::Params, model::LoadedModel};

/// Tokens generated when the request sets no limit.
pub(crate) const DEFAULT_MAX_TOKENS: usize = 256;
/// Seed of the sampler when the request sets none, so answers repeat.
pub(crate) const DEFAULT_SEED: u64 = 299_792_458;

/// Which API shape the answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `chat.completion`.
    Chat,
    /// `text_completion`.
    Completion,
}

/// One generation to run.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// The answer's shape.
    pub(crate) shape: Shape,
    /// The prompt's token ids.
    pub(crate) prompt: Vec<u32>,
    /// Sampling and stopping.
    pub(crate) params: Params,
    /// Whether to stream.
    pub(crate) stream: bool,
    /// Whether a streamed answer ends with a usage chunk.
    pub(crate) include_usage: bool,
}

/// The knobs shared by chat and completion requests.
struct Knobs<'a> {
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u32>,
    n: Option<u32>,
    seed: Option<i64>,
    stop: Option<&'a Stop>,
}

fn params(knobs: Knobs<'_>) -> Result<Params, GatewayError> {
    if let Some(t) = knobs.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(
            GatewayError::invalid("`temperature` must be between 0 and 2")
                .with_param("temperature"),
        );
    }
    if let Some(p) = knobs.top_p
        && !(p > 0.0 && p <= 1.0)
    {
        return Err(
            GatewayError::invalid("`top_p` must be greater than 0 and at most 1")
                .with_param("top_p"),
        );
    }
    if knobs.n.is_some_and(|n| n != 1) {
        return Err(
            GatewayError::invalid("a local model generates one choice (`n` = 1)").with_param("n"),
        );
    }
    let max_tokens = match knobs.max_tokens {
        Some(0) => {
            return Err(
                GatewayError::invalid("`max_tokens` must be at least 1").with_param("max_tokens")
            );
        }
        Some(n) => n as usize,
        None => DEFAULT_MAX_TOKENS,
    };
    Ok(Params {
        max_tokens,
        temperature: knobs.temperature,
        top_p: knobs.top_p.filter(|p| *p < 1.0),
        seed: knobs.seed.map_or(DEFAULT_SEED, |s| s as u64),
        stop: knobs
            .stop
            .map(|s| {
                s.as_slice()
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn encode(model: &LoadedModel, text: &str) -> Result<Vec<u32>, GatewayError> {
    model
        .tokenizer
        .tokenizer
        .encode(text, false)
        .map(|encoding| encoding.get_ids().to_vec())
        .map_err(|e| GatewayError::internal(format!("cannot tokenize the prompt: {e}")))
}

/// Renders `messages` with the model's template, `system` first when they
/// have no system message of their own.
fn render(
    model: &LoadedModel,
    messages: &[ChatMessage],
    system: Option<&ChatMessage>,
) -> Result<String, GatewayError> {
    let has_system = messages
        .iter()
        .any(|m| matches!(m.role, Role::System | Role::Developer));
    match system {
        Some(system) if !has_system => {
            let with_system: Vec<ChatMessage> = std::iter::once(system.clone())
                .chain(messages.iter().cloned())
                .collect();
            model.template.render(&with_system)
        }
        _ => model.template.render(messages),
    }
}

/// Reads `request` into a job, or says why it cannot be served.
///
/// `system` is the system message put first when the chat has none.
pub(crate) fn job(
    model: &LoadedModel,
    request: &GatewayRequest,
    system: Option<&ChatMessage>,
) -> Result<Job, GatewayError> {
    let job = match &request.operation {
        Operation::Chat(chat) => {
            if chat.messages.is_empty() {
                return Err(
                    GatewayError::invalid("`messages` must not be empty").with_param("messages")
                );
            }
            Job {
                shape: Shape::Chat,
                prompt: encode(model, &render(model, &chat.messages, system)?)?,
                params: params(Knobs {
                    temperature: chat.temperature,
                    top_p: chat.top_p,
                    max_tokens: chat.max_completion_tokens.or(chat.max_tokens),
                    n: chat.n,
                    seed: chat.seed,
                    stop: chat.stop.as_ref(),
                })?,
                stream: chat.is_stream(),
                include_usage: chat.wants_stream_usage(),
            }
        }
        Operation::Completion(completion) => {
            let prompt = match &completion.prompt {
                Prompt::Text(text) => encode(model, text)?,
                Prompt::Texts(texts) if texts.len() == 1 => encode(model, &texts[0])?,
                Prompt::Tokens(ids) => ids.clone(),
                Prompt::TokenBatches(batches) if batches.len() == 1 => batches[0].clone(),
                _ => {
                    return Err(GatewayError::invalid(
                        "a local model completes one prompt per request",
                    )
                    .with_param("prompt"));
                }
            };
            let vocab = model.tokenizer.tokenizer.get_vocab_size(true) as u32;
            if prompt.iter().any(|id| *id >= vocab) {
                return Err(
                    GatewayError::invalid("the prompt holds an unknown token id")
                        .with_param("prompt"),
                );
            }
            Job {
                shape: Shape::Completion,
                prompt,
                params: params(Knobs {
                    temperature: completion.temperature,
                    top_p: completion.top_p,
                    max_tokens: completion.max_tokens,
                    n: completion.n,
                    seed: completion.seed,
                    stop: completion.stop.as_ref(),
                })?,
                stream: completion.is_stream(),
                include_usage: completion.wants_stream_usage(),
            }
        }
        Operation::Embeddings(_) | Operation::ListEndpoints => {
            return Err(GatewayError::invalid(format!(
                "endpoint `{}` is a local chat model: it serves chat and completions only",
                request.endpoint
            )));
        }
    };
    if job.prompt.is_empty() {
        return Err(GatewayError::invalid("the prompt must not be empty").with_param("prompt"));
    }
    if job.prompt.len() >= model.context_length {
        return Err(GatewayError::invalid(format!(
            "the prompt has {} tokens; the model's context holds {}",
            job.prompt.len(),
            model.context_length
        ))
        .with_code("context_length_exceeded"));
    }
    Ok(job)
}
