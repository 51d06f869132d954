//! Google Gemini (`gemini`): the Gemini API's `generateContent`, its SSE
//! stream, and its embedding methods.
//!
//! [`Gemini`] is a `tower::Service<GatewayRequest>` that translates
//! OpenAI-shaped requests to Gemini's and the answers back:
//!
//! | OpenAI | Gemini |
//! |---|---|
//! | `system` / `developer` messages | `systemInstruction` |
//! | `user`, `assistant` messages | `contents` with roles `user`, `model` (same-role turns joined) |
//! | image, audio and file parts | `inlineData` (base64 `data:` URLs), `fileData` (URLs) |
//! | `tools`, `tool_choice` | `tools[].functionDeclarations`, `toolConfig.functionCallingConfig` (`AUTO`, `NONE`, `ANY`) |
//! | assistant `tool_calls`, `tool` messages | `functionCall`, `functionResponse` parts |
//! | `temperature`, `top_p`, `max_tokens`, `stop`, `n`, `seed`, penalties | `generationConfig` (`temperature`, `topP`, `maxOutputTokens`, `stopSequences`, `candidateCount`, `seed`, …) |
//! | `response_format` `json_object` / `json_schema` | `responseMimeType: application/json` (+ `responseSchema`) |
//! | `usage` | `usageMetadata` (thinking tokens count as completion tokens) |
//! | `finish_reason` | `finishReason`: `STOP` → `stop` (`tool_calls` after a function call), `MAX_TOKENS` → `length`, safety reasons → `content_filter` |
//! | embeddings | `embedContent` (one input), `batchEmbedContents` (several) |
//!
//! Calls go to `{api_base}/models/{model}:generateContent`, or
//! `:streamGenerateContent?alt=sse` for a stream, with the key in
//! `x-goog-api-key`. Text completions are served over chat (the prompt as
//! the one user message). Fields the gateway does not model are sent at
//! the top level of Gemini's body (`safetySettings`, `cachedContent`);
//! `top_k` and a `generationConfig` object go into `generationConfig`.
//! Gemini's error answers keep their status, message and `status` code.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::{ChatMessage, ChatRequest, Role}};
//! use towergate_providers::{HttpClient, gemini::Gemini};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let gemini = Gemini::builder("gemini-2.0-flash")
//!     .api_key(std::env::var("GEMINI_API_KEY")?)
//!     .build(&client)?;
//!
//! let chat = ChatRequest {
//!     messages: vec![
//!         ChatMessage::text(Role::System, "Answer in one word."),
//!         ChatMessage::text(Role::User, "The colour of the sky?"),
//!     ],
//!     ..ChatRequest::default()
//! };
//! let response = gemini.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await?;
//! if let Payload::Chat(answer) = response.payload {
//!     println!("{:?} {:?}", answer.choices[0].message.text_content(), answer.usage);
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod decode;
mod encode;
mod stream;
mod wire;

use std::{sync::Arc, time::Duration};

use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Payload, ResponseMeta};

pub use self::config::{GEMINI_API_BASE, GeminiBuilder};
use self::{
    config::Config,
    encode::Encoded,
    stream::GeminiChunks,
    wire::{BatchEmbedContentsResponse, EmbedContentResponse, GenerateContentResponse},
};
use crate::{
    HttpClient, error,
    future::ResponseFuture,
    service::{Start, answer_as, gateway_service},
    upstream,
};

/// The provider's name, as MLflow spells it.
pub const PROVIDER: &str = "gemini";

/// Google's Gemini API; cheap to clone.
#[derive(Clone, Debug)]
pub struct Gemini {
    config: Arc<Config>,
    client: HttpClient,
}

impl Gemini {
    /// A builder for model `model` (`gemini-2.0-flash`, `models/…` or
    /// `tunedModels/…`) at [`GEMINI_API_BASE`].
    pub fn builder(model: impl Into<String>) -> GeminiBuilder {
        GeminiBuilder::new(model.into())
    }

    /// The model as configured.
    pub fn model(&self) -> &str {
        &self.config.upstream.model
    }
}

impl Start for Gemini {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        ResponseFuture::after(
            encode::encode(request.operation, &self.config.model_path),
            |encoded| exchange(Arc::clone(&self.config), self.client.clone(), encoded),
        )
    }
}

gateway_service!(Gemini);

async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    encoded: Encoded,
) -> Result<GatewayResponse, GatewayError> {
    let up = &config.upstream;
    let host = &up.host;
    let model = &up.model;
    match encoded {
        Encoded::Generate {
            body,
            stream,
            completion,
        } => {
            let uri = if stream {
                &config.stream
            } else {
                &config.generate
            };
            let sent = up.post(&client, uri, body, stream, read_error).await?;
            let latency = sent.latency;
            let response = if stream {
                up.chat_stream(up.translated(sent.body, GeminiChunks::new(model)))
            } else {
                let status = sent.status;
                let bytes = sent.bytes(host).await?;
                let answer: GenerateContentResponse =
                    upstream::parse_json(&bytes, host, status, "a Gemini answer")?;
                let chat = decode::chat(answer, model);
                GatewayResponse {
                    meta: ResponseMeta {
                        model: Some(chat.model.clone()),
                        usage: chat.usage.clone(),
                        ..ResponseMeta::default()
                    },
                    payload: Payload::Chat(chat),
                }
            };
            answer_as(completion, up.stamp(response, latency))
        }
        Encoded::Embed {
            body,
            batch,
            base64,
        } => {
            let uri = if batch {
                &config.batch_embed
            } else {
                &config.embed
            };
            let sent = up.post(&client, uri, body, false, read_error).await?;
            let latency = sent.latency;
            let status = sent.status;
            let bytes = sent.bytes(host).await?;
            let vectors = if batch {
                let answer: BatchEmbedContentsResponse =
                    upstream::parse_json(&bytes, host, status, "a Gemini batch embeddings answer")?;
                answer.embeddings
            } else {
                let answer: EmbedContentResponse =
                    upstream::parse_json(&bytes, host, status, "a Gemini embedding answer")?;
                vec![answer.embedding]
            };
            let embeddings = decode::embeddings(vectors, model, base64);
            let response = GatewayResponse {
                payload: Payload::Embeddings(embeddings),
                meta: ResponseMeta {
                    model: Some(model.clone()),
                    ..ResponseMeta::default()
                },
            };
            Ok(up.stamp(response, latency))
        }
    }
}

/// Gemini's error body: `{"error": {"code", "message", "status", "details"}}`.
#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

/// Keeps the status and Gemini's `message`, with its `status` (such as
/// `INVALID_ARGUMENT`) as the code and a `RetryInfo` delay as Retry-After.
fn read_error(host: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let mut failure = error::from_status(host, status, headers, body);
    let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) else {
        return failure;
    };
    if let Some(code) = envelope.error.status {
        failure = failure.with_code(code);
    }
    if failure.retry_after().is_none()
        && let Some(delay) = envelope.error.details.iter().find_map(retry_delay)
    {
        failure = failure.with_retry_after(delay);
    }
    failure
}

/// `{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}`.
fn retry_delay(detail: &serde_json::Value) -> Option<Duration> {
    let kind = detail.get("@type")?.as_str()?;
    if !kind.ends_with("google.rpc.RetryInfo") {
        return None;
    }
    let delay = detail.get("retryDelay")?.as_str()?.strip_suffix('s')?;
    let seconds: f64 = delay.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.ceil()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gemini_errors_keep_message_status_and_retry_delay() {
        let body = br#"{"error": {"code": 429, "message": "Resource has been exhausted",
            "status": "RESOURCE_EXHAUSTED", "details": [
              {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36.5s"}]}}"#;
        let error = read_error("h", StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), body);
        assert_eq!(error.status().as_u16(), 429);
        assert_eq!(error.message(), "Resource has been exhausted");
        assert_eq!(error.code(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(37)));
    }
}
