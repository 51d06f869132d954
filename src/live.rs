//! The stack in force, swappable while requests flow.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use arc_swap::ArcSwap;
use tower::util::Oneshot;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use crate::gateway::GatewayService;

/// Hands each request to the stack in force when it arrives; a swap
/// changes the stack for later requests only.
#[derive(Clone)]
pub(crate) struct LiveStack {
    current: Arc<ArcSwap<GatewayService>>,
}

impl LiveStack {
    pub(crate) fn new(service: GatewayService) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(service)),
        }
    }

    pub(crate) fn swap(&self, service: GatewayService) {
        self.current.store(Arc::new(service));
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
        let service = GatewayService::clone(&self.current.load());
        Oneshot::new(service, request)
    }
}
