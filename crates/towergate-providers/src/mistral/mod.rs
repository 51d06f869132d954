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

use std::sync::Arc;

use bytes::Bytes;
use http::{StatusCode, Uri};
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, chat::ChatRequest, embeddings::EmbeddingsRequest,
};

pub use self::config::{MISTRAL_API_BASE, MistralBuilder};
use self::{config::Config, stream::MistralStream};
use crate::{
    HttpClient,
    chat_api::{self, ChatApi},
    future::ResponseFuture,
    service::{Start, gateway_service},
    upstream::Upstream,
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
        &self.config.upstream.model
    }
}

impl Start for Mistral {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        chat_api::start(&self.config, &self.client, request)
    }
}

gateway_service!(Mistral);

impl ChatApi for Config {
    type Stream = MistralStream;
    type Embed = ();

    fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    fn chat_uri(&self) -> &Uri {
        &self.chat
    }

    fn encode_chat(&self, chat: ChatRequest) -> Result<Bytes, GatewayError> {
        encode::chat(chat, &self.upstream.model)
    }

    fn decode_chat(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<GatewayResponse, GatewayError> {
        decode::chat(status, body, &self.upstream.host)
    }

    fn stream(&self) -> MistralStream {
        MistralStream::default()
    }

    fn encode_embeddings(
        &self,
        request: EmbeddingsRequest,
    ) -> Result<(Uri, Bytes, ()), GatewayError> {
        let body = encode::embeddings(&request, &self.upstream.model)?;
        Ok((self.embeddings.clone(), body, ()))
    }

    fn decode_embeddings(
        &self,
        status: StatusCode,
        body: &[u8],
        (): (),
    ) -> Result<GatewayResponse, GatewayError> {
        decode::embeddings(status, body, &self.upstream.host)
    }
}
