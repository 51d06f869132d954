//! Mistral's answers as OpenAI's: nearly the same shape, with a few
//! differences smoothed over before the typed parse.

use http::StatusCode;
use serde_json::Value;
use towergate_core::{
    GatewayError, GatewayResponse, Payload, ResponseMeta,
    chat::{ChatChunk, ChatResponse},
    embeddings::EmbeddingsResponse,
};

use crate::upstream::parse_json;

/// OpenAI's `finish_reason` for Mistral's.
fn finish_reason(reason: &str) -> &str {
    match reason {
        "model_length" => "length",
        "error" => "stop",
        other => other,
    }
}

/// Smooths one choice (`message` or `delta` under `key`): tool calls get
/// `type: function` when Mistral leaves it out and their arguments as JSON
/// text when Mistral sends an object; Mistral's own `prefix` flag is
/// dropped; the finish reason is OpenAI's.
fn smooth_choice(choice: &mut Value, key: &str) {
    if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
        let reason = finish_reason(reason).to_owned();
        choice["finish_reason"] = Value::String(reason);
    }
    let Some(message) = choice.get_mut(key).and_then(Value::as_object_mut) else {
        return;
    };
    message.remove("prefix");
    let Some(calls) = message.get_mut("tool_calls").and_then(Value::as_array_mut) else {
        if message.get("tool_calls").is_some_and(Value::is_null) {
            message.remove("tool_calls");
        }
        return;
    };
    for call in calls {
        let Some(call) = call.as_object_mut() else {
            continue;
        };
        let complete = key == "message" || call.contains_key("id");
        if complete && call.get("type").is_none_or(Value::is_null) {
            call.insert("type".to_owned(), Value::from("function"));
        }
        if let Some(arguments) = call
            .get_mut("function")
            .and_then(|f| f.get_mut("arguments"))
            && !arguments.is_string()
            && !arguments.is_null()
        {
            *arguments = Value::String(arguments.to_string());
        }
    }
}

/// Every choice of an answer or chunk, smoothed.
pub(super) fn smooth(body: &mut Value, key: &str) {
    if let Some(choices) = body.get_mut("choices").and_then(Value::as_array_mut) {
        for choice in choices {
            smooth_choice(choice, key);
        }
    }
}

/// A chat completion from a successful body.
pub(super) fn chat(
    status: StatusCode,
    body: &[u8],
    host: &str,
) -> Result<GatewayResponse, GatewayError> {
    let mut value: Value = parse_json(body, host, status, "a Mistral chat completion")?;
    smooth(&mut value, "message");
    let chat: ChatResponse = serde_json::from_value(value).map_err(|error| {
        GatewayError::bad_gateway(format!(
            "upstream `{host}` answered {status} but its body is not a Mistral chat completion: {error}"
        ))
    })?;
    Ok(GatewayResponse {
        meta: ResponseMeta {
            model: Some(chat.model.clone()),
            usage: chat.usage.clone(),
            ..ResponseMeta::default()
        },
        payload: Payload::Chat(chat),
    })
}

/// One streamed chunk from an event's data.
pub(super) fn chunk(data: &str, host: &str) -> Result<ChatChunk, GatewayError> {
    let bad = |error: serde_json::Error| {
        GatewayError::bad_gateway(format!(
            "upstream `{host}` sent a stream event that is not a Mistral chat chunk: {error}"
        ))
    };
    let mut value: Value = serde_json::from_str(data).map_err(bad)?;
    smooth(&mut value, "delta");
    serde_json::from_value(value).map_err(bad)
}

/// Embeddings from a successful body (OpenAI's shape, with an `id`).
pub(super) fn embeddings(
    status: StatusCode,
    body: &[u8],
    host: &str,
) -> Result<GatewayResponse, GatewayError> {
    let embeddings: EmbeddingsResponse =
        parse_json(body, host, status, "a Mistral embeddings answer")?;
    Ok(GatewayResponse {
        meta: ResponseMeta {
            model: Some(embeddings.model.clone()),
            usage: embeddings.usage.clone(),
            ..ResponseMeta::default()
        },
        payload: Payload::Embeddings(embeddings),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_without_type_and_with_object_arguments_are_smoothed() {
        let body = br#"{"id":"c","object":"chat.completion","created":1,"model":"mistral-small",
            "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
              "content":"","prefix":false,"tool_calls":[{"id":"abcdefghi",
              "function":{"name":"f","arguments":{"city":"Paris"}}}]}}],
            "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
        let response = chat(StatusCode::OK, body, "h").unwrap();
        let Payload::Chat(answer) = response.payload else {
            panic!("not a chat answer")
        };
        let message = &answer.choices[0].message;
        assert!(message.extra.get("prefix").is_none());
        let call = &message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.kind, "function");
        assert_eq!(call.function.arguments, r#"{"city":"Paris"}"#);
        assert_eq!(response.meta.usage.map(|u| u.total_tokens), Some(5));
    }

    #[test]
    fn model_length_is_length() {
        let chunk = chunk(
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",
               "choices":[{"index":0,"delta":{"content":""},"finish_reason":"model_length"}]}"#,
            "h",
        )
        .unwrap();
        assert_eq!(chunk.choices[0].finish_reason.as_deref(), Some("length"));
    }
}
