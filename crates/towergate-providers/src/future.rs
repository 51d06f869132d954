//! The future every provider adapter returns.

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use towergate_core::{GatewayError, GatewayResponse};

type BoxedCall = Pin<Box<dyn Future<Output = Result<GatewayResponse, GatewayError>> + Send>>;

/// The answer to one call: resolves when the upstream's answer (or, for a
/// stream, its headers) arrives. Dropping it cancels the upstream call.
pub struct ResponseFuture {
    inner: Inner,
}

enum Inner {
    /// Refused before any call was made.
    Failed(Option<GatewayError>),
    Call(BoxedCall),
}

impl ResponseFuture {
    pub(crate) fn new(
        call: impl Future<Output = Result<GatewayResponse, GatewayError>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Inner::Call(Box::pin(call)),
        }
    }

    /// The call `start` makes with what was `encoded`, or a failed answer
    /// when encoding was refused.
    pub(crate) fn after<T, F>(encoded: Result<T, GatewayError>, start: impl FnOnce(T) -> F) -> Self
    where
        F: Future<Output = Result<GatewayResponse, GatewayError>> + Send + 'static,
    {
        match encoded {
            Ok(encoded) => Self::new(start(encoded)),
            Err(error) => Self::failed(error),
        }
    }

    pub(crate) fn failed(error: GatewayError) -> Self {
        Self {
            inner: Inner::Failed(Some(error)),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Inner::Failed(error) => match error.take() {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Ready(Err(GatewayError::internal(
                    "the provider's answer was polled after it completed",
                ))),
            },
            Inner::Call(call) => call.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
