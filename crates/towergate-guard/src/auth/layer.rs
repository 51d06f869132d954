//! The layer that wraps services with [`Auth`].

use std::sync::Arc;

use tower::Layer;

use super::{ApiKey, Auth};

/// Wraps a service with [`Auth`] over a fixed set of keys.
///
/// Cheap to clone: the keys sit behind an [`Arc`].
#[derive(Debug, Clone)]
pub struct AuthLayer {
    keys: Arc<[ApiKey]>,
}

impl AuthLayer {
    /// A layer that admits the holders of `keys`.
    ///
    /// If two keys share a secret, the later one in `keys` names the caller.
    pub fn new(keys: impl IntoIterator<Item = ApiKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }

    /// The configured keys.
    pub fn keys(&self) -> &[ApiKey] {
        &self.keys
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::from_shared(inner, Arc::clone(&self.keys))
    }
}
