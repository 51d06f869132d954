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

use std::sync::Arc;

use bytes::Bytes;
use http::{StatusCode, Uri};
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, chat::ChatRequest, embeddings::EmbeddingsRequest,
};

pub use self::config::{COHERE_API_BASE, CohereBuilder, DEFAULT_EMBED_INPUT_TYPE};
use self::{config::Config, stream::CohereStream};
use crate::{
    HttpClient,
    chat_api::{self, ChatApi},
    future::ResponseFuture,
    service::{Start, gateway_service},
    upstream::Upstream,
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
        &self.config.upstream.model
    }
}

impl Start for Cohere {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        chat_api::start(&self.config, &self.client, request)
    }
}

gateway_service!(Cohere);

impl ChatApi for Config {
    type Stream = CohereStream;
    /// Whether the caller asked for base64 vectors.
    type Embed = bool;

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
        decode::chat(status, body, &self.upstream.host, &self.upstream.model)
    }

    fn stream(&self) -> CohereStream {
        CohereStream::new(self.upstream.model.clone())
    }

    fn encode_embeddings(
        &self,
        request: EmbeddingsRequest,
    ) -> Result<(Uri, Bytes, bool), GatewayError> {
        let base64 = request.encoding_format.as_deref() == Some("base64");
        let body = encode::embed(&request, &self.upstream.model, &self.embed_input_type)?;
        Ok((self.embed.clone(), body, base64))
    }

    fn decode_embeddings(
        &self,
        status: StatusCode,
        body: &[u8],
        base64: bool,
    ) -> Result<GatewayResponse, GatewayError> {
        let model = &self.upstream.model;
        decode::embeddings(status, body, &self.upstream.host, model, base64)
    }
}
