//! The typed request to OpenAI's wire, in one serialization.

use bytes::Bytes;
use towergate_core::{GatewayError, Operation, chat::StreamOptions};

/// Which OpenAI operation a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Chat,
    Completion,
    Embeddings,
}

impl Kind {
    /// What the answer is, for error messages.
    pub(super) fn answer_name(self, stream: bool) -> &'static str {
        match (self, stream) {
            (Kind::Chat, false) => "a chat completion",
            (Kind::Chat, true) => "a chat completion chunk",
            (Kind::Completion, false) => "a text completion",
            (Kind::Completion, true) => "a text completion chunk",
            (Kind::Embeddings, _) => "an embeddings answer",
        }
    }
}

/// A request ready to send.
#[derive(Debug)]
pub(super) struct Encoded {
    pub(super) kind: Kind,
    pub(super) stream: bool,
    pub(super) body: Bytes,
}

/// Serializes `operation` with `model` in place of the caller's model; a
/// stream asks for a last usage chunk when `stream_usage` is set and the
/// caller did not say.
///
/// Every other field, unknown ones included, goes out as it came.
pub(super) fn encode(
    operation: Operation,
    model: &str,
    stream_usage: bool,
) -> Result<Encoded, GatewayError> {
    let stream = operation.is_stream();
    let ask_usage = |options: &mut Option<StreamOptions>| {
        if stream && stream_usage {
            let options = options.get_or_insert_with(StreamOptions::default);
            options.include_usage.get_or_insert(true);
        }
    };
    let (kind, body) = match operation {
        Operation::Chat(mut chat) => {
            ask_usage(&mut chat.stream_options);
            chat.model = Some(model.to_owned());
            chat.extra.remove("model");
            (Kind::Chat, serde_json::to_vec(&chat))
        }
        Operation::Completion(mut completion) => {
            ask_usage(&mut completion.stream_options);
            completion.model = Some(model.to_owned());
            completion.extra.remove("model");
            (Kind::Completion, serde_json::to_vec(&completion))
        }
        Operation::Embeddings(mut embeddings) => {
            embeddings.model = Some(model.to_owned());
            embeddings.extra.remove("model");
            (Kind::Embeddings, serde_json::to_vec(&embeddings))
        }
        Operation::ListEndpoints => {
            return Err(crate::service::cannot_list_endpoints());
        }
    };
    let body = body.map_err(|error| {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use towergate_core::chat::ChatRequest;

    #[test]
    fn model_is_replaced_and_unknown_fields_kept() {
        let chat: ChatRequest = serde_json::from_value(json!({
            "model": "my-endpoint",
            "messages": [{"role": "user", "content": "Hi"}],
            "temperature": 0.5,
            "vendor_knob": {"depth": 3}
        }))
        .unwrap();
        let encoded = encode(Operation::Chat(chat), "gpt-4o-mini", true).unwrap();
        let sent: Value = serde_json::from_slice(&encoded.body).unwrap();
        assert_eq!(sent["model"], "gpt-4o-mini");
        assert_eq!(sent["vendor_knob"], json!({"depth": 3}));
        assert_eq!(sent["temperature"], 0.5);
        assert_eq!(encoded.kind, Kind::Chat);
        assert!(!encoded.stream);
    }

    #[test]
    fn streams_ask_for_usage_unless_the_caller_said_no_or_the_upstream_cannot() {
        let sent = |body: Value, stream_usage: bool| -> Value {
            let chat: ChatRequest = serde_json::from_value(body).unwrap();
            let encoded = encode(Operation::Chat(chat), "m", stream_usage).unwrap();
            serde_json::from_slice(&encoded.body).unwrap()
        };
        let messages = json!([{"role": "user", "content": "Hi"}]);
        let stream = json!({"messages": messages, "stream": true});
        assert_eq!(
            sent(stream.clone(), true)["stream_options"],
            json!({"include_usage": true})
        );
        assert!(sent(stream, false).get("stream_options").is_none());
        let refused = json!({"messages": messages, "stream": true,
                             "stream_options": {"include_usage": false}});
        assert_eq!(
            sent(refused, true)["stream_options"],
            json!({"include_usage": false})
        );
        let whole = json!({"messages": messages});
        assert!(sent(whole, true).get("stream_options").is_none());
    }

    #[test]
    fn listing_is_refused() {
        let error = encode(Operation::ListEndpoints, "m", true).unwrap_err();
        assert_eq!(error.status().as_u16(), 400);
    }
}
