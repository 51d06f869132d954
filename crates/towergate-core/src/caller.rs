//! Who is calling: set by authentication, read by later layers.

use std::sync::Arc;

/// The authenticated caller of a request.
///
/// The auth layer inserts it into [`GatewayRequest::extensions`](crate::GatewayRequest);
/// limits, budgets and usage records read it from there. It never holds the
/// secret key itself, only the key's configured name.
///
/// ```
/// use towergate_core::Caller;
/// let caller = Caller::new("team-a");
/// assert_eq!(caller.name(), "team-a");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    name: Arc<str>,
}

impl Caller {
    /// A caller known by `name` (the key's name in the config, never the key).
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self { name: name.into() }
    }

    /// The caller's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
