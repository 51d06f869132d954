//! Mistral AI: chat (`POST /v1/chat/completions`) and embeddings
//! (`POST /v1/embeddings`) on `https://api.mistral.ai/v1`.
//!
//! Mistral's wire is OpenAI's with differences, which [`Mistral`] smooths
//! over both ways:
//!
//! - Mistral refuses fields it does not know (422), so OpenAI-only ones are
//!   left out: `stream_options`, `user`, `logit_bias`, `logprobs`,
//!   `top_logprobs`, and a message's `name` (kept on `tool` messages);
//! - `seed` is `random_seed`, `max_completion_tokens` is `max_tokens`,
//!   `developer` messages are `system` ones, `tool_choice: "required"` is
//!   `"any"`; an assistant message that only calls tools has no `content`;
//! - a stream always reports usage, inside the chunk with the finish
//!   reason: that chunk is split so the stream ends, as OpenAI's does, with
//!   the finish chunk and then a usage chunk with no choices;
//! - finish reason `model_length` is `length`; tool calls that come without
//!   `type` or with their arguments as an object are smoothed to OpenAI's
//!   shape;
//! - embeddings' `dimensions` is `output_dimension`; token ids are refused.
//!
//! Fields towergate does not model are sent as they came (`safe_prompt`,
//! `prediction`, `prompt_mode`, …). Text completions are served over the
//! chat API (the prompt as the one user message).
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::{ChatMessage, ChatRequest, Role}};
//! use towergate_providers::{HttpClient, mistral::Mistral};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let mistral = Mistral::builder("mistral-small-latest")
//!     .api_key(std::env::var("MISTRAL_API_KEY")?)
//!     .build(&client)?;
//!
//! let chat = ChatRequest {
//!     messages: vec![ChatMessage::text(Role::User, "Say hi")],
//!     ..ChatRequest::default()
//! };
//! let response = mistral.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await?;
//! if let Payload::Chat(answer) = response.payload {
//!     println!("{:?}", answer.choices[0].message.text_content());
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod decode;
mod encode;
mod stream;

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, ResponseMeta,
};

pub use self::config::{MISTRAL_API_BASE, MistralBuilder};
use self::{config::Config, stream::MistralStream};
use crate::{
    HttpClient,
    completions_over_chat::{chat_answer_to_completion, completion_to_chat},
    future::ResponseFuture,
    sse::Translated,
    upstream,
};

/// The provider's name, as MLflow spells it.
const PROVIDER: &str = "mistral";

/// A provider speaking Mistral's API; cheap to clone.
#[derive(Clone, Debug)]
pub struct Mistral {
    config: Arc<Config>,
    client: HttpClient,
}

impl Mistral {
    /// A builder for Mistral's API with upstream model `model`
    /// (base [`MISTRAL_API_BASE`]).
    pub fn builder(model: impl Into<String>) -> MistralBuilder {
        MistralBuilder::new(model.into())
    }

    /// The model sent upstream.
    pub fn model(&self) -> &str {
        &self.config.model
    }
}

/// Which API a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat { stream: bool, as_completion: bool },
    Embeddings,
}

impl tower_service::Service<GatewayRequest> for Mistral {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let model = &self.config.model;
        let encoded = match request.operation {
            Operation::Chat(chat) => {
                let stream = chat.is_stream();
                encode::chat(chat, model).map(|body| {
                    let kind = Kind::Chat {
                        stream,
                        as_completion: false,
                    };
                    (kind, body)
                })
            }
            Operation::Completion(completion) => completion_to_chat(completion).and_then(|chat| {
                let stream = chat.is_stream();
                let kind = Kind::Chat {
                    stream,
                    as_completion: true,
                };
                encode::chat(chat, model).map(|body| (kind, body))
            }),
            Operation::Embeddings(embeddings) => {
                encode::embeddings(&embeddings, model).map(|body| (Kind::Embeddings, body))
            }
            Operation::ListEndpoints => Err(GatewayError::invalid(
                "a provider cannot list endpoints; the router answers that",
            )),
        };
        let (kind, body) = match encoded {
            Ok(encoded) => encoded,
            Err(error) => return ResponseFuture::failed(error),
        };
        let config = Arc::clone(&self.config);
        let client = self.client.clone();
        ResponseFuture::new(async move {
            let response = exchange(config, client, body, kind).await?;
            match kind {
                Kind::Chat {
                    as_completion: true,
                    ..
                } => chat_answer_to_completion(response),
                _ => Ok(response),
            }
        })
    }
}

async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    body: Bytes,
    kind: Kind,
) -> Result<GatewayResponse, GatewayError> {
    let host = &config.host;
    let (uri, stream) = match kind {
        Kind::Chat { stream, .. } => (&config.chat, stream),
        Kind::Embeddings => (&config.embeddings, false),
    };
    let sent = upstream::post_json(
        &client,
        uri,
        &config.headers,
        body,
        stream,
        host,
        config.request_timeout,
    )
    .await?;
    let latency = sent.latency;
    let mut response = if stream {
        let chunks = Translated::new(
            sent.body,
            config.stream_idle_timeout,
            Arc::clone(host),
            MistralStream::default(),
        );
        GatewayResponse {
            payload: Payload::ChatStream(Box::pin(chunks)),
            meta: ResponseMeta {
                model: Some(config.model.clone()),
                ..ResponseMeta::default()
            },
        }
    } else {
        let status = sent.status;
        let bytes = sent.bytes(host).await?;
        match kind {
            Kind::Chat { .. } => decode::chat(status, &bytes, host)?,
            Kind::Embeddings => decode::embeddings(status, &bytes, host)?,
        }
    };
    response.meta.provider = Some(PROVIDER.to_owned());
    response.meta.upstream_latency = Some(latency);
    response.meta.attempts = 1;
    Ok(response)
}
