//! The future a [`Templated`](crate::Templated) service answers with.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use http::HeaderValue;
use pin_project_lite::pin_project;
use towergate_core::{GatewayError, GatewayResponse};

use crate::PROMPT_HEADER;

pin_project! {
    /// The inner service's answer, with the `x-towergate-prompt` header when
    /// a template was rendered; or the layer's own refusal.
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
            inner: F,
            header: Option<HeaderValue>,
        },
        Refused {
            error: Option<GatewayError>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(inner: F, header: Option<HeaderValue>) -> Self {
        Self {
            state: State::Called { inner, header },
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
            StateProj::Called { inner, header } => {
                let answer = ready!(inner.poll(cx));
                let Some(header) = header.take() else {
                    return Poll::Ready(answer);
                };
                Poll::Ready(match answer {
                    Ok(mut response) => {
                        response.meta.headers.insert(PROMPT_HEADER, header);
                        Ok(response)
                    }
                    Err(mut error) => {
                        error.headers_mut().insert(PROMPT_HEADER, header);
                        Err(error)
                    }
                })
            }
            StateProj::Refused { error } => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                GatewayError::internal("template future polled after it finished")
            }))),
        }
    }
}
