//! Anthropic's Messages API (`POST /v1/messages`).
//!
//! [`Anthropic`] is a `tower::Service<GatewayRequest>` that translates
//! OpenAI's chat request into a Messages request, sends it with `x-api-key`
//! and `anthropic-version`, and translates the answer back: a message into
//! a chat completion, a stream of Anthropic's events into chat chunks
//! ending with a usage chunk. The request, field by field:
//!
//! - `system` and `developer` messages are lifted out of the list into
//!   `system` (joined by a line break);
//! - roles alternate: consecutive messages of one role are merged into one
//!   message of content blocks, and `tool` messages become `tool_result`
//!   blocks of a user message;
//! - an assistant's `tool_calls` become `tool_use` blocks;
//! - image parts become `image` blocks with a `base64` source (from a
//!   `data:` URL) or a `url` source;
//! - `max_tokens` (or `max_completion_tokens`) is required by Anthropic: the
//!   configured default ([`DEFAULT_MAX_TOKENS`]) is sent when the caller
//!   sets none;
//! - `temperature` is halved (OpenAI's 0–2 to Anthropic's 0–1, as MLflow
//!   does), `stop` becomes `stop_sequences`, `user` becomes
//!   `metadata.user_id`;
//! - `tools` become `{name, description, input_schema}`; `tool_choice`
//!   `auto`, `none`, `required` and a named function become `auto`, `none`,
//!   `any` and `tool`; `parallel_tool_calls: false` becomes
//!   `disable_parallel_tool_use`;
//! - what Anthropic has no field for (`seed`, the penalties, `logit_bias`,
//!   `logprobs`, `stream_options`) is left out; `n` above 1 and a
//!   `response_format` other than `text` are refused (400);
//! - fields towergate does not model are sent as they came (`top_k`,
//!   `thinking`, `metadata`, …).
//!
//! Finish reasons: `end_turn` and `stop_sequence` are `stop`, `max_tokens`
//! is `length`, `tool_use` is `tool_calls`, `refusal` is `content_filter`.
//! Usage: the prompt counts Anthropic's `input_tokens` plus the cache's
//! read and written tokens (the read ones also as `cached_tokens`).
//!
//! Text completions are served over the Messages API (the prompt as the one
//! user message, as [`completions_over_chat`](crate::completions_over_chat)
//! does); embeddings are refused with a 400, since Anthropic has none.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::{ChatMessage, ChatRequest, Role}};
//! use towergate_providers::{HttpClient, anthropic::Anthropic};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let claude = Anthropic::builder("claude-sonnet-4-5")
//!     .api_key(std::env::var("ANTHROPIC_API_KEY")?)
//!     .default_max_tokens(1024)
//!     .build(&client)?;
//!
//! let chat = ChatRequest {
//!     messages: vec![
//!         ChatMessage::text(Role::System, "Answer in one word."),
//!         ChatMessage::text(Role::User, "Capital of France?"),
//!     ],
//!     ..ChatRequest::default()
//! };
//! let response = claude.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await?;
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
    EndpointType, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, ResponseMeta,
};

pub use self::config::{
    ANTHROPIC_API_BASE, AnthropicBuilder, DEFAULT_ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS,
};
use self::{config::Config, stream::AnthropicStream};
use crate::{
    HttpClient,
    completions_over_chat::{chat_answer_to_completion, completion_to_chat},
    error,
    future::ResponseFuture,
    sse::Translated,
    upstream,
};

/// The provider's name, as MLflow spells it.
const PROVIDER: &str = "anthropic";

/// A provider speaking Anthropic's Messages API; cheap to clone.
#[derive(Clone, Debug)]
pub struct Anthropic {
    config: Arc<Config>,
    client: HttpClient,
}

impl Anthropic {
    /// A builder for Anthropic's API with upstream model `model`
    /// (base [`ANTHROPIC_API_BASE`]).
    pub fn builder(model: impl Into<String>) -> AnthropicBuilder {
        AnthropicBuilder::new(model.into())
    }

    /// The model sent upstream.
    pub fn model(&self) -> &str {
        &self.config.model
    }
}

impl tower_service::Service<GatewayRequest> for Anthropic {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let (chat, as_completion) = match request.operation {
            Operation::Chat(chat) => (chat, false),
            Operation::Completion(completion) => match completion_to_chat(completion) {
                Ok(chat) => (chat, true),
                Err(error) => return ResponseFuture::failed(error),
            },
            Operation::Embeddings(_) => {
                return ResponseFuture::failed(error::not_served(
                    PROVIDER,
                    EndpointType::Embeddings,
                ));
            }
            Operation::ListEndpoints => {
                return ResponseFuture::failed(GatewayError::invalid(
                    "a provider cannot list endpoints; the router answers that",
                ));
            }
        };
        let stream = chat.is_stream();
        let body = match encode::encode(chat, &self.config.model, self.config.default_max_tokens) {
            Ok(body) => body,
            Err(error) => return ResponseFuture::failed(error),
        };
        let config = Arc::clone(&self.config);
        let client = self.client.clone();
        ResponseFuture::new(async move {
            let response = exchange(config, client, body, stream).await?;
            if as_completion {
                chat_answer_to_completion(response)
            } else {
                Ok(response)
            }
        })
    }
}

/// One call to `/v1/messages`, complete or streamed.
async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    body: Bytes,
    stream: bool,
) -> Result<GatewayResponse, GatewayError> {
    let host = &config.host;
    let sent = upstream::post_json(
        &client,
        &config.messages,
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
            AnthropicStream::default(),
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
        decode::decode(status, &bytes, host)?
    };
    response.meta.provider = Some(PROVIDER.to_owned());
    response.meta.upstream_latency = Some(latency);
    response.meta.attempts = 1;
    Ok(response)
}
