//! Provider adapters: towergate's typed requests to each LLM provider's wire and back.
//!
//! Each adapter is a `tower::Service<GatewayRequest, Response = GatewayResponse,
//! Error = GatewayError>` that encodes the request once, calls its upstream
//! through the shared, pooled [`HttpClient`], and decodes the answer once.
//!
//! - [`openai`]: OpenAI, Azure OpenAI and the OpenAI-compatible family
//!   (Groq, DeepSeek, xAI, OpenRouter, Ollama, Together AI, Databricks).
//! - [`from_mlflow`]: any of them from an MLflow AI Gateway `model` block;
//!   [`unknown_config_keys`]: the block's `config` keys it ignores.
//!
//! Upstream failures become [`GatewayError`](towergate_core::GatewayError)
//! kinds: an upstream's own error answer keeps its status and message; an
//! upstream that cannot be reached or answers garbage is a bad gateway
//! (502); one that does not answer in time is a timeout (504). Messages
//! name the upstream host, never a key.

pub mod client;
pub mod completions_over_chat;
mod error;
mod mlflow;
pub mod openai;

pub use client::HttpClient;
pub use error::ProviderConfigError;
pub use mlflow::{BoxProvider, from_mlflow, provider_names, unknown_config_keys};
