//! Store updates whose answer nobody waits for: settlements.

use std::{
    future::Future,
    task::{Context, Waker},
};

use tokio::runtime::Handle;

/// Runs `work` without blocking and without waiting for it.
///
/// On a Tokio runtime, `work` is polled once here: a store in memory
/// answers at once and needs no task. Otherwise it is spawned on the
/// current runtime, or, off any runtime (a drop on a foreign thread), on
/// `fallback`, the runtime the work came from. Answers `false` when there
/// is no runtime to run it on, so the caller can say so.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let done = Arc::new(AtomicBool::new(false));
/// let flag = Arc::clone(&done);
/// assert!(towergate_state::run_soon(async move { flag.store(true, Ordering::SeqCst) }, None));
/// assert!(done.load(Ordering::SeqCst));
/// # }
/// ```
pub fn run_soon(work: impl Future<Output = ()> + Send + 'static, fallback: Option<Handle>) -> bool {
    let mut work = Box::pin(work);
    let current = Handle::try_current().ok();
    if current.is_some() {
        let mut context = Context::from_waker(Waker::noop());
        if work.as_mut().poll(&mut context).is_ready() {
            return true;
        }
    }
    match current.or(fallback) {
        Some(runtime) => {
            runtime.spawn(work);
            true
        }
        None => false,
    }
}
