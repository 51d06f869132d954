//! OpenAI's complete answers to typed responses, in one deserialization.

use http::StatusCode;
use serde::de::DeserializeOwned;
use towergate_core::{
    GatewayError, GatewayResponse, Payload, ResponseMeta, chat::ChatResponse,
    completion::CompletionResponse, embeddings::EmbeddingsResponse,
};

use super::encode::Kind;

/// Parses a successful body as the answer to a `kind` request.
pub(super) fn decode(
    kind: Kind,
    status: StatusCode,
    body: &[u8],
    host: &str,
) -> Result<GatewayResponse, GatewayError> {
    let parse_error = |error: serde_json::Error| {
        GatewayError::bad_gateway(format!(
            "upstream `{host}` answered {status} but its body is not {}: {error}",
            kind.answer_name(false)
        ))
    };
    let (payload, model, usage) = match kind {
        Kind::Chat => {
            let chat: ChatResponse = parse(body).map_err(parse_error)?;
            let (model, usage) = (chat.model.clone(), chat.usage.clone());
            (Payload::Chat(chat), model, usage)
        }
        Kind::Completion => {
            let completion: CompletionResponse = parse(body).map_err(parse_error)?;
            let (model, usage) = (completion.model.clone(), completion.usage.clone());
            (Payload::Completion(completion), model, usage)
        }
        Kind::Embeddings => {
            let embeddings: EmbeddingsResponse = parse(body).map_err(parse_error)?;
            let (model, usage) = (embeddings.model.clone(), embeddings.usage.clone());
            (Payload::Embeddings(embeddings), model, usage)
        }
    };
    Ok(GatewayResponse {
        payload,
        meta: ResponseMeta {
            model: Some(model),
            usage,
            ..ResponseMeta::default()
        },
    })
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chat_answer_fills_model_and_usage() {
        let body = br#"{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024",
            "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
        let response = decode(Kind::Chat, StatusCode::OK, body, "h").unwrap();
        assert_eq!(response.meta.model.as_deref(), Some("gpt-4o-mini-2024"));
        assert_eq!(response.meta.usage.map(|u| u.total_tokens), Some(4));
    }

    #[test]
    fn wrong_shape_is_a_bad_gateway_naming_what_failed() {
        let error = decode(Kind::Embeddings, StatusCode::OK, b"{\"data\":1}", "h:1").unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
        assert!(
            error.message().contains("not an embeddings answer"),
            "{}",
            error.message()
        );
    }
}
