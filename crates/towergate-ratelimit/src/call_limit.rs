use std::{
    fmt,
    num::NonZeroU32,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::{InMemoryState, NotKeyed},
};
use tower_layer::Layer;
use tower_service::Service;
use towergate_core::{ErrorKind, GatewayError, GatewayRequest};

use crate::future::ResponseFuture;

/// How often a `limit` renews (MLflow's `renewal_period`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RenewalPeriod {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
}

impl RenewalPeriod {
    /// The period's length.
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            RenewalPeriod::Second => 1,
            RenewalPeriod::Minute => 60,
            RenewalPeriod::Hour => 3600,
            RenewalPeriod::Day => 86_400,
        })
    }

    /// MLflow's name for it: `second`, `minute`, `hour`, `day`.
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalPeriod::Second => "second",
            RenewalPeriod::Minute => "minute",
            RenewalPeriod::Hour => "hour",
            RenewalPeriod::Day => "day",
        }
    }
}

/// `calls` per renewal period: MLflow's `limit` of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallLimit {
    calls: NonZeroU32,
    period: RenewalPeriod,
}

/// Why a [`CallLimit`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimitError(String);

impl fmt::Display for CallLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CallLimitError {}

impl CallLimit {
    /// `calls` per `period`.
    ///
    /// # Errors
    ///
    /// `calls` is 0 or larger than `u32::MAX`.
    pub fn new(calls: u64, period: RenewalPeriod) -> Result<Self, CallLimitError> {
        let calls = u32::try_from(calls)
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| CallLimitError(format!("`calls` must be between 1 and {}", u32::MAX)))?;
        Ok(Self { calls, period })
    }

    /// Calls admitted per period.
    pub fn calls(self) -> u32 {
        self.calls.get()
    }

    /// The renewal period.
    pub fn period(self) -> RenewalPeriod {
        self.period
    }

    pub(crate) fn quota(self) -> Quota {
        let every = self.period.duration() / self.calls.get();
        Quota::with_period(every)
            .unwrap_or_else(|| Quota::per_second(self.calls))
            .allow_burst(self.calls)
    }

    fn refusal(self, wait: Duration) -> GatewayError {
        GatewayError::new(
            ErrorKind::RateLimited,
            format!(
                "Rate limit exceeded: {} per 1 {}",
                self.calls,
                self.period.as_str()
            ),
        )
        .with_code("rate_limit_exceeded")
        .with_retry_after(wait)
    }
}

pub(crate) type Limiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Applies a [`CallLimit`] to every request that passes; see [`LimitStore::layer`](crate::LimitStore::layer).
pub struct CallLimitLayer<C: Clock = DefaultClock> {
    limit: CallLimit,
    limiter: Arc<Limiter<C>>,
}

impl<C: Clock> CallLimitLayer<C> {
    /// A layer over a limiter of its own, with `clock` (a fake one in tests).
    pub fn with_clock(limit: CallLimit, clock: C) -> Self {
        Self::from_shared(
            limit,
            Arc::new(RateLimiter::direct_with_clock(limit.quota(), clock)),
        )
    }

    pub(crate) fn from_shared(limit: CallLimit, limiter: Arc<Limiter<C>>) -> Self {
        Self { limit, limiter }
    }
}

impl<C: Clock> Clone for CallLimitLayer<C> {
    fn clone(&self) -> Self {
        Self {
            limit: self.limit,
            limiter: Arc::clone(&self.limiter),
        }
    }
}

impl<C: Clock> fmt::Debug for CallLimitLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallLimitLayer")
            .field("limit", &self.limit)
            .finish()
    }
}

impl<S, C: Clock> Layer<S> for CallLimitLayer<C> {
    type Service = CallLimited<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CallLimited {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service whose calls are limited by a [`CallLimitLayer`].
pub struct CallLimited<S, C: Clock = DefaultClock> {
    inner: S,
    layer: CallLimitLayer<C>,
}

impl<S: Clone, C: Clock> Clone for CallLimited<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, C: Clock> fmt::Debug for CallLimited<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallLimited")
            .field("inner", &self.inner)
            .field("limit", &self.layer.limit)
            .finish()
    }
}

impl<S, C> Service<GatewayRequest> for CallLimited<S, C>
where
    S: Service<GatewayRequest, Error = GatewayError>,
    C: Clock,
{
    type Response = S::Response;
    type Error = GatewayError;
    type Future = ResponseFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        match self.layer.limiter.check() {
            Ok(()) => ResponseFuture::admitted(self.inner.call(request)),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.layer.limiter.clock().now());
                ResponseFuture::refused(self.layer.limit.refusal(wait))
            }
        }
    }
}
