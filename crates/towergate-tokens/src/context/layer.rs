//! The layer and its service.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;
use towergate_core::{GatewayError, GatewayRequest};

use super::{fit::Window, future::ResponseFuture};
use crate::TokenCounter;

/// Fits requests into a model's context window; see the [module docs](super).
///
/// Cheap to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextWindowLayer {
    context_window: u64,
    counter: TokenCounter,
}

impl ContextWindowLayer {
    /// A layer for a model that takes `context_window` tokens, prompt and
    /// answer together, counting with the estimating
    /// [`TokenCounter::default`] until [`counter`](Self::counter) or
    /// [`model`](Self::model) says otherwise.
    pub fn new(context_window: u64) -> Self {
        Self {
            context_window,
            counter: TokenCounter::default(),
        }
    }

    /// Counts tokens with `counter`.
    pub fn counter(mut self, counter: TokenCounter) -> Self {
        self.counter = counter;
        self
    }

    /// Counts tokens as `model`'s tokenizer does ([`TokenCounter::for_model`]).
    pub fn model(self, model: &str) -> Self {
        self.counter(TokenCounter::for_model(model))
    }

    /// The context window, in tokens.
    pub fn context_window(&self) -> u64 {
        self.context_window
    }

    /// The counter used.
    pub fn token_counter(&self) -> TokenCounter {
        self.counter
    }
}

impl<S> Layer<S> for ContextWindowLayer {
    type Service = ContextWindow<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContextWindow {
            inner,
            layer: *self,
        }
    }
}

/// A service whose requests are fitted into a context window before it
/// sees them; made by [`ContextWindowLayer`].
#[derive(Debug, Clone)]
pub struct ContextWindow<S> {
    inner: S,
    layer: ContextWindowLayer,
}

impl<S> ContextWindow<S> {
    /// `inner` behind a context window of `context_window` tokens.
    pub fn new(inner: S, context_window: u64) -> Self {
        ContextWindowLayer::new(context_window).layer(inner)
    }

    /// A [`ContextWindowLayer`] of `context_window` tokens.
    pub fn layer(context_window: u64) -> ContextWindowLayer {
        ContextWindowLayer::new(context_window)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<GatewayRequest> for ContextWindow<S>
where
    S: Service<GatewayRequest, Error = GatewayError>,
{
    type Response = S::Response;
    type Error = GatewayError;
    type Future = ResponseFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: GatewayRequest) -> Self::Future {
        let window = Window {
            tokens: self.layer.context_window,
            counter: self.layer.counter,
            endpoint: &request.endpoint,
        };
        match window.fit(&mut request.operation) {
            Ok(fitted) => {
                if let Some(fitted) = fitted {
                    request.extensions.insert(fitted);
                }
                ResponseFuture::called(self.inner.call(request))
            }
            Err(too_long) => ResponseFuture::too_long(too_long),
        }
    }
}
