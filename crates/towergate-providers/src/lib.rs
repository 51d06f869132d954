//! Provider adapters: towergate's typed requests to each LLM provider's wire and back.
//!
//! Each adapter is a `tower::Service<GatewayRequest, Response = GatewayResponse,
//! Error = GatewayError>` that encodes the request once, calls its upstream
//! through the shared, pooled [`HttpClient`], and decodes the answer once.
//!
//! - [`openai`]: OpenAI, Azure OpenAI and the OpenAI-compatible family
//!   (Groq, DeepSeek, xAI, OpenRouter, Ollama, Together AI, Databricks).
//! - [`gemini`] (feature `gemini`): Google's Gemini API.
//! - [`tgi`] (feature `tgi`): Hugging Face Text Generation Inference.
//! - [`mlflow_serving`] (feature `mlflow-serving`): a model served by MLflow.
//! - [`anthropic`] (feature `anthropic`): Anthropic's Messages API.
//! - [`mistral`] (feature `mistral`): Mistral AI.
//! - [`cohere`] (feature `cohere`): Cohere's v2 chat and embed APIs.
//! - [`bedrock`] (feature `bedrock`): Amazon Bedrock's Converse API, SigV4-signed.
//! - [`from_mlflow`]: any of them from an MLflow AI Gateway `model` block;
//!   [`unknown_config_keys`]: the block's `config` keys it ignores.
//!
//! Upstream failures become [`GatewayError`](towergate_core::GatewayError)
//! kinds: an upstream's own error answer keeps its status and message; an
//! upstream that cannot be reached or answers garbage is a bad gateway
//! (502); one that does not answer in time is a timeout (504). Messages
//! name the upstream host, never a key.

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(any(feature = "anthropic", feature = "cohere", feature = "mistral"))]
mod chat_api;
#[cfg(any(
    feature = "anthropic",
    feature = "bedrock",
    feature = "cohere",
    feature = "tgi"
))]
pub(crate) mod chunks;
pub mod client;
#[cfg(feature = "cohere")]
pub mod cohere;
pub mod completions_over_chat;
mod error;
pub mod future;
#[cfg(feature = "gemini")]
pub mod gemini;
#[cfg(feature = "mistral")]
pub mod mistral;
mod mlflow;
#[cfg(feature = "mlflow-serving")]
pub mod mlflow_serving;
pub mod openai;
mod service;
mod settings;
pub(crate) mod sse;
#[cfg(feature = "tgi")]
pub mod tgi;
pub(crate) mod upstream;

pub use client::HttpClient;
pub use error::ProviderConfigError;
pub use mlflow::{BoxProvider, from_mlflow, provider_names, unknown_config_keys};
