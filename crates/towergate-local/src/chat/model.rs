//! The GGUF model, loaded once and shared by every generation.

use std::{fs::File, io::BufReader, path::Path};

use candle_core::{Device, quantized::gguf_file};
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};

use super::{
    LocalError,
    prompt::ChatTemplate,
    tokenizer::{self, GgufTokenizer},
};

/// Weights, tokenizer and name of a loaded model.
///
/// `ModelWeights` keeps its KV cache inside itself, so a generation works on
/// its own clone: the tensors are reference counted, so a clone shares the
/// weights and only the caches are per generation.
pub(crate) struct LoadedModel {
    /// The weights, with empty caches.
    pub(crate) weights: ModelWeights,
    /// The tokenizer from the file's metadata.
    pub(crate) tokenizer: GgufTokenizer,
    /// Renders chat messages into a prompt.
    pub(crate) template: ChatTemplate,
    /// The file stem, reported as the answering model.
    pub(crate) name: String,
    /// Most positions the model can attend to.
    pub(crate) context_length: usize,
    /// Where tensors live (the CPU).
    pub(crate) device: Device,
}

impl LoadedModel {
    /// Reads the GGUF file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, LocalError> {
        let io_error = |source| LocalError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let mut reader = BufReader::new(file);
        let content =
            gguf_file::Content::read(&mut reader).map_err(|e| LocalError::Model(e.to_string()))?;
        let architecture = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .map(String::as_str)
            .unwrap_or("llama");
        if architecture != "llama" {
            return Err(LocalError::Model(format!(
                "architecture `{architecture}` is not supported (only `llama`)"
            )));
        }
        let context_length = content
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .map_or(MAX_SEQ_LEN, |n| (n as usize).min(MAX_SEQ_LEN));
        let tokenizer = tokenizer::from_gguf(&content)?;
        let template = chat_template(&content, &tokenizer);
        let device = Device::Cpu;
        let weights = ModelWeights::from_gguf(content, &mut reader, &device)
            .map_err(|e| LocalError::Model(e.to_string()))?;
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".to_owned());
        Ok(Self {
            weights,
            tokenizer,
            template,
            name,
            context_length,
            device,
        })
    }
}

/// The chat template from `tokenizer.chat_template`, with the file's BOS and
/// EOS tokens as `bos_token` and `eos_token`.
fn chat_template(content: &gguf_file::Content, tokenizer: &GgufTokenizer) -> ChatTemplate {
    let text = |key: &str| {
        content
            .metadata
            .get(key)
            .and_then(|v| v.to_string().ok())
            .cloned()
    };
    let token = |key: &str| {
        content
            .metadata
            .get(key)
            .and_then(|v| v.to_u32().ok())
            .and_then(|id| tokenizer.tokenizer.id_to_token(id))
            .unwrap_or_default()
    };
    ChatTemplate::new(
        text("tokenizer.chat_template"),
        token("tokenizer.ggml.bos_token_id"),
        token("tokenizer.ggml.eos_token_id"),
    )
}
