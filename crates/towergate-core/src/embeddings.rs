//! Embeddings on OpenAI's schema.

use serde::{Deserialize, Serialize};

use crate::{Extra, Usage};

/// An embeddings request (`POST /v1/embeddings`).
///
/// ```
/// use towergate_core::embeddings::{EmbeddingsRequest, EmbeddingInput};
/// let request: EmbeddingsRequest =
///     serde_json::from_str(r#"{"model":"embed","input":["a","b"]}"#).unwrap();
/// assert_eq!(request.input.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    /// The model; on towergate's OpenAI front, an endpoint or route name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What to embed.
    pub input: EmbeddingInput,
    /// `float` or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// Truncate the vectors to this many dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// The end user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Fields towergate does not model, passed on unchanged.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Input to embed: one or several texts, or token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One input as token ids.
    Tokens(Vec<u32>),
    /// Several inputs as token ids.
    TokenBatches(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// How many vectors the input asks for.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingInput::Text(_) | EmbeddingInput::Tokens(_) => 1,
            EmbeddingInput::Texts(texts) => texts.len(),
            EmbeddingInput::TokenBatches(batches) => batches.len(),
        }
    }

    /// Whether the input asks for no vector at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The answer to an embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    /// Always `list`.
    pub object: String,
    /// One vector per input.
    pub data: Vec<Embedding>,
    /// The model that answered.
    pub model: String,
    /// Tokens used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Fields towergate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One embedding vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Always `embedding`.
    pub object: String,
    /// Which input it embeds.
    pub index: u32,
    /// The vector.
    pub embedding: Vector,
}

/// A vector as floats, or as base64 when `encoding_format` is `base64`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Vector {
    /// Floats.
    Float(Vec<f32>),
    /// Little-endian f32s, base64-encoded.
    Base64(String),
}
