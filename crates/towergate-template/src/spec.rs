//! Templates as plain data, in the shape of the config file's `prompts:`.

use serde::{Deserialize, Serialize};
use towergate_core::chat::Role;

/// A named template and its versions, as written under `prompts:`.
///
/// ```
/// use towergate_template::PromptSpec;
///
/// let spec: PromptSpec = serde_json::from_value(serde_json::json!({
///     "name": "summarize",
///     "versions": [{
///         "version": 1,
///         "messages": [
///             {"role": "system", "content": "You summarize."},
///             {"role": "user", "content": "Summarize in {{ words }} words: {{ text }}"}
///         ]
///     }]
/// })).unwrap();
/// assert_eq!(spec.versions[0].messages.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// The template's name (`[a-zA-Z0-9_.-]+`), unique in a library.
    pub name: String,
    /// Its versions, each number unique.
    pub versions: Vec<VersionSpec>,
}

/// One version of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionSpec {
    /// The version number; the highest is the latest.
    pub version: u32,
    /// The messages it renders, in order, put before the caller's own.
    pub messages: Vec<MessageSpec>,
}

/// One message of a template version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Who the message is from.
    pub role: Role,
    /// The message's text, in minijinja syntax.
    pub content: String,
}
