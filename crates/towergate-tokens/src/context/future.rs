//! The future of a [`ContextWindow`](super::ContextWindow) service.

use std::{
    future::Future,
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use towergate_core::GatewayError;

pin_project! {
    /// The inner service's answer to a request that fits, or the refusal
    /// of one that does not.
    pub struct ResponseFuture<F, R> {
        #[pin]
        kind: Kind<F, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, R> {
        Called { #[pin] inner: F },
        TooLong { error: Option<GatewayError>, _response: PhantomData<fn() -> R> },
    }
}

impl<F, R> ResponseFuture<F, R> {
    pub(super) fn called(inner: F) -> Self {
        Self {
            kind: Kind::Called { inner },
        }
    }

    pub(super) fn too_long(error: GatewayError) -> Self {
        Self {
            kind: Kind::TooLong {
                error: Some(error),
                _response: PhantomData,
            },
        }
    }
}

impl<F, R> Future for ResponseFuture<F, R>
where
    F: Future<Output = Result<R, GatewayError>>,
{
    type Output = Result<R, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { inner } => inner.poll(cx),
            KindProj::TooLong { error, .. } => {
                Poll::Ready(Err(error.take().unwrap_or_else(|| {
                    GatewayError::internal("context window future polled after completion")
                })))
            }
        }
    }
}
