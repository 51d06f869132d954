//! Where the model's files are and how the service runs them.

use std::{
    error::Error,
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use tokio::sync::Semaphore;
use towergate_core::BoxError;

use super::{LocalEmbeddings, encoder::SentenceEncoder, service::Shared};

/// Texts per forward pass unless [`LocalEmbeddingsBuilder::max_batch`] says otherwise.
pub const DEFAULT_MAX_BATCH: usize = 32;
/// Batches computed at once unless
/// [`LocalEmbeddingsBuilder::max_concurrent_batches`] says otherwise.
pub const DEFAULT_MAX_CONCURRENT_BATCHES: usize = 2;
/// Tokens read per text unless [`LocalEmbeddingsBuilder::max_tokens`] says otherwise
/// (the length all-MiniLM-L6-v2 was trained on).
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Inputs one request may carry unless [`LocalEmbeddingsBuilder::max_inputs`] says
/// otherwise (OpenAI's limit).
pub const DEFAULT_MAX_INPUTS: usize = 2048;

/// The three files a BERT sentence encoder is made of.
#[derive(Debug, Clone)]
pub(crate) struct ModelPaths {
    pub(crate) config: PathBuf,
    pub(crate) model: PathBuf,
    pub(crate) tokenizer: PathBuf,
}

/// Builds a [`LocalEmbeddings`]; made by [`LocalEmbeddings::builder`].
#[derive(Debug, Clone)]
pub struct LocalEmbeddingsBuilder {
    paths: ModelPaths,
    max_batch: usize,
    max_concurrent_batches: usize,
    max_tokens: usize,
    max_inputs: usize,
}

impl LocalEmbeddingsBuilder {
    pub(crate) fn new(model_dir: &Path) -> Self {
        Self {
            paths: ModelPaths {
                config: model_dir.join("config.json"),
                model: model_dir.join("model.safetensors"),
                tokenizer: model_dir.join("tokenizer.json"),
            },
            max_batch: DEFAULT_MAX_BATCH,
            max_concurrent_batches: DEFAULT_MAX_CONCURRENT_BATCHES,
            max_tokens: DEFAULT_MAX_TOKENS,
            max_inputs: DEFAULT_MAX_INPUTS,
        }
    }

    /// The weights, instead of `model.safetensors` in the model directory.
    pub fn model_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.model = path.into();
        self
    }

    /// The tokenizer, instead of `tokenizer.json` in the model directory.
    pub fn tokenizer_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.tokenizer = path.into();
        self
    }

    /// The BERT config, instead of `config.json` in the model directory.
    pub fn config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.config = path.into();
        self
    }

    /// Texts embedded in one forward pass (default 32); larger requests are
    /// split into batches of this size.
    pub fn max_batch(mut self, texts: usize) -> Self {
        self.max_batch = texts;
        self
    }

    /// Batches computed at the same time across all requests (default 2);
    /// others wait their turn, first come first served. Matrix products
    /// already use every core, the rest of a forward pass one, so two
    /// batches overlap well; each holds up to a few hundred MB at 256 tokens.
    pub fn max_concurrent_batches(mut self, batches: usize) -> Self {
        self.max_concurrent_batches = batches;
        self
    }

    /// Tokens read per text (default 256, capped by the model's positions);
    /// longer texts are cut.
    pub fn max_tokens(mut self, tokens: usize) -> Self {
        self.max_tokens = tokens;
        self
    }

    /// Inputs one request may carry (default 2048); more is refused.
    pub fn max_inputs(mut self, inputs: usize) -> Self {
        self.max_inputs = inputs;
        self
    }

    /// Loads the model and its tokenizer (reads ~90 MB; blocks).
    pub fn build(self) -> Result<LocalEmbeddings, BuildError> {
        for (name, value, least) in [
            ("max_batch", self.max_batch, 1),
            ("max_concurrent_batches", self.max_concurrent_batches, 1),
            ("max_tokens", self.max_tokens, 4),
            ("max_inputs", self.max_inputs, 1),
        ] {
            if value < least {
                return Err(BuildError::new(format!(
                    "{name} must be at least {least}, not {value}"
                )));
            }
        }
        let max_concurrent = self.max_concurrent_batches.min(Semaphore::MAX_PERMITS);
        let encoder = SentenceEncoder::load(&self.paths, self.max_tokens)?;
        Ok(LocalEmbeddings::from_shared(Arc::new(Shared {
            encoder,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            max_batch: self.max_batch,
            max_inputs: self.max_inputs,
        })))
    }
}

/// Why the embedding model could not be loaded.
#[derive(Debug)]
pub struct BuildError {
    message: String,
    source: Option<BoxError>,
}

impl BuildError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        message: impl Into<String>,
        source: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self::with_boxed_source(message, Box::new(source))
    }

    pub(crate) fn with_boxed_source(message: impl Into<String>, source: BoxError) -> Self {
        Self {
            message: message.into(),
            source: Some(source),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load the embedding model: {}", self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}
