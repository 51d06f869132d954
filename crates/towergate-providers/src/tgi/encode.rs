//! Chat and completion requests to TGI's `{"inputs", "parameters"}` body.

use bytes::Bytes;
use serde_json::{Map, Value, json};
use towergate_core::{
    GatewayError, Operation,
    chat::{ChatRequest, ResponseFormat, Stop},
    completion::{CompletionRequest, Prompt},
};

use super::{PROVIDER, prompt};

/// The smallest temperature sent: TGI refuses 0, so 0 (greedy) becomes
/// this, as MLflow's gateway does it.
pub(super) const MIN_TEMPERATURE: f64 = 1e-3;

/// Which answer the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Chat,
    Completion,
}

/// A request ready to send.
#[derive(Debug)]
pub(super) struct Encoded {
    pub(super) kind: Kind,
    pub(super) stream: bool,
    pub(super) body: Bytes,
}

/// The generation settings both kinds of request share.
#[derive(Default)]
struct Settings {
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<Stop>,
    seed: Option<i64>,
    n: Option<u32>,
    frequency_penalty: Option<f64>,
    presence_penalty: Option<f64>,
}

fn unsupported(param: &str, what: &str) -> GatewayError {
    GatewayError::invalid(format!(
        "`{param}`: {what} not supported by provider {PROVIDER}"
    ))
    .with_param(param)
}

/// Encodes `operation`; embeddings and tools are refused.
pub(super) fn encode(operation: Operation) -> Result<Encoded, GatewayError> {
    let (kind, stream, inputs, settings, extra) = match operation {
        Operation::Chat(chat) => chat_parts(chat)?,
        Operation::Completion(completion) => completion_parts(completion)?,
        Operation::Embeddings(_) => {
            return Err(GatewayError::invalid(format!(
                "endpoint type llm/v1/embeddings is not supported by provider {PROVIDER}"
            )));
        }
        Operation::ListEndpoints => {
            return Err(crate::service::cannot_list_endpoints());
        }
    };
    let mut parameters = parameters(settings, stream)?;
    // Fields towergate does not model are TGI's own parameters (`top_k`,
    // `repetition_penalty`, `do_sample`, …).
    parameters.extend(extra);
    parameters.remove("model");
    let body = json!({"inputs": inputs, "parameters": parameters});
    let body = serde_json::to_vec(&body).map_err(|error| {
        GatewayError::internal(format!(
            "cannot encode the request for the upstream: {error}"
        ))
    })?;
    Ok(Encoded {
        kind,
        stream,
        body: Bytes::from(body),
    })
}

type Parts = (Kind, bool, String, Settings, Map<String, Value>);

fn chat_parts(chat: ChatRequest) -> Result<Parts, GatewayError> {
    if chat.tools.as_ref().is_some_and(|tools| !tools.is_empty()) {
        return Err(unsupported("tools", "tools are"));
    }
    if chat
        .tool_choice
        .as_ref()
        .is_some_and(|choice| choice != "none")
    {
        return Err(unsupported("tool_choice", "tools are"));
    }
    if chat.logprobs == Some(true) {
        return Err(unsupported("logprobs", "log probabilities are"));
    }
    let mut extra = chat.extra;
    if let Some(format) = chat.response_format
        && let Some(grammar) = grammar(format)?
    {
        extra.insert("grammar".to_owned(), grammar);
    }
    let settings = Settings {
        max_tokens: chat.max_completion_tokens.or(chat.max_tokens),
        temperature: chat.temperature,
        top_p: chat.top_p,
        stop: chat.stop,
        seed: chat.seed,
        n: chat.n,
        frequency_penalty: chat.frequency_penalty,
        presence_penalty: chat.presence_penalty,
    };
    let stream = chat.stream.unwrap_or(false);
    let inputs = prompt::render(&chat.messages)?;
    Ok((Kind::Chat, stream, inputs, settings, extra))
}

/// `response_format` as TGI's `grammar`: JSON, under a schema if one is given.
fn grammar(format: ResponseFormat) -> Result<Option<Value>, GatewayError> {
    match format.kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(json!({"type": "json", "value": {"type": "object"}}))),
        "json_schema" => {
            let schema = format
                .json_schema
                .as_ref()
                .and_then(|wrapper| wrapper.get("schema"))
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"}));
            Ok(Some(json!({"type": "json", "value": schema})))
        }
        other => Err(GatewayError::invalid(format!(
            "`response_format.type`: must be text, json_object or json_schema (got `{other}`)"
        ))
        .with_param("response_format.type")),
    }
}

fn completion_parts(completion: CompletionRequest) -> Result<Parts, GatewayError> {
    let inputs = match completion.prompt {
        Prompt::Text(text) => text,
        Prompt::Texts(mut texts) if texts.len() == 1 => texts.remove(0),
        Prompt::Texts(_) | Prompt::TokenBatches(_) => {
            return Err(GatewayError::invalid(format!(
                "`prompt`: provider {PROVIDER} completes one prompt per request"
            ))
            .with_param("prompt"));
        }
        Prompt::Tokens(_) => return Err(unsupported("prompt", "token ids are")),
    };
    if completion.suffix.is_some() {
        return Err(unsupported("suffix", "a suffix is"));
    }
    if completion.logprobs.is_some() {
        return Err(unsupported("logprobs", "log probabilities are"));
    }
    let mut extra = completion.extra;
    if completion.echo == Some(true) {
        extra.insert("return_full_text".to_owned(), json!(true));
    }
    if let Some(best_of) = completion.best_of.filter(|best| *best > 1) {
        extra.insert("best_of".to_owned(), json!(best_of));
    }
    let settings = Settings {
        max_tokens: completion.max_tokens,
        temperature: completion.temperature,
        top_p: completion.top_p,
        stop: completion.stop,
        seed: completion.seed,
        n: completion.n,
        frequency_penalty: completion.frequency_penalty,
        presence_penalty: completion.presence_penalty,
    };
    let stream = completion.stream.unwrap_or(false);
    Ok((Kind::Completion, stream, inputs, settings, extra))
}

/// TGI's `parameters`: token counts always asked for (`details`; the prompt
/// tokens with `decoder_input_details`, which a stream reports as
/// `input_length` instead).
fn parameters(settings: Settings, stream: bool) -> Result<Map<String, Value>, GatewayError> {
    if settings.n.is_some_and(|n| n != 1) {
        return Err(
            GatewayError::invalid(format!("`n`: must be 1 for provider {PROVIDER}"))
                .with_param("n"),
        );
    }
    if settings
        .presence_penalty
        .is_some_and(|penalty| penalty != 0.0)
    {
        return Err(unsupported("presence_penalty", "a presence penalty is"));
    }
    let mut parameters = Map::new();
    let mut set = |key: &str, value: Value| {
        parameters.insert(key.to_owned(), value);
    };
    if let Some(max) = settings.max_tokens {
        set("max_new_tokens", json!(max));
    }
    if let Some(temperature) = settings.temperature {
        set("temperature", json!(temperature.max(MIN_TEMPERATURE)));
    }
    // TGI takes `top_p` strictly below 1; 1 means no nucleus cut at all.
    if let Some(top_p) = settings.top_p.filter(|p| *p < 1.0) {
        set("top_p", json!(top_p));
    }
    if let Some(stop) = settings.stop {
        set("stop", json!(stop.as_slice()));
    }
    if let Some(seed) = settings.seed {
        let seed = u64::try_from(seed).map_err(|_| {
            GatewayError::invalid(format!(
                "`seed`: must not be negative for provider {PROVIDER}"
            ))
            .with_param("seed")
        })?;
        set("seed", json!(seed));
    }
    if let Some(penalty) = settings.frequency_penalty {
        set("frequency_penalty", json!(penalty));
    }
    set("details", json!(true));
    if !stream {
        set("decoder_input_details", json!(true));
    }
    Ok(parameters)
}
