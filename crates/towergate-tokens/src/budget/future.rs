//! The future of a budgeted service.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, settle::Settlements};

use super::reservation::BudgetReservation;

/// The reservation of one request: admitted with a reservation to settle, or refused.
pub(crate) type Admission =
    Pin<Box<dyn Future<Output = Result<BudgetReservation, GatewayError>> + Send + 'static>>;

pin_project! {
    /// The inner service's answer, once the budget admitted the request;
    /// or the budget's refusal.
    pub struct ResponseFuture<S, F> {
        #[pin]
        state: State<S, F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F> {
        Reserving {
            admission: Admission,
            service: Option<S>,
            request: Option<GatewayRequest>,
        },
        Calling {
            #[pin]
            inner: F,
        },
        Finished,
    }
}

impl<S, F> ResponseFuture<S, F> {
    /// A request with no budget: straight to the inner service.
    pub(crate) fn direct(inner: F) -> Self {
        Self {
            state: State::Calling { inner },
        }
    }

    /// A request that calls `service` once `admission` admits it.
    pub(crate) fn checking(admission: Admission, service: S, request: GatewayRequest) -> Self {
        Self {
            state: State::Reserving {
                admission,
                service: Some(service),
                request: Some(request),
            },
        }
    }
}

impl<S, F, R> Future for ResponseFuture<S, F>
where
    S: Service<GatewayRequest, Response = R, Error = GatewayError, Future = F>,
    F: Future<Output = Result<R, GatewayError>>,
{
    type Output = Result<R, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Calling { inner } => return inner.poll(cx),
                StateProj::Finished => {
                    return Poll::Ready(Err(GatewayError::internal(
                        "budget future polled after it finished",
                    )));
                }
                StateProj::Reserving {
                    admission,
                    service,
                    request,
                } => match ready!(admission.as_mut().poll(cx)) {
                    Err(refused) => {
                        this.state.set(State::Finished);
                        return Poll::Ready(Err(refused));
                    }
                    Ok(reservation) => match (service.take(), request.take()) {
                        (Some(mut service), Some(mut request)) => {
                            // Pushed before the call, so whoever settles the
                            // request's usage settles the reservation too.
                            Settlements::of(&mut request)
                                .push(move |spent| reservation.settle(spent.cost_usd));
                            State::Calling {
                                inner: service.call(request),
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
