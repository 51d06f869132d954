//! The stack in force, swappable while requests flow.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use arc_swap::ArcSwap;
use tower::util::Oneshot;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use towergate_router::Router;

use crate::gateway::GatewayService;

/// One config's stack: its router, and the service every request passes.
pub(crate) struct Stack {
    pub(crate) router: Router,
    pub(crate) service: GatewayService,
}

/// Hands each request to the stack in force when it arrives; a swap
/// changes the stack for later requests only.
#[derive(Clone)]
pub(crate) struct LiveStack {
    current: Arc<ArcSwap<Stack>>,
}

impl LiveStack {
    pub(crate) fn new(stack: Stack) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(stack)),
        }
    }

    pub(crate) fn swap(&self, stack: Stack) {
        self.current.store(Arc::new(stack));
    }

    pub(crate) fn router(&self) -> Router {
        self.current.load().router.clone()
    }
}

impl Service<GatewayRequest> for LiveStack {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = Oneshot<GatewayService, GatewayRequest>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let service = self.current.load().service.clone();
        Oneshot::new(service, request)
    }
}
