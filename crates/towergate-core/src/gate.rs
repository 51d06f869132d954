//! Layers that decide before a request goes in, asynchronously: rate
//! limits and budgets ask a store (perhaps Redis) whether a request fits.
//!
//! A [`Gate`] looks at a request and answers `None` (nothing to decide:
//! the request goes straight in) or an [`Admission`], a future that admits
//! or refuses it. [`Gated`] is the service that runs the admission, then
//! calls the inner service; the [`Admitted`] value the admission gave
//! [`enter`](Admitted::enter)s the request (to push settlements, say) and
//! [`Leave`]s with its answer (to add headers, say).
//!
//! ```
//! use tower_service::Service;
//! use towergate_core::{
//!     ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
//!     gate::{Admission, Gate, Gated},
//! };
//!
//! /// Admits requests to one endpoint only.
//! #[derive(Clone)]
//! struct OnlyChat;
//!
//! impl Gate for OnlyChat {
//!     type Admitted = ();
//!     fn admission(&self, request: &GatewayRequest) -> Option<Admission<()>> {
//!         let fits = request.endpoint == "chat";
//!         Some(Box::pin(async move {
//!             if fits { Ok(()) } else { Err(GatewayError::new(ErrorKind::Forbidden, "chat only")) }
//!         }))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let inner = tower::service_fn(|_request: GatewayRequest| async {
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! });
//! let mut gated = Gated::new(inner, OnlyChat);
//! assert!(gated.call(GatewayRequest::new("chat", Operation::ListEndpoints)).await.is_ok());
//! let refused = gated.call(GatewayRequest::new("embed", Operation::ListEndpoints)).await;
//! assert_eq!(refused.unwrap_err().kind(), ErrorKind::Forbidden);
//! # }
//! ```

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tower_service::Service;

use crate::{GatewayError, GatewayRequest, GatewayResponse};

/// The decision on one request: admitted with what to settle, or refused.
pub type Admission<A> = Pin<Box<dyn Future<Output = Result<A, GatewayError>> + Send + 'static>>;

/// The answer a gated service gives.
pub type Answer = Result<GatewayResponse, GatewayError>;

/// Decides, before a request goes in, whether it may.
pub trait Gate: Clone {
    /// What an admission gives, to enter the request with.
    type Admitted: Admitted;

    /// The decision to make on `request`; `None` when there is none to
    /// make and the request goes straight in.
    fn admission(&self, request: &GatewayRequest) -> Option<Admission<Self::Admitted>>;
}

/// What an admitted request carries in, and out with its answer.
pub trait Admitted: Send + 'static {
    /// What is done with the answer.
    type Leave: Leave;

    /// Called with the request just before it goes to the inner service.
    fn enter(self, request: &mut GatewayRequest) -> Self::Leave;
}

/// What is done with the answer of an admitted request.
pub trait Leave {
    /// Called with the inner service's answer, success or error.
    fn leave(self, answer: Answer) -> Answer;
}

/// Nothing to enter with, nothing to do with the answer.
impl Admitted for () {
    type Leave = ();

    fn enter(self, _request: &mut GatewayRequest) {}
}

/// Leaves the answer as it is.
impl Leave for () {
    fn leave(self, answer: Answer) -> Answer {
        answer
    }
}

/// A service whose requests pass a [`Gate`] first.
#[derive(Clone)]
pub struct Gated<S, G> {
    inner: S,
    gate: G,
}

impl<S, G> Gated<S, G> {
    /// `inner` behind `gate`.
    pub fn new(inner: S, gate: G) -> Self {
        Self { inner, gate }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The gate.
    pub fn gate(&self) -> &G {
        &self.gate
    }
}

impl<S: fmt::Debug, G: fmt::Debug> fmt::Debug for Gated<S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gated")
            .field("inner", &self.inner)
            .field("gate", &self.gate)
            .finish()
    }
}

impl<S, G> Service<GatewayRequest> for Gated<S, G>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
    G: Gate,
{
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = GateFuture<S, S::Future, G::Admitted>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        match self.gate.admission(&request) {
            None => GateFuture {
                state: State::Calling {
                    call: LeaveFuture::called(self.inner.call(request), None),
                },
            },
            Some(admission) => {
                // The service that was polled ready goes with the request;
                // this one keeps a fresh clone for the next call.
                let fresh = self.inner.clone();
                let ready = std::mem::replace(&mut self.inner, fresh);
                GateFuture {
                    state: State::Checking {
                        admission,
                        service: Some(ready),
                        request: Some(request),
                    },
                }
            }
        }
    }
}

pin_project! {
    /// The inner service's answer once the gate admitted the request; or
    /// the gate's refusal.
    pub struct GateFuture<S, F, A: Admitted> {
        #[pin]
        state: State<S, F, A>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, F, A: Admitted> {
        Checking {
            admission: Admission<A>,
            service: Option<S>,
            request: Option<GatewayRequest>,
        },
        Calling {
            #[pin]
            call: LeaveFuture<F, A::Leave>,
        },
        Finished,
    }
}

impl<S, F, A> Future for GateFuture<S, F, A>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError, Future = F>,
    F: Future<Output = Answer>,
    A: Admitted,
{
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Calling { call } => return call.poll(cx),
                StateProj::Finished => {
                    return Poll::Ready(Err(GatewayError::internal(
                        "gated future polled after it finished",
                    )));
                }
                StateProj::Checking {
                    admission,
                    service,
                    request,
                } => match ready!(admission.as_mut().poll(cx)) {
                    Err(refused) => {
                        this.state.set(State::Finished);
                        return Poll::Ready(Err(refused));
                    }
                    Ok(admitted) => match (service.take(), request.take()) {
                        (Some(mut service), Some(mut request)) => {
                            let leave = admitted.enter(&mut request);
                            State::Calling {
                                call: LeaveFuture::called(service.call(request), Some(leave)),
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

pin_project! {
    /// The inner service's answer passed through a [`Leave`], or a refusal
    /// decided before the call: the future of a layer that decides at once.
    pub struct LeaveFuture<F, L> {
        #[pin]
        state: LeaveState<F, L>,
    }
}

pin_project! {
    #[project = LeaveStateProj]
    enum LeaveState<F, L> {
        Called {
            #[pin]
            inner: F,
            leave: Option<L>,
        },
        Refused {
            error: Option<GatewayError>,
        },
    }
}

impl<F, L> LeaveFuture<F, L> {
    /// The answer of `inner`, passed through `leave` when there is one.
    pub fn called(inner: F, leave: Option<L>) -> Self {
        Self {
            state: LeaveState::Called { inner, leave },
        }
    }

    /// A refusal: `error`, with no call made.
    pub fn refused(error: GatewayError) -> Self {
        Self {
            state: LeaveState::Refused { error: Some(error) },
        }
    }
}

impl<F, L> Future for LeaveFuture<F, L>
where
    F: Future<Output = Answer>,
    L: Leave,
{
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            LeaveStateProj::Called { inner, leave } => {
                let answer = ready!(inner.poll(cx));
                Poll::Ready(match leave.take() {
                    Some(leave) => leave.leave(answer),
                    None => answer,
                })
            }
            LeaveStateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| GatewayError::internal("future polled after it finished")))),
        }
    }
}

impl<F, L> fmt::Debug for LeaveFuture<F, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaveFuture").finish_non_exhaustive()
    }
}
