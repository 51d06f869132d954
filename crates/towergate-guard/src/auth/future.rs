//! The response future of [`Auth`](super::Auth).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use towergate_core::{GatewayError, GatewayResponse, Payload};

use super::ApiKey;

/// The key that admitted a listing, to filter the listing's answer with.
#[derive(Debug)]
pub(crate) struct Grant {
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

pin_project! {
    /// The answer of [`Auth`](super::Auth): the inner service's, or a refusal.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Called {
            #[pin]
            future: F,
            listing: Option<Grant>,
        },
        Refused {
            error: Option<GatewayError>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F, listing: Option<Grant>) -> Self {
        Self {
            state: State::Called { future, listing },
        }
    }

    pub(crate) fn refused(error: GatewayError) -> Self {
        Self {
            state: State::Refused { error: Some(error) },
        }
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<GatewayResponse, GatewayError>>,
{
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Called { future, listing } => {
                let mut response = ready!(future.poll(cx))?;
                if let (Some(grant), Payload::Endpoints(endpoints)) =
                    (listing.take(), &mut response.payload)
                {
                    endpoints.retain(|endpoint| grant.allows(&endpoint.name));
                }
                Poll::Ready(Ok(response))
            }
            StateProj::Refused { error } => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                GatewayError::internal("the auth future was polled after it completed")
            }))),
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
