//! OpenAI's wire: OpenAI itself, Azure OpenAI, and the providers that copy it.
//!
//! [`OpenAi`] is a `tower::Service<GatewayRequest>` that encodes the typed
//! request once (the configured upstream model replaces the caller's
//! `model`; every other field, unknown ones included, is sent as it came),
//! calls the upstream through the shared [`HttpClient`],
//! and decodes the answer once. Streams are handed back as soon as the
//! answer's headers arrive; dropping one closes the upstream connection.
//!
//! | flavour | URL | auth |
//! |---|---|---|
//! | OpenAI | `{api_base}/chat/completions` | `Authorization: Bearer` (+ `OpenAI-Organization`) |
//! | Azure | `{api_base}/openai/deployments/{deployment}/chat/completions?api-version={v}` | `api-key`, or `Authorization: Bearer` with an Azure AD token |
//! | [`Compatible`] | `{api_base}/chat/completions` | `Authorization: Bearer`, none for Ollama without a key |
//!
//! ```no_run
//! use std::time::Duration;
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::{ChatMessage, ChatRequest, Role}};
//! use towergate_providers::{HttpClient, openai::OpenAi};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let openai = OpenAi::builder("gpt-4o-mini")
//!     .api_key(std::env::var("OPENAI_API_KEY")?)
//!     .request_timeout(Duration::from_secs(60))
//!     .build(&client)?;
//!
//! let chat = ChatRequest {
//!     messages: vec![ChatMessage::text(Role::User, "Say hi")],
//!     ..ChatRequest::default()
//! };
//! let response = openai.oneshot(GatewayRequest::new("chat", Operation::Chat(chat))).await?;
//! if let Payload::Chat(answer) = response.payload {
//!     println!("{:?}", answer.choices[0].message.text_content());
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod decode;
mod encode;
mod exchange;
pub mod future;
pub(crate) mod stream;

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

pub(crate) use self::config::check_base_url;
pub use self::config::{
    Compatible, DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT, OPENAI_API_BASE,
    OpenAiBuilder,
};
use self::{config::Config, future::ResponseFuture};
use crate::HttpClient;

/// A provider speaking OpenAI's wire; cheap to clone.
#[derive(Clone, Debug)]
pub struct OpenAi {
    config: Arc<Config>,
    client: HttpClient,
}

impl OpenAi {
    /// A builder for OpenAI's API with upstream model `model`
    /// (base `https://api.openai.com/v1`, provider name `openai`).
    ///
    /// Call [`azure`](OpenAiBuilder::azure) on it for Azure OpenAI.
    pub fn builder(model: impl Into<String>) -> OpenAiBuilder {
        OpenAiBuilder::new("openai", Some(OPENAI_API_BASE), model.into())
    }

    /// A builder for an OpenAI-compatible provider, with its name and default base URL.
    pub fn compatible(provider: Compatible, model: impl Into<String>) -> OpenAiBuilder {
        OpenAiBuilder::new(provider.name(), provider.default_api_base(), model.into())
    }

    /// The provider's name as MLflow spells it (`openai`, `groq`, …).
    pub fn provider(&self) -> &'static str {
        self.config.provider
    }

    /// The model sent upstream (for Azure, the deployment).
    pub fn model(&self) -> &str {
        &self.config.model
    }
}

impl tower_service::Service<GatewayRequest> for OpenAi {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let encoded = match encode::encode(
            request.operation,
            &self.config.model,
            self.config.stream_usage,
        ) {
            Ok(encoded) => encoded,
            Err(error) => return ResponseFuture::failed(error),
        };
        let config = Arc::clone(&self.config);
        let client = self.client.clone();
        ResponseFuture::new(exchange::exchange(config, client, encoded))
    }
}
