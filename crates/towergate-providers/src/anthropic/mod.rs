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

use std::{convert::Infallible, sync::Arc};

use bytes::Bytes;
use http::{StatusCode, Uri};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, chat::ChatRequest};

pub use self::config::{
    ANTHROPIC_API_BASE, AnthropicBuilder, DEFAULT_ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS,
};
use self::{config::Config, stream::AnthropicStream};
use crate::{
    HttpClient,
    chat_api::{self, ChatApi},
    future::ResponseFuture,
    service::{Start, gateway_service},
    upstream::Upstream,
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
        &self.config.upstream.model
    }
}

impl Start for Anthropic {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        chat_api::start(&self.config, &self.client, request)
    }
}

gateway_service!(Anthropic);

/// Calls to `/v1/messages`, complete or streamed; Anthropic has no embeddings.
impl ChatApi for Config {
    type Stream = AnthropicStream;
    type Embed = Infallible;

    fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    fn chat_uri(&self) -> &Uri {
        &self.messages
    }

    fn encode_chat(&self, chat: ChatRequest) -> Result<Bytes, GatewayError> {
        encode::encode(chat, &self.upstream.model, self.default_max_tokens)
    }

    fn decode_chat(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<GatewayResponse, GatewayError> {
        decode::decode(status, body, &self.upstream.host)
    }

    fn stream(&self) -> AnthropicStream {
        AnthropicStream::default()
    }

    fn decode_embeddings(
        &self,
        _status: StatusCode,
        _body: &[u8],
        never: Infallible,
    ) -> Result<GatewayResponse, GatewayError> {
        match never {}
    }
}
