//! The future of a rate-limited service.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use http::HeaderMap;
use pin_project_lite::pin_project;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, settle::Settlements};

use crate::{
    admission::{Admission, settle},
    headers,
    layer::Shared,
};

pin_project! {
    /// The inner service's answer, with the limits' headers, once every
    /// limit admitted the request; or the refusal.
    pub struct ResponseFuture<S, F> {
        #[pin]
        state: State<S, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F> {
        Checking {
            admission: Admission,
            service: Option<S>,
            request: Option<GatewayRequest>,
            shared: Arc<Shared>,
        },
        Calling {
            #[pin]
            inner: F,
            headers: HeaderMap,
        },
        Finished,
    }
}

impl<S, F> ResponseFuture<S, F> {
    /// A request no limit applies to: straight to the inner service.
    pub(crate) fn direct(inner: F) -> Self {
        Self {
            state: State::Calling {
                inner,
                headers: HeaderMap::new(),
            },
        }
    }

    /// A request that calls `service` once `admission` admits it.
    pub(crate) fn checking(
        admission: Admission,
        service: S,
        request: GatewayRequest,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            state: State::Checking {
                admission,
                service: Some(service),
                request: Some(request),
                shared,
            },
        }
    }
}

impl<S, F> Future for ResponseFuture<S, F>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError, Future = F>,
    F: Future<Output = Result<GatewayResponse, GatewayError>>,
{
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Calling { inner, headers } => {
                    let answer = ready!(inner.poll(cx));
                    return Poll::Ready(with_headers(answer, headers));
                }
                StateProj::Finished => {
                    return Poll::Ready(Err(GatewayError::internal(
                        "rate limit future polled after it finished",
                    )));
                }
                StateProj::Checking {
                    admission,
                    service,
                    request,
                    shared,
                } => match ready!(admission.as_mut().poll(cx)) {
                    Err(refused) => {
                        this.state.set(State::Finished);
                        return Poll::Ready(Err(refused));
                    }
                    Ok(admitted) => match (service.take(), request.take()) {
                        (Some(mut service), Some(mut request)) => {
                            if !admitted.reserved.is_empty() {
                                // Pushed before the call, so whoever settles
                                // the request's usage settles the tokens too.
                                let shared = Arc::clone(shared);
                                let reserved = admitted.reserved;
                                let runtime = tokio::runtime::Handle::try_current().ok();
                                Settlements::of(&mut request).push(move |spent| {
                                    settle(&shared, reserved, spent, runtime.as_ref());
                                });
                            }
                            State::Calling {
                                inner: service.call(request),
                                headers: admitted.headers,
                            }
                        }
                        _ => State::Finished,
                    },
                },
            };
            this.state.set(next);
        }
    }
}

/// `answer` with the limits' headers, on an answer or an error alike.
fn with_headers(
    answer: Result<GatewayResponse, GatewayError>,
    ours: &HeaderMap,
) -> Result<GatewayResponse, GatewayError> {
    if ours.is_empty() {
        return answer;
    }
    match answer {
        Ok(mut response) => {
            headers::merge(&mut response.meta.headers, ours);
            Ok(response)
        }
        Err(mut error) => {
            headers::merge(error.headers_mut(), ours);
            Err(error)
        }
    }
}
