//! The stack in force, swappable while requests flow.

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use arc_swap::ArcSwap;
use tower::util::Oneshot;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};

use towergate_http::PromptCatalog;
use towergate_router::Router;
use towergate_template::PromptLibrary;

use crate::gateway::GatewayService;

/// One config's stack: its router, the service every request passes, and
/// its prompt templates (for the admin listing).
pub(crate) struct Stack {
    pub(crate) router: Router,
    pub(crate) service: GatewayService,
    pub(crate) prompts: PromptLibrary,
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

impl fmt::Debug for LiveStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveStack")
            .field("prompts", &self.current.load().prompts.len())
            .finish_non_exhaustive()
    }
}

/// The templates of the config in force, for `GET /api/2.0/prompts/`.
impl PromptCatalog for LiveStack {
    fn list(&self) -> serde_json::Value {
        serde_json::to_value(self.current.load().prompts.listing()).unwrap_or_default()
    }

    fn get(&self, name: &str) -> Option<serde_json::Value> {
        let template = self.current.load().prompts.get(name)?.info();
        serde_json::to_value(template).ok()
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
