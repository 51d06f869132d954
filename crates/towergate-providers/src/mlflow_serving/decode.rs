//! `{"predictions": …}` as OpenAI-shaped answers, read as MLflow's gateway reads them.

use serde_json::Value;
use towergate_core::{
    GatewayError,
    chat::{ChatChoice, ChatMessage, ChatResponse, Role},
    completion::{CompletionChoice, CompletionResponse},
    embeddings::{Embedding, EmbeddingsResponse, Vector},
};

use crate::upstream::{base64_floats, unix_now};

fn bad(host: &str, why: impl AsRef<str>) -> GatewayError {
    GatewayError::bad_gateway(format!(
        "upstream `{host}` answered with predictions MLflow's gateway cannot read: {}",
        why.as_ref()
    ))
}

/// The `predictions` of an answer, which must be there.
fn predictions(answer: Value, host: &str) -> Result<Value, GatewayError> {
    match answer {
        Value::Object(mut fields) => fields
            .remove("predictions")
            .ok_or_else(|| bad(host, "the answer has no `predictions`")),
        _ => Err(bad(host, "the answer is not a JSON object")),
    }
}

/// Texts: a list of strings; or an object with one key, whose value is
/// read; or an object with `choices`.
fn texts(answer: Value, host: &str) -> Result<Vec<String>, GatewayError> {
    let list = match predictions(answer, host)? {
        Value::Object(mut fields) => {
            if fields.len() == 1 {
                fields
                    .into_iter()
                    .next()
                    .map(|(_, value)| value)
                    .unwrap_or_default()
            } else {
                fields.remove("choices").ok_or_else(|| {
                    bad(
                        host,
                        "an object of predictions needs one key, or a `choices` key",
                    )
                })?
            }
        }
        other => other,
    };
    let Value::Array(items) = list else {
        return Err(bad(host, "predictions are not a list"));
    };
    if items.is_empty() {
        return Err(bad(host, "the list of predictions is empty"));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::String(text) => Ok(text),
            other => Err(bad(host, format!("a prediction is not a string: {other}"))),
        })
        .collect()
}

fn new_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}mlflow-{:x}-{:x}",
        unix_now(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One assistant choice per prediction; no finish reason and no usage, as
/// MLflow's gateway answers.
pub(super) fn chat(answer: Value, model: &str, host: &str) -> Result<ChatResponse, GatewayError> {
    Ok(ChatResponse {
        id: new_id("chatcmpl-"),
        object: "chat.completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: (0u32..)
            .zip(texts(answer, host)?)
            .map(|(index, text)| ChatChoice {
                index,
                message: ChatMessage::text(Role::Assistant, text),
                finish_reason: None,
                logprobs: None,
            })
            .collect(),
        usage: None,
        system_fingerprint: None,
        extra: Default::default(),
    })
}

/// One choice per prediction.
pub(super) fn completion(
    answer: Value,
    model: &str,
    host: &str,
) -> Result<CompletionResponse, GatewayError> {
    Ok(CompletionResponse {
        id: new_id("cmpl-"),
        object: "text_completion".to_owned(),
        created: unix_now(),
        model: model.to_owned(),
        choices: (0u32..)
            .zip(texts(answer, host)?)
            .map(|(index, text)| CompletionChoice {
                text,
                index,
                logprobs: None,
                finish_reason: None,
            })
            .collect(),
        usage: None,
        system_fingerprint: None,
        extra: Default::default(),
    })
}

/// Vectors: a list of lists of numbers, or one flat list (one vector).
pub(super) fn embeddings(
    answer: Value,
    model: &str,
    base64: bool,
    host: &str,
) -> Result<EmbeddingsResponse, GatewayError> {
    let Value::Array(items) = predictions(answer, host)? else {
        return Err(bad(host, "embedding predictions are not a list"));
    };
    if items.is_empty() {
        return Err(bad(host, "the list of predictions is empty"));
    }
    let items = if items.iter().all(Value::is_number) {
        vec![Value::Array(items)]
    } else {
        items
    };
    let vectors = items
        .into_iter()
        .map(|item| {
            let Value::Array(numbers) = item else {
                return Err(bad(host, "an embedding is not a list of numbers"));
            };
            if numbers.is_empty() {
                return Err(bad(host, "an embedding is empty"));
            }
            numbers
                .iter()
                .map(|number| number.as_f64().map(|x| x as f32))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(|| bad(host, "an embedding is not a list of numbers"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EmbeddingsResponse {
        object: "list".to_owned(),
        data: (0u32..)
            .zip(vectors)
            .map(|(index, vector)| Embedding {
                object: "embedding".to_owned(),
                index,
                embedding: if base64 {
                    Vector::Base64(base64_floats(&vector))
                } else {
                    Vector::Float(vector)
                },
            })
            .collect(),
        model: model.to_owned(),
        usage: None,
        extra: Default::default(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_predictions_in_every_shape_mlflow_reads() {
        let read = |answer: Value| texts(answer, "h").map_err(|e| e.message().to_owned());
        assert_eq!(
            read(json!({"predictions": ["a", "b"]})),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            read(json!({"predictions": {"candidates": ["a"]}})),
            Ok(vec!["a".into()])
        );
        assert_eq!(
            read(json!({"predictions": {"choices": ["c"], "other": 1}})),
            Ok(vec!["c".into()])
        );
        assert!(
            read(json!({"predictions": []}))
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            read(json!({"predictions": [1]}))
                .unwrap_err()
                .contains("not a string")
        );
        assert!(
            read(json!({"outputs": ["a"]}))
                .unwrap_err()
                .contains("no `predictions`")
        );
        assert!(read(json!({"predictions": {"a": 1, "b": 2}})).is_err());
    }

    #[test]
    fn a_flat_list_of_numbers_is_one_vector() {
        let answer = embeddings(json!({"predictions": [0.5, 0.25]}), "m", false, "h").unwrap();
        assert_eq!(answer.data.len(), 1);
        assert_eq!(answer.data[0].embedding, Vector::Float(vec![0.5, 0.25]));
        let error = embeddings(json!({"predictions": [[]]}), "m", false, "h").unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
    }
}
