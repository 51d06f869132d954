//! The service that checks keys and permissions before calling its inner one.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use subtle::ConditionallySelectable;
use tower_service::Service;
use towergate_core::{Caller, ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Operation};

use super::{
    ApiKey, AuthLayer,
    future::{Grant, ResponseFuture},
    key::digest,
    presented::presented_key,
};

/// The message of a refusal for a request without a key.
const MISSING_KEY: &str =
    "missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`";

/// The message of a refusal for an unknown key.
const INVALID_KEY: &str = "invalid API key";

/// Checks the caller's API key and its permission for the endpoint, then
/// calls the inner service with the [`Caller`] in the request's extensions.
///
/// See [the module docs](super) for what is refused and how.
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    keys: Arc<[ApiKey]>,
}

impl<S> Auth<S> {
    /// Wraps `inner`, admitting the holders of `keys`.
    pub fn new(inner: S, keys: impl IntoIterator<Item = ApiKey>) -> Self {
        Self::from_shared(inner, keys.into_iter().collect())
    }

    pub(crate) fn from_shared(inner: S, keys: Arc<[ApiKey]>) -> Self {
        Self { inner, keys }
    }

    /// A layer that wraps services with `Auth` over `keys`.
    pub fn layer(keys: impl IntoIterator<Item = ApiKey>) -> AuthLayer {
        AuthLayer::new(keys)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The index of the key that admits `request`, or the refusal.
    fn admit(&self, request: &GatewayRequest) -> Result<usize, GatewayError> {
        let Some(presented) = presented_key(&request.headers) else {
            tracing::debug!(
                endpoint = %request.endpoint,
                request_id = %request.request_id,
                "refused: no API key",
            );
            return Err(GatewayError::new(ErrorKind::Unauthenticated, MISSING_KEY));
        };
        let Some(index) = find_key(&self.keys, presented) else {
            tracing::info!(
                endpoint = %request.endpoint,
                request_id = %request.request_id,
                "refused: invalid API key",
            );
            return Err(GatewayError::new(ErrorKind::Unauthenticated, INVALID_KEY)
                .with_code("invalid_api_key"));
        };
        let key = &self.keys[index];
        let listing = matches!(request.operation, Operation::ListEndpoints);
        if !listing && !key.allows(&request.endpoint) {
            tracing::info!(
                caller = key.name(),
                endpoint = %request.endpoint,
                request_id = %request.request_id,
                "refused: endpoint not allowed for this key",
            );
            return Err(GatewayError::new(
                ErrorKind::Forbidden,
                format!(
                    "API key `{}` may not use endpoint `{}`",
                    key.name(),
                    request.endpoint
                ),
            ));
        }
        Ok(index)
    }
}

/// The index of the key whose digest matches `presented`.
///
/// Every configured digest is compared, in constant time and without an
/// early exit, so the time taken says nothing about which key matched or
/// how close a guess came.
pub(super) fn find_key(keys: &[ApiKey], presented: &[u8]) -> Option<usize> {
    let presented = digest(presented);
    // One past the matching index; 0 while nothing matched.
    let mut found: u64 = 0;
    for (index, key) in (1u64..).zip(keys) {
        found.conditional_assign(&index, key.matches(&presented));
    }
    let found = usize::try_from(found).ok()?;
    found.checked_sub(1)
}

impl<S> Service<GatewayRequest> for Auth<S>
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
        match self.admit(&request) {
            Err(refusal) => ResponseFuture::refused(refusal),
            Ok(index) => {
                let key = &self.keys[index];
                request.extensions.insert(Caller::new(key.shared_name()));
                let grant = matches!(request.operation, Operation::ListEndpoints)
                    .then(|| Grant::new(Arc::clone(&self.keys), index));
                ResponseFuture::called(self.inner.call(request), grant)
            }
        }
    }
}
