//! The future a [`Cached`](crate::Cached) service answers with.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use towergate_core::{GatewayError, GatewayResponse};

type Answer = Result<GatewayResponse, GatewayError>;

/// The answer of a cached service: from the store, from a call in flight
/// for the same request, or from the inner service.
///
/// Boxed: a cache answer waits on the store, maybe an embedder, and the
/// inner service in turn, and names none of their types.
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Answer> + Send>>,
}

impl ResponseFuture {
    pub(crate) fn new(inner: impl Future<Output = Answer> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(inner),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}
