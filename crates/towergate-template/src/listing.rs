//! What the admin API shows of a library.

use serde::Serialize;

use crate::spec::MessageSpec;

/// A template as `GET /api/2.0/prompts/{name}` shows it.
///
/// ```
/// use towergate_template::{PromptLibrary, PromptSpec};
///
/// let spec: PromptSpec = serde_json::from_value(serde_json::json!({
///     "name": "greet",
///     "versions": [{"version": 3, "messages": [{"role": "user", "content": "Hi {{ name }}"}]}]
/// })).unwrap();
/// let library = PromptLibrary::new([spec]).unwrap();
/// let shown = serde_json::to_value(library.listing()).unwrap();
/// assert_eq!(shown, serde_json::json!([{
///     "name": "greet",
///     "latest_version": 3,
///     "versions": [{
///         "version": 3,
///         "messages": [{"role": "user", "content": "Hi {{ name }}"}],
///         "variables": ["name"]
///     }]
/// }]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptInfo {
    /// The template's name.
    pub name: String,
    /// Its highest version number.
    pub latest_version: u32,
    /// Its versions, oldest first.
    pub versions: Vec<VersionInfo>,
}

/// One version as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// The version number.
    pub version: u32,
    /// Its messages as written.
    pub messages: Vec<MessageSpec>,
    /// The variables its messages use, sorted.
    pub variables: Vec<String>,
}
