//! Settling what a request reserved, once what it really used is known.
//!
//! Budgets and token limits decide before the call, on an estimate, and
//! must correct that estimate when the answer (or the stream) ends. A layer
//! that reserves pushes a callback onto the request's [`Settlements`]; the
//! usage-accounting layer runs every callback once, with what the request
//! [`Spent`], when its usage record is final: after a complete answer, at
//! the end of a stream, when a client drops a stream, or after an error.
//!
//! ```
//! use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
//! use towergate_core::{GatewayRequest, Operation, Usage, settle::{Settlements, Spent}};
//!
//! let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
//! let seen = Arc::new(AtomicU64::new(0));
//! let sink = Arc::clone(&seen);
//! Settlements::of(&mut request).push(move |spent: &Spent| {
//!     sink.store(spent.usage.total_tokens, Ordering::SeqCst);
//! });
//!
//! // Later, the accounting layer:
//! let settlements = request.extensions.get::<Settlements>().cloned().unwrap();
//! settlements.settle(&Spent::new(Usage::new(10, 5), 0.0));
//! assert_eq!(seen.load(Ordering::SeqCst), 15);
//! ```

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use crate::{GatewayRequest, Usage};

/// What one request finally used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spent {
    /// Tokens used (zero for a failed request that generated nothing).
    pub usage: Usage,
    /// What the tokens cost, in US dollars.
    pub cost_usd: f64,
}

impl Spent {
    /// `usage` at `cost_usd`.
    pub fn new(usage: Usage, cost_usd: f64) -> Self {
        Self { usage, cost_usd }
    }
}

type Callback = Box<dyn FnOnce(&Spent) + Send>;

/// Callbacks that run once, when a request's usage is final.
///
/// Lives in [`GatewayRequest::extensions`]; clones share the callbacks, so a
/// layer may keep a clone after handing the request on. A callback that is
/// never run is dropped with the last clone: a layer that reserved should
/// treat that as "spent what was reserved", never as "spent nothing".
#[derive(Clone, Default)]
pub struct Settlements {
    callbacks: Arc<Mutex<Vec<Callback>>>,
}

impl Settlements {
    /// The request's settlements, inserted empty if it has none yet.
    pub fn of(request: &mut GatewayRequest) -> &Settlements {
        request.extensions.get_or_insert_default::<Settlements>()
    }

    /// Adds a callback to run when the request's usage is final.
    pub fn push(&self, callback: impl FnOnce(&Spent) + Send + 'static) {
        self.lock().push(Box::new(callback));
    }

    /// Runs every callback pushed so far, once, with `spent`.
    pub fn settle(&self, spent: &Spent) {
        let callbacks = std::mem::take(&mut *self.lock());
        for callback in callbacks {
            callback(spent);
        }
    }

    /// How many callbacks wait to run.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no callback waits to run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Callback>> {
        self.callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Settlements {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settlements")
            .field("pending", &self.len())
            .finish()
    }
}
