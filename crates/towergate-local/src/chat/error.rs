//! Why a local chat model could not be loaded.

use std::{fmt, path::PathBuf};

/// Why [`LocalChat`](super::LocalChat) could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum LocalError {
    /// The model file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is not a GGUF llama model candle can load.
    Model(String),
    /// The GGUF metadata does not describe a usable tokenizer.
    Tokenizer(String),
    /// A builder setting is out of range.
    Config(String),
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalError::Io { path, source } => {
                write!(f, "cannot read model file {}: {source}", path.display())
            }
            LocalError::Model(message) => write!(f, "cannot load model: {message}"),
            LocalError::Tokenizer(message) => write!(f, "cannot build tokenizer: {message}"),
            LocalError::Config(message) => write!(f, "invalid setting: {message}"),
        }
    }
}

impl std::error::Error for LocalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LocalError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
