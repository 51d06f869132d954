//! Cohere's v2 API: chat (`POST /v2/chat`) and embeddings (`POST /v2/embed`).
//!
//! [`Cohere`] translates OpenAI's requests into Cohere's and the answers
//! back. The chat request, field by field:
//!
//! - messages keep their roles (`developer` is `system`); an assistant's
//!   `tool_calls` and a `tool` message's `tool_call_id` are Cohere's own;
//!   text and image parts are Cohere's content parts;
//! - `tools` keep OpenAI's shape (a function's `strict` becomes
//!   `strict_tools`); `tool_choice` `none` and `required` are `NONE` and
//!   `REQUIRED`, `auto` is Cohere's default; a named function, which Cohere
//!   cannot force, leaves only that tool, `REQUIRED`;
//! - `top_p` is `p`, `stop` is `stop_sequences`, `max_completion_tokens` is
//!   `max_tokens`; `response_format` `json_object` is Cohere's, and
//!   `json_schema` is `json_object` with its schema;
//! - `user`, `logit_bias`, `top_logprobs`, `stream_options` and
//!   `parallel_tool_calls` have no Cohere field and are left out; `n` above
//!   1 is refused (400);
//! - fields towergate does not model are sent as they came (`k`,
//!   `safety_mode`, `documents`, …).
//!
//! Answers: Cohere's finish reasons `COMPLETE` and `STOP_SEQUENCE` are
//! `stop`, `MAX_TOKENS` is `length`, `TOOL_CALL` is `tool_calls`; usage is
//! `billed_units` (what is paid for), else `tokens`. Streams of Cohere's
//! events (`message-start` … `message-end`) become chat chunks ending with
//! the finish chunk and a usage chunk.
//!
//! Embeddings ask for float vectors (`embedding_types: ["float"]`) with
//! `input_type` `search_document` unless the builder or the request's own
//! `input_type` field says otherwise; `dimensions` is `output_dimension`,
//! and `encoding_format: base64` is served by encoding the floats. Text
//! completions are served over the chat API.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, embeddings::EmbeddingsRequest};
//! use towergate_providers::{HttpClient, cohere::Cohere};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let cohere = Cohere::builder("embed-v4.0")
//!     .api_key(std::env::var("COHERE_API_KEY")?)
//!     .embed_input_type("search_query")
//!     .build(&client)?;
//!
//! let request: EmbeddingsRequest = serde_json::from_str(r#"{"input": ["towergate"]}"#)?;
//! let response = cohere
//!     .oneshot(GatewayRequest::new("embed", Operation::Embeddings(request)))
//!     .await?;
//! if let Payload::Embeddings(answer) = response.payload {
//!     println!("{} vectors", answer.data.len());
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

pub use self::config::{COHERE_API_BASE, CohereBuilder, DEFAULT_EMBED_INPUT_TYPE};
use self::{config::Config, stream::CohereStream};
use crate::{
    HttpClient,
    completions_over_chat::{chat_answer_to_completion, completion_to_chat},
    future::ResponseFuture,
    sse::Translated,
    upstream,
};

/// The provider's name, as MLflow spells it.
const PROVIDER: &str = "cohere";

/// A provider speaking Cohere's v2 API; cheap to clone.
#[derive(Clone, Debug)]
pub struct Cohere {
    config: Arc<Config>,
    client: HttpClient,
}

impl Cohere {
    /// A builder for Cohere's API with upstream model `model`
    /// (base [`COHERE_API_BASE`]).
    pub fn builder(model: impl Into<String>) -> CohereBuilder {
        CohereBuilder::new(model.into())
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
    Embed { base64: bool },
}

impl tower_service::Service<GatewayRequest> for Cohere {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let config = &self.config;
        let chat = |chat: towergate_core::chat::ChatRequest, as_completion: bool| {
            let kind = Kind::Chat {
                stream: chat.is_stream(),
                as_completion,
            };
            encode::chat(chat, &config.model).map(|body| (kind, body))
        };
        let encoded = match request.operation {
            Operation::Chat(request) => chat(request, false),
            Operation::Completion(completion) => {
                completion_to_chat(completion).and_then(|request| chat(request, true))
            }
            Operation::Embeddings(embeddings) => {
                let base64 = embeddings.encoding_format.as_deref() == Some("base64");
                encode::embed(&embeddings, &config.model, &config.embed_input_type)
                    .map(|body| (Kind::Embed { base64 }, body))
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
        Kind::Embed { .. } => (&config.embed, false),
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
            CohereStream::new(config.model.clone()),
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
            Kind::Chat { .. } => decode::chat(status, &bytes, host, &config.model)?,
            Kind::Embed { base64 } => {
                decode::embeddings(status, &bytes, host, &config.model, base64)?
            }
        }
    };
    response.meta.provider = Some(PROVIDER.to_owned());
    response.meta.upstream_latency = Some(latency);
    response.meta.attempts = 1;
    Ok(response)
}
