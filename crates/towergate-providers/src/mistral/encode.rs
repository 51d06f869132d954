//! OpenAI's requests in the form Mistral accepts; the differences are listed
//! in the module docs of [`super`].

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use towergate_core::{
    GatewayError,
    chat::{ChatRequest, Role},
    embeddings::{EmbeddingInput, EmbeddingsRequest},
};

fn refuse(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid(message).with_param(param)
}

fn to_bytes(value: &impl Serialize) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|error| {
        GatewayError::internal(format!("cannot encode the request for Mistral: {error}"))
    })
}

/// The chat request for `model`, without the fields Mistral refuses.
pub(super) fn chat(mut chat: ChatRequest, model: &str) -> Result<Bytes, GatewayError> {
    for (index, message) in chat.messages.iter_mut().enumerate() {
        match message.role {
            Role::Function => {
                return Err(refuse(
                    &format!("messages[{index}].role"),
                    "role `function` is not supported by provider mistral; use `tools`",
                ));
            }
            Role::Developer => message.role = Role::System,
            _ => {}
        }
        if message.role != Role::Tool {
            message.name = None;
        }
        message.refusal = None;
    }
    if chat.tool_choice.as_ref().and_then(Value::as_str) == Some("required") {
        chat.tool_choice = Some(Value::from("any"));
    }
    if let Some(max) = chat.max_completion_tokens.take() {
        chat.max_tokens.get_or_insert(max);
    }
    if let Some(seed) = chat.seed.take() {
        chat.extra
            .entry("random_seed")
            .or_insert_with(|| Value::from(seed));
    }
    chat.stream_options = None;
    chat.user = None;
    chat.logit_bias = None;
    chat.logprobs = None;
    chat.top_logprobs = None;
    chat.model = Some(model.to_owned());
    chat.extra.remove("model");

    let mut body = serde_json::to_value(&chat).map_err(|error| {
        GatewayError::internal(format!("cannot encode the request for Mistral: {error}"))
    })?;
    // An assistant message that only calls tools has no `content` at all.
    if let Some(messages) = body.get_mut("messages").and_then(Value::as_array_mut) {
        for message in messages {
            if let Some(fields) = message.as_object_mut()
                && fields.get("content").is_some_and(Value::is_null)
            {
                fields.remove("content");
            }
        }
    }
    to_bytes(&body)
}

/// Mistral's embeddings request.
#[derive(Debug, Serialize)]
struct Embed<'a> {
    model: &'a str,
    input: &'a EmbeddingInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimension: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding_format: Option<&'a str>,
    #[serde(flatten)]
    extra: &'a towergate_core::Extra,
}

/// The embeddings request for `model`: `dimensions` is `output_dimension`,
/// `user` is left out, token ids are refused.
pub(super) fn embeddings(request: &EmbeddingsRequest, model: &str) -> Result<Bytes, GatewayError> {
    if matches!(
        request.input,
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_)
    ) {
        return Err(refuse(
            "input",
            "token ids as `input` are not supported by provider mistral; send text",
        ));
    }
    let mut extra = request.extra.clone();
    extra.remove("model");
    to_bytes(&Embed {
        model,
        input: &request.input,
        output_dimension: request.dimensions,
        encoding_format: request.encoding_format.as_deref(),
        extra: &extra,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sent(body: Value) -> Value {
        let request: ChatRequest = serde_json::from_value(body).unwrap();
        serde_json::from_slice(&chat(request, "mistral-small").unwrap()).unwrap()
    }

    #[test]
    fn openai_only_fields_are_renamed_or_left_out() {
        let body = sent(json!({
            "model": "endpoint",
            "messages": [
                {"role": "developer", "content": "be brief", "name": "ops"},
                {"role": "user", "content": "hi", "name": "ann"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "abcdefghi", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "abcdefghi", "name": "f", "content": "42"}
            ],
            "seed": 7, "max_completion_tokens": 20, "user": "u", "logprobs": true,
            "stream": true, "stream_options": {"include_usage": true},
            "tool_choice": "required", "safe_prompt": true
        }));
        assert_eq!(body["model"], "mistral-small");
        assert_eq!(body["random_seed"], 7);
        assert_eq!(body["max_tokens"], 20);
        assert_eq!(body["tool_choice"], "any");
        assert_eq!(body["safe_prompt"], true);
        for gone in [
            "seed",
            "max_completion_tokens",
            "user",
            "logprobs",
            "stream_options",
        ] {
            assert!(body.get(gone).is_none(), "{gone}");
        }
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(
            body["messages"][1],
            json!({"role": "user", "content": "hi"})
        );
        assert!(body["messages"][2].get("content").is_none());
        assert_eq!(body["messages"][3]["name"], "f");
    }

    #[test]
    fn embeddings_use_output_dimension_and_refuse_token_ids() {
        let request: EmbeddingsRequest =
            serde_json::from_value(json!({"input": ["a", "b"], "dimensions": 4, "user": "u"}))
                .unwrap();
        let body: Value =
            serde_json::from_slice(&embeddings(&request, "mistral-embed").unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"model": "mistral-embed", "input": ["a", "b"], "output_dimension": 4})
        );
        let tokens: EmbeddingsRequest = serde_json::from_value(json!({"input": [1, 2]})).unwrap();
        assert_eq!(embeddings(&tokens, "m").unwrap_err().param(), Some("input"));
    }
}
