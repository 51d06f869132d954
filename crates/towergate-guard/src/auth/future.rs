//! The response future of [`Auth`](super::Auth).

use std::sync::Arc;

use towergate_core::{
    Payload,
    gate::{Answer, Leave, LeaveFuture},
};

use super::ApiKey;

/// The key that admitted a listing, to filter the listing's answer with.
#[derive(Debug)]
pub struct Grant {
    keys: Arc<[ApiKey]>,
    index: usize,
}

impl Grant {
    pub(crate) fn new(keys: Arc<[ApiKey]>, index: usize) -> Self {
        Self { keys, index }
    }

    fn allows(&self, endpoint: &str) -> bool {
        self.keys
            .get(self.index)
            .is_some_and(|key| key.allows(endpoint))
    }
}

/// The answer of [`Auth`](super::Auth): the inner service's (a listing
/// filtered to the key's endpoints), or a refusal.
pub type ResponseFuture<F> = LeaveFuture<F, Grant>;

/// A listing's answer keeps only the endpoints the key may use.
impl Leave for Grant {
    fn leave(self, answer: Answer) -> Answer {
        let mut response = answer?;
        if let Payload::Endpoints(endpoints) = &mut response.payload {
            endpoints.retain(|endpoint| self.allows(&endpoint.name));
        }
        Ok(response)
    }
}
