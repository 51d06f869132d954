//! The BERT model and its tokenizer: texts in, unit vectors out.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};
use towergate_core::GatewayError;

use super::builder::{BuildError, ModelPaths};

/// The vectors of one batch, in the order of its texts.
#[derive(Debug)]
pub(crate) struct EncodedBatch {
    /// One L2-normalised vector per text.
    pub(crate) vectors: Vec<Vec<f32>>,
    /// Real tokens read (padding excluded, special tokens included).
    pub(crate) tokens: u64,
}

/// A sentence encoder: BERT, mean pooling over the attention mask, L2 norm.
pub(crate) struct SentenceEncoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dimensions: usize,
}

impl SentenceEncoder {
    /// Loads the model on the CPU; texts longer than `max_tokens` (or the
    /// model's own limit, if smaller) are cut.
    pub(crate) fn load(paths: &ModelPaths, max_tokens: usize) -> Result<Self, BuildError> {
        let config = read_config(&paths.config)?;
        let device = Device::Cpu;
        let weights = std::fs::read(&paths.model).map_err(|error| {
            BuildError::with_source(format!("cannot read {}", paths.model.display()), error)
        })?;
        let vb =
            VarBuilder::from_buffered_safetensors(weights, DTYPE, &device).map_err(|error| {
                BuildError::with_source(
                    format!("{} is not a safetensors file", paths.model.display()),
                    error,
                )
            })?;
        let model = BertModel::load(vb, &config).map_err(|error| {
            BuildError::with_source(
                format!(
                    "{} does not hold the BERT weights {} describes",
                    paths.model.display(),
                    paths.config.display()
                ),
                error,
            )
        })?;
        let tokenizer = load_tokenizer(
            &paths.tokenizer,
            max_tokens.min(config.max_position_embeddings),
        )?;
        Ok(Self {
            model,
            tokenizer,
            device,
            dimensions: config.hidden_size,
        })
    }

    /// The length of every vector.
    pub(crate) fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// Embeds `texts` as one padded batch. Blocks: call it off the async runtime.
    pub(crate) fn encode(&self, texts: &[&str]) -> Result<EncodedBatch, GatewayError> {
        if texts.is_empty() {
            return Ok(EncodedBatch {
                vectors: Vec::new(),
                tokens: 0,
            });
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|error| GatewayError::internal(format!("tokenizer failed: {error}")))?;
        let rows = encodings.len();
        let columns = encodings.first().map_or(0, |encoding| encoding.len());
        let mut ids = Vec::with_capacity(rows * columns);
        let mut type_ids = Vec::with_capacity(rows * columns);
        let mut mask = Vec::with_capacity(rows * columns);
        for encoding in &encodings {
            if encoding.len() != columns {
                return Err(GatewayError::internal(
                    "tokenizer did not pad the batch to one length",
                ));
            }
            ids.extend_from_slice(encoding.get_ids());
            type_ids.extend_from_slice(encoding.get_type_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        let tokens = mask.iter().map(|&bit| u64::from(bit)).sum();
        let vectors = self
            .forward(ids, type_ids, mask, (rows, columns))
            .map_err(|error| GatewayError::internal(format!("embedding model failed: {error}")))?;
        Ok(EncodedBatch { vectors, tokens })
    }

    fn forward(
        &self,
        ids: Vec<u32>,
        type_ids: Vec<u32>,
        mask: Vec<u32>,
        shape: (usize, usize),
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
        // Mean over the real tokens only: padding is weighted zero.
        let weights = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&weights)?.sum(1)?;
        let counts = weights.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12f32, f32::MAX)?;
        mean.broadcast_div(&norms)?.to_vec2::<f32>()
    }
}

fn read_config(path: &Path) -> Result<Config, BuildError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        BuildError::with_source(format!("cannot read {}", path.display()), error)
    })?;
    serde_json::from_str(&text).map_err(|error| {
        BuildError::with_source(
            format!("{} is not a BERT config.json", path.display()),
            error,
        )
    })
}

fn load_tokenizer(path: &Path, max_length: usize) -> Result<Tokenizer, BuildError> {
    let mut tokenizer = Tokenizer::from_file(path).map_err(|error| {
        BuildError::with_boxed_source(format!("cannot load {}", path.display()), error)
    })?;
    // The file may pin a fixed padding length; pad to the batch's longest text instead.
    let mut padding = tokenizer
        .get_padding()
        .cloned()
        .unwrap_or_else(PaddingParams::default);
    padding.strategy = PaddingStrategy::BatchLongest;
    padding.pad_to_multiple_of = None;
    tokenizer.with_padding(Some(padding));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length,
            ..TruncationParams::default()
        }))
        .map_err(|error| {
            BuildError::with_boxed_source(format!("cannot truncate to {max_length} tokens"), error)
        })?;
    Ok(tokenizer)
}
