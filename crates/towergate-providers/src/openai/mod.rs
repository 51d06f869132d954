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

use std::sync::Arc;

use towergate_core::GatewayRequest;

pub(crate) use self::config::check_base_url;
pub use self::config::{
    Compatible, DEFAULT_REQUEST_TIMEOUT, DEFAULT_STREAM_IDLE_TIMEOUT, OPENAI_API_BASE,
    OpenAiBuilder,
};
use self::{config::Config, future::ResponseFuture};
use crate::{
    HttpClient,
    service::{Start, gateway_service},
};

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
        self.config.upstream.provider
    }

    /// The model sent upstream (for Azure, the deployment).
    pub fn model(&self) -> &str {
        &self.config.upstream.model
    }
}

impl Start for OpenAi {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        let config = &self.config;
        let encoded = encode::encode(
            request.operation,
            &config.upstream.model,
            config.stream_usage,
        );
        ResponseFuture::after(encoded, |encoded| {
            exchange::exchange(Arc::clone(config), self.client.clone(), encoded)
        })
    }
}

gateway_service!(OpenAi);
