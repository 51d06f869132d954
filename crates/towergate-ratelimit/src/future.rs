//! The future of a limited service.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use towergate_core::GatewayError;

pin_project! {
    /// The inner service's answer, or the limit's refusal.
    pub struct ResponseFuture<F, R> {
        #[pin]
        state: State<F, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, R> {
        Admitted { #[pin] inner: F },
        Refused { error: Option<GatewayError>, _answer: std::marker::PhantomData<fn() -> R> },
    }
}

impl<F, R> ResponseFuture<F, R> {
    pub(crate) fn admitted(inner: F) -> Self {
        Self {
            state: State::Admitted { inner },
        }
    }

    pub(crate) fn refused(error: GatewayError) -> Self {
        Self {
            state: State::Refused {
                error: Some(error),
                _answer: std::marker::PhantomData,
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
        match self.project().state.project() {
            StateProj::Admitted { inner } => inner.poll(cx),
            StateProj::Refused { error, .. } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| GatewayError::internal("limit future polled twice")))),
        }
    }
}
