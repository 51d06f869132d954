//! The future [`LocalEmbeddings`](super::LocalEmbeddings) answers with.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use towergate_core::{GatewayError, GatewayResponse};

type Embed = Pin<Box<dyn Future<Output = Result<GatewayResponse, GatewayError>> + Send>>;

/// The answer of [`LocalEmbeddings`](super::LocalEmbeddings): a refusal
/// made before any work, or the running embedding.
pub struct ResponseFuture {
    inner: Inner,
}

enum Inner {
    Failed(Option<GatewayError>),
    Embed(Embed),
}

impl ResponseFuture {
    pub(crate) fn new(
        embed: impl Future<Output = Result<GatewayResponse, GatewayError>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Inner::Embed(Box::pin(embed)),
        }
    }

    pub(crate) fn failed(error: GatewayError) -> Self {
        Self {
            inner: Inner::Failed(Some(error)),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl Future for ResponseFuture {
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Inner::Failed(error) => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                GatewayError::internal("embeddings future polled after it finished")
            }))),
            Inner::Embed(embed) => embed.as_mut().poll(cx),
        }
    }
}
