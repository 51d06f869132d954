//! [`TokenAccountingLayer`] and [`TokenAccounting`].

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use tower_layer::Layer;
use tower_service::Service;
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, Operation, settle::Settlements,
};

use super::{UsageSink, future::ResponseFuture, ledger::Ledger};
use crate::PriceBook;

/// What every clone of a layer and its services share.
pub(crate) struct Shared {
    pub(crate) prices: PriceBook,
    pub(crate) sink: Option<Arc<dyn UsageSink>>,
}

/// Gives every answer its usage and cost, and records it; see the
/// [module docs](super).
#[derive(Clone)]
pub struct TokenAccountingLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for TokenAccountingLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAccountingLayer")
            .field("endpoints_priced", &self.shared.prices.len())
            .field("sink", &self.shared.sink.is_some())
            .finish()
    }
}

impl TokenAccountingLayer {
    /// A layer that prices requests by `prices` and records nothing.
    pub fn new(prices: PriceBook) -> Self {
        Self {
            shared: Arc::new(Shared { prices, sink: None }),
        }
    }

    /// Hands every request's record to `sink`.
    pub fn sink(self, sink: Arc<dyn UsageSink>) -> Self {
        Self {
            shared: Arc::new(Shared {
                prices: self.shared.prices.clone(),
                sink: Some(sink),
            }),
        }
    }
}

impl<S> Layer<S> for TokenAccountingLayer {
    type Service = TokenAccounting<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TokenAccounting {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`TokenAccountingLayer`] makes.
#[derive(Clone)]
pub struct TokenAccounting<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for TokenAccounting<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAccounting")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> TokenAccounting<S> {
    /// Accounting around `inner`; see [`TokenAccountingLayer`].
    pub fn layer(prices: PriceBook) -> TokenAccountingLayer {
        TokenAccountingLayer::new(prices)
    }
}

impl<S> Service<GatewayRequest> for TokenAccounting<S>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: GatewayRequest) -> Self::Future {
        let ledger = match request.operation {
            Operation::ListEndpoints => None,
            _ => {
                // Layers below push their settlements onto this one.
                Settlements::of(&mut request);
                Some(Ledger::open(Arc::clone(&self.shared), &request))
            }
        };
        ResponseFuture::new(self.inner.call(request), ledger)
    }
}
