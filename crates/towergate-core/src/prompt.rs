//! Which prompt template version served a request: set by the template
//! layer, named in the `x-towergate-prompt` header and the usage record.

use std::{fmt, sync::Arc};

/// The prompt template and version a request was rendered with.
///
/// The template layer inserts it into
/// [`GatewayRequest::extensions`](crate::GatewayRequest) for the layers
/// below it, and names it in the answer's [`HEADER`](Self::HEADER) as
/// `name@version`. Usage accounting sits above the template layer (which
/// is per endpoint), so the usage record reads the version from that
/// header, on answers and errors alike; the arms of a split between
/// versions can be compared afterwards.
///
/// ```
/// use towergate_core::PromptChoice;
/// let choice = PromptChoice::new("summarize", 2);
/// assert_eq!(choice.to_string(), "summarize@2");
/// assert_eq!(&*choice.name, "summarize");
/// assert_eq!(choice.version, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PromptChoice {
    /// The template's name.
    pub name: Arc<str>,
    /// The version chosen.
    pub version: u32,
}

impl PromptChoice {
    /// The response header that names the choice, `x-towergate-prompt`.
    pub const HEADER: &'static str = "x-towergate-prompt";

    /// Version `version` of the template named `name`.
    pub fn new(name: impl Into<Arc<str>>, version: u32) -> Self {
        Self {
            name: name.into(),
            version,
        }
    }
}

impl fmt::Display for PromptChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}
