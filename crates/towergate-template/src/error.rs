//! What can be wrong with a library or a selection, found when it is built.

use std::fmt;

/// A template library that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LibraryError {
    /// A template name is empty or has a character outside `[a-zA-Z0-9_.-]`.
    InvalidName {
        /// The name as given.
        name: String,
    },
    /// Two templates have the same name.
    DuplicatePrompt {
        /// The name given twice.
        name: String,
    },
    /// A template has no version.
    NoVersions {
        /// The template.
        name: String,
    },
    /// A template has the same version number twice.
    DuplicateVersion {
        /// The template.
        name: String,
        /// The version given twice.
        version: u32,
    },
    /// A version has no message.
    NoMessages {
        /// The template.
        name: String,
        /// The empty version.
        version: u32,
    },
    /// A message's content is not a valid template.
    Syntax {
        /// The template.
        name: String,
        /// The version.
        version: u32,
        /// The message's position in the version, from 0.
        message: usize,
        /// The line of the content at fault, from 1, when known.
        line: Option<usize>,
        /// What the parser said.
        detail: String,
    },
}

impl fmt::Display for LibraryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryError::InvalidName { name } => write!(
                f,
                "prompt name `{name}` must be non-empty and use only a-z, A-Z, 0-9, `_`, `.`, `-`"
            ),
            LibraryError::DuplicatePrompt { name } => {
                write!(f, "prompt `{name}` is defined twice")
            }
            LibraryError::NoVersions { name } => write!(f, "prompt `{name}` has no versions"),
            LibraryError::DuplicateVersion { name, version } => {
                write!(f, "prompt `{name}` defines version {version} twice")
            }
            LibraryError::NoMessages { name, version } => {
                write!(f, "prompt `{name}` version {version} has no messages")
            }
            LibraryError::Syntax {
                name,
                version,
                message,
                line,
                detail,
            } => {
                write!(
                    f,
                    "prompt `{name}` version {version}, messages[{message}].content"
                )?;
                if let Some(line) = line {
                    write!(f, ", line {line}")?;
                }
                write!(f, ": {detail}")
            }
        }
    }
}

impl std::error::Error for LibraryError {}

/// A selection of template versions that does not fit its library.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectionError {
    /// The library has no template of this name.
    UnknownPrompt {
        /// The name asked for.
        name: String,
    },
    /// The template has no such version.
    UnknownVersion {
        /// The template.
        name: String,
        /// The version asked for.
        version: u32,
        /// The versions it has.
        known: Vec<u32>,
    },
    /// A split names the same version twice.
    DuplicateArm {
        /// The template.
        name: String,
        /// The version named twice.
        version: u32,
    },
    /// A split's weights add up to nothing.
    NoWeight {
        /// The template.
        name: String,
    },
}

impl fmt::Display for SelectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectionError::UnknownPrompt { name } => write!(f, "no prompt named `{name}`"),
            SelectionError::UnknownVersion {
                name,
                version,
                known,
            } => {
                let known: Vec<String> = known.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "prompt `{name}` has no version {version} (it has {})",
                    known.join(", ")
                )
            }
            SelectionError::DuplicateArm { name, version } => write!(
                f,
                "the split of prompt `{name}` names version {version} twice"
            ),
            SelectionError::NoWeight { name } => write!(
                f,
                "the split of prompt `{name}` needs a weight above 0 on at least one version"
            ),
        }
    }
}

impl std::error::Error for SelectionError {}
