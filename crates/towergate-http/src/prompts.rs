//! The prompt templates MLflow's front lists at `GET /api/2.0/prompts/`.

use std::fmt;

/// Where the front reads the prompt templates it lists.
///
/// The gateway implements it over its templates, so that a reload shows
/// at once; a front without one lists no templates. Each call answers
/// JSON ready to send.
pub trait PromptCatalog: Send + Sync + fmt::Debug + 'static {
    /// Every template with its versions.
    fn list(&self) -> serde_json::Value;

    /// One template with its versions; `None` when there is none by `name`.
    fn get(&self, name: &str) -> Option<serde_json::Value>;
}
