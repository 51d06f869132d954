//! The future [`LocalChat`](super::LocalChat) answers with.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use towergate_core::{GatewayError, GatewayResponse};

type Inner = Pin<Box<dyn Future<Output = Result<GatewayResponse, GatewayError>> + Send>>;

/// The answer of [`LocalChat`](super::LocalChat): waits for a generation
/// slot, then for the generation (or, when streaming, for its start).
///
/// Dropping it while it waits gives its place in the queue back; dropping
/// it while a whole answer is generated stops the generation.
pub struct ResponseFuture {
    inner: Inner,
}

impl ResponseFuture {
    pub(crate) fn new(inner: Inner) -> Self {
        Self { inner }
    }

    pub(crate) fn ready(result: Result<GatewayResponse, GatewayError>) -> Self {
        Self::new(Box::pin(std::future::ready(result)))
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
