//! Amazon Bedrock's Converse API, signed with AWS Signature Version 4.
//!
//! [`Bedrock`] is a `tower::Service<GatewayRequest>` that sends chat
//! requests to `POST /model/{modelId}/converse` (or `/converse-stream`) of
//! `https://bedrock-runtime.{region}.amazonaws.com`, signed for service
//! `bedrock` with the configured credentials, and embeddings to
//! `POST /model/{modelId}/invoke`. The request, field by field:
//!
//! - `system` and `developer` messages become `system` text blocks;
//! - other messages become content blocks of alternating `user` and
//!   `assistant` messages (consecutive messages of one role are merged):
//!   text, images from `data:` URLs as `image` bytes, an assistant's
//!   `tool_calls` as `toolUse`, `tool` messages as `toolResult` blocks;
//! - `max_tokens` (or `max_completion_tokens`), `temperature`, `top_p` and
//!   `stop` go in `inferenceConfig` as `maxTokens`, `temperature`, `topP`
//!   and `stopSequences`;
//! - `tools` become `toolConfig.tools[].toolSpec{name, description,
//!   inputSchema{json}}`; `tool_choice` `auto`, `required` and a named
//!   function become `auto`, `any` and `tool`; `none` sends no choice
//!   (Bedrock has no way to forbid calls);
//! - Converse's own top-level fields (`guardrailConfig`,
//!   `additionalModelRequestFields`, …) are sent as they came, and other
//!   unknown fields (`top_k`) go in `additionalModelRequestFields`.
//!
//! Stop reasons: `end_turn` and `stop_sequence` are `stop`, `max_tokens`
//! is `length`, `tool_use` is `tool_calls`, `guardrail_intervened` and
//! `content_filtered` are `content_filter`. A stream arrives in AWS's binary
//! event-stream framing; its exceptions end it with an error.
//!
//! Text completions are served over Converse (the prompt as the one user
//! message). Embeddings are served for Titan (`amazon.titan-embed-*`, one
//! call per input) and Cohere (`cohere.embed-*`) models.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::{ChatMessage, ChatRequest, Role}};
//! use towergate_providers::{HttpClient, bedrock::Bedrock};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let claude = Bedrock::builder("anthropic.claude-3-haiku-20240307-v1:0")
//!     .region("us-east-1")
//!     .credentials(std::env::var("AWS_ACCESS_KEY_ID")?, std::env::var("AWS_SECRET_ACCESS_KEY")?)
//!     .build(&client)?;
//!
//! let chat = ChatRequest {
//!     messages: vec![ChatMessage::text(Role::User, "Capital of France?")],
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
mod embed;
mod encode;
mod sign;
mod stream;

use std::sync::Arc;

use bytes::Bytes;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

pub use self::config::BedrockBuilder;
use self::{config::Config, stream::EventStreamChunks};
use crate::{
    HttpClient, error,
    future::ResponseFuture,
    service::{Call, Start, answer_as, gateway_service},
};

/// The provider's name, as MLflow spells it.
const PROVIDER: &str = "bedrock";

/// A model on Amazon Bedrock; cheap to clone.
#[derive(Clone, Debug)]
pub struct Bedrock {
    config: Arc<Config>,
    client: HttpClient,
}

impl Bedrock {
    /// A builder for Bedrock model `model` (a model id such as
    /// `anthropic.claude-3-haiku-20240307-v1:0`, an inference profile or an ARN).
    pub fn builder(model: impl Into<String>) -> BedrockBuilder {
        BedrockBuilder::new(model.into())
    }

    /// The model id sent upstream.
    pub fn model(&self) -> &str {
        &self.config.upstream.model
    }
}

impl Start for Bedrock {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        let config = Arc::clone(&self.config);
        let client = self.client.clone();
        let (chat, as_completion) = match Call::over_chat(request.operation) {
            Ok(Call::Chat {
                chat,
                as_completion,
            }) => (chat, as_completion),
            Ok(Call::Embeddings(embeddings)) => {
                return ResponseFuture::new(embed::embed(config, client, embeddings));
            }
            Err(error) => return ResponseFuture::failed(error),
        };
        let stream = chat.is_stream();
        ResponseFuture::after(encode::encode(chat), |body| async move {
            answer_as(as_completion, converse(config, client, body, stream).await?)
        })
    }
}

gateway_service!(Bedrock);

/// One signed call to `/converse` or `/converse-stream`.
async fn converse(
    config: Arc<Config>,
    client: HttpClient,
    body: Bytes,
    stream: bool,
) -> Result<GatewayResponse, GatewayError> {
    let up = &config.upstream;
    let (uri, accept) = if stream {
        (
            &config.converse_stream,
            "application/vnd.amazon.eventstream",
        )
    } else {
        (&config.converse, "application/json")
    };
    let request = sign::signed_request(&config, uri, body, accept)?;
    let sent = up.send(&client, request, error::from_status).await?;
    let latency = sent.latency;
    let mut response = if stream {
        let chunks = EventStreamChunks::new(
            sent.body,
            up.stream_idle_timeout,
            Arc::clone(&up.host),
            up.model.clone(),
        );
        up.chat_stream(chunks)
    } else {
        let status = sent.status;
        let bytes = sent.bytes(&up.host).await?;
        decode::decode(status, &bytes, &up.host, &up.model)?
    };
    response.meta.model = Some(up.model.clone());
    Ok(up.stamp(response, latency))
}
