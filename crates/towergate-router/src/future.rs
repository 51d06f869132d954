use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tower::util::Oneshot;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use crate::BoxEndpoint;

pin_project! {
    /// The future of [`Router`](crate::Router): an immediate refusal, or the
    /// chosen endpoint's answer.
    pub struct ResponseFuture {
        #[pin]
        state: State,
    }
}

pin_project! {
    #[project = StateProj]
    enum State {
        Ready { result: Option<Result<GatewayResponse, GatewayError>> },
        Routed { #[pin] call: Oneshot<BoxEndpoint, GatewayRequest>, endpoint: Option<String> },
    }
}

impl ResponseFuture {
    pub(crate) fn ready(result: Result<GatewayResponse, GatewayError>) -> Self {
        Self {
            state: State::Ready {
                result: Some(result),
            },
        }
    }

    pub(crate) fn routed(call: Oneshot<BoxEndpoint, GatewayRequest>, endpoint: String) -> Self {
        Self {
            state: State::Routed {
                call,
                endpoint: Some(endpoint),
            },
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { result } => Poll::Ready(
                result
                    .take()
                    .unwrap_or_else(|| Err(GatewayError::internal("router future polled twice"))),
            ),
            StateProj::Routed { call, endpoint } => {
                let mut response = std::task::ready!(call.poll(cx))?;
                if response.meta.endpoint.is_none() {
                    response.meta.endpoint = endpoint.take();
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}
