//! Requests to an MLflow model server's `{"inputs": [...], "params": {...}}`.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};
use towergate_core::{
    GatewayError, Operation,
    chat::ChatRequest,
    completion::{CompletionRequest, Prompt},
    embeddings::{EmbeddingInput, EmbeddingsRequest},
};

use super::PROVIDER;

/// Which answer the caller expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Chat,
    Completion,
    Embeddings {
        /// The caller asked for base64 vectors.
        base64: bool,
    },
}

/// A request ready to send.
#[derive(Debug)]
pub(super) struct Encoded {
    pub(super) kind: Kind,
    pub(super) body: Bytes,
}

/// Encodes `operation` as MLflow's gateway does: the messages, prompt or
/// input become `inputs` (always a list), every other field the caller set
/// becomes `params`.
pub(super) fn encode(operation: Operation) -> Result<Encoded, GatewayError> {
    if operation.is_stream() {
        return Err(GatewayError::invalid(format!(
            "`stream`: streaming is not supported by provider {PROVIDER}"
        ))
        .with_param("stream"));
    }
    let (kind, inputs, params) = match operation {
        Operation::Chat(chat) => chat_parts(chat)?,
        Operation::Completion(completion) => completion_parts(completion)?,
        Operation::Embeddings(embeddings) => embeddings_parts(embeddings)?,
        Operation::ListEndpoints => {
            return Err(crate::service::cannot_list_endpoints());
        }
    };
    let mut body = Map::new();
    body.insert("inputs".to_owned(), Value::Array(inputs));
    if !params.is_empty() {
        body.insert("params".to_owned(), Value::Object(params));
    }
    let body = serde_json::to_vec(&body).map_err(encode_failure)?;
    Ok(Encoded {
        kind,
        body: Bytes::from(body),
    })
}

fn encode_failure(error: serde_json::Error) -> GatewayError {
    GatewayError::internal(format!(
        "cannot encode the request for the upstream: {error}"
    ))
}

/// What a request becomes: its kind, `inputs` and `params`.
type Parts = (Kind, Vec<Value>, Map<String, Value>);

/// The request's fields as a JSON object without `skip`: what goes in `params`.
fn params(request: &impl Serialize, skip: &[&str]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::to_value(request).map_err(encode_failure)? {
        Value::Object(mut fields) => {
            for key in skip {
                fields.remove(*key);
            }
            Ok(fields)
        }
        _ => Ok(Map::new()),
    }
}

/// A chat model served by MLflow takes one query: the one message's text.
fn chat_parts(chat: ChatRequest) -> Result<Parts, GatewayError> {
    if chat.tools.as_ref().is_some_and(|tools| !tools.is_empty()) {
        return Err(GatewayError::invalid(format!(
            "`tools`: tools are not supported by provider {PROVIDER}"
        ))
        .with_param("tools"));
    }
    let [message] = chat.messages.as_slice() else {
        return Err(GatewayError::invalid(format!(
            "MLflow chat models are only capable of processing a single query at a time. \
             The request submitted consists of {} queries.",
            chat.messages.len()
        ))
        .with_param("messages"));
    };
    let query = message.text_content().unwrap_or_default();
    let params = params(&chat, &["messages", "model", "stream", "stream_options"])?;
    Ok((Kind::Chat, vec![json!(query)], params))
}

fn completion_parts(completion: CompletionRequest) -> Result<Parts, GatewayError> {
    let inputs = match &completion.prompt {
        Prompt::Text(text) => vec![json!(text)],
        Prompt::Texts(texts) if !texts.is_empty() => texts.iter().map(|text| json!(text)).collect(),
        Prompt::Texts(_) => {
            return Err(GatewayError::invalid("`prompt`: must not be empty").with_param("prompt"));
        }
        Prompt::Tokens(_) | Prompt::TokenBatches(_) => {
            return Err(GatewayError::invalid(format!(
                "`prompt`: token ids are not supported by provider {PROVIDER}"
            ))
            .with_param("prompt"));
        }
    };
    let params = params(
        &completion,
        &["prompt", "model", "stream", "stream_options"],
    )?;
    Ok((Kind::Completion, inputs, params))
}

fn embeddings_parts(embeddings: EmbeddingsRequest) -> Result<Parts, GatewayError> {
    let inputs = match &embeddings.input {
        EmbeddingInput::Text(text) => vec![json!(text)],
        EmbeddingInput::Texts(texts) if !texts.is_empty() => {
            texts.iter().map(|text| json!(text)).collect()
        }
        EmbeddingInput::Texts(_) => {
            return Err(GatewayError::invalid("`input`: must not be empty").with_param("input"));
        }
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(GatewayError::invalid(format!(
                "`input`: token ids are not supported by provider {PROVIDER}"
            ))
            .with_param("input"));
        }
    };
    let base64 = match embeddings.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(GatewayError::invalid(format!(
                "`encoding_format`: must be float or base64 (got `{other}`)"
            ))
            .with_param("encoding_format"));
        }
    };
    // The vectors' encoding is the gateway's business, not the model's.
    let params = params(&embeddings, &["input", "model", "encoding_format"])?;
    Ok((Kind::Embeddings { base64 }, inputs, params))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sent(operation: Operation) -> Value {
        serde_json::from_slice(&encode(operation).unwrap().body).unwrap()
    }

    #[test]
    fn params_are_only_what_the_caller_set() {
        let chat = serde_json::from_value(json!({
            "model": "e", "messages": [{"role": "user", "content": "hi"}]
        }))
        .unwrap();
        assert_eq!(sent(Operation::Chat(chat)), json!({"inputs": ["hi"]}));
    }

    #[test]
    fn several_messages_are_refused() {
        let chat = serde_json::from_value(json!({"messages": [
            {"role": "system", "content": "a"}, {"role": "user", "content": "b"}
        ]}))
        .unwrap();
        let error = encode(Operation::Chat(chat)).unwrap_err();
        assert!(
            error.message().contains("consists of 2 queries"),
            "{}",
            error.message()
        );
    }
}
