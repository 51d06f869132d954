//! [`CacheLayer`] and the service it makes, [`Cached`].

use std::{
    fmt,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{HeaderName, HeaderValue};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;
use towergate_core::{CacheVerdict, GatewayError, GatewayRequest, GatewayResponse, Payload};

use crate::{
    CacheKey, CacheStore, CachedAnswer, CallerControl, Embed, PartitionKey,
    future::ResponseFuture,
    inflight::{InFlight, Leader, Outcome, Role},
    record::Recording,
    semantic::unit_vector,
    store::PromptVector,
};

/// The response header with a semantic hit's cosine similarity to the
/// cached prompt that answered, such as `0.9731`.
pub const SIMILARITY_HEADER: HeaderName = HeaderName::from_static("x-towergate-cache-similarity");

/// Answers repeated requests from a [`CacheStore`]; see the
/// [crate docs](crate).
///
/// Cheap to clone: the store, the embedder and the calls in flight are
/// shared.
#[derive(Clone)]
pub struct CacheLayer {
    store: Arc<dyn CacheStore>,
    ttl: Duration,
    semantic: Option<Arc<Semantic>>,
    in_flight: Arc<InFlight>,
    namespace: Option<Arc<str>>,
    max_wait: Duration,
}

/// How long a miss waits for an identical call in flight, by default.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(30);

struct Semantic {
    embedder: Arc<dyn Embed>,
    threshold: f32,
}

impl CacheLayer {
    /// A layer keeping answers in `store` for `ttl`.
    pub fn new(store: Arc<dyn CacheStore>, ttl: Duration) -> CacheLayer {
        CacheLayer {
            store,
            ttl,
            semantic: None,
            in_flight: Arc::default(),
            namespace: None,
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// Also answers chats and completions whose text `embedder` finds at
    /// least `threshold` similar (cosine, in `0..=1`) to a cached one's, in
    /// the same partition (see [`PartitionKey`]).
    pub fn semantic(mut self, embedder: Arc<dyn Embed>, threshold: f32) -> CacheLayer {
        self.semantic = Some(Arc::new(Semantic {
            embedder,
            threshold,
        }));
        self
    }

    /// How long a miss waits for an identical call already in flight
    /// (30 s by default) before it calls the upstream itself. A streamed
    /// call hands its answer over when its stream ends, so this bounds
    /// what a slow stream (or a caller that reads it slowly) costs the
    /// requests waiting on it.
    pub fn max_wait(mut self, max_wait: Duration) -> CacheLayer {
        self.max_wait = max_wait;
        self
    }

    /// Makes keys in `namespace` instead of the request's endpoint name.
    ///
    /// The gateway names an endpoint's provider and model here too, so
    /// that re-pointing an endpoint at another model starts afresh instead
    /// of answering from the old model's answers.
    pub fn namespace(mut self, namespace: impl Into<Arc<str>>) -> CacheLayer {
        self.namespace = Some(namespace.into());
        self
    }

    /// The name keys are made in: the namespace, else the endpoint's name.
    fn scope<'a>(&'a self, endpoint: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(endpoint)
    }

    /// How long answers are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether semantic lookups are on.
    pub fn is_semantic(&self) -> bool {
        self.semantic.is_some()
    }

    /// What a store write of `key` needs.
    fn storing(&self, key: CacheKey, vector: Option<PromptVector>) -> Storing {
        Storing {
            store: Arc::clone(&self.store),
            key,
            ttl: self.ttl,
            vector,
        }
    }

    /// The answer stored under `key`, as kept and as an answer to `request`.
    async fn stored(
        &self,
        key: CacheKey,
        request: &GatewayRequest,
    ) -> Option<(Arc<CachedAnswer>, GatewayResponse)> {
        match self.store.get(key).await {
            Ok(answer) => {
                let answer = answer?;
                let response = answer.respond(&request.operation)?;
                Some((answer, response))
            }
            Err(error) => {
                tracing::warn!(%error, endpoint = %request.endpoint, "cache read failed; calling the upstream");
                None
            }
        }
    }

    /// The request's semantic partition and unit vector, when semantic
    /// lookups are on and the request has text to embed.
    async fn embed(&self, request: &mut GatewayRequest) -> Option<PromptVector> {
        let semantic = self.semantic.as_ref()?;
        let (partition, text) =
            PartitionKey::of(self.scope(&request.endpoint), &mut request.operation)?;
        match semantic.embedder.embed(text).await {
            Ok(vector) => Some(PromptVector {
                partition,
                vector: unit_vector(vector)?,
            }),
            Err(error) => {
                tracing::warn!(%error, endpoint = %request.endpoint, "embedding for the semantic cache failed");
                None
            }
        }
    }

    /// The cached answer nearest to `prompt`, as an answer to `request`.
    async fn nearest(
        &self,
        prompt: &PromptVector,
        request: &GatewayRequest,
    ) -> Option<(Arc<CachedAnswer>, GatewayResponse)> {
        let threshold = self.semantic.as_ref()?.threshold;
        let lookup = self
            .store
            .nearest(prompt.partition, Arc::clone(&prompt.vector), threshold)
            .await;
        let nearest = match lookup {
            Ok(nearest) => nearest?,
            Err(error) => {
                tracing::warn!(%error, endpoint = %request.endpoint, "semantic cache lookup failed");
                return None;
            }
        };
        let (answer, mut response) = self.stored(nearest.key, request).await?;
        if let Ok(value) = HeaderValue::try_from(format!("{:.4}", nearest.similarity)) {
            response.meta.headers.insert(SIMILARITY_HEADER, value);
        }
        Some((answer, response))
    }
}

impl fmt::Debug for CacheLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer")
            .field("ttl", &self.ttl)
            .field(
                "semantic_threshold",
                &self.semantic.as_ref().map(|s| s.threshold),
            )
            .finish()
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = Cached<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cached {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service whose answers are cached; see [`CacheLayer`].
#[derive(Clone, Debug)]
pub struct Cached<S> {
    inner: S,
    layer: CacheLayer,
}

impl<S> Cached<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<GatewayRequest> for Cached<S>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    /// Always ready: a hit needs nothing of the inner service, which is
    /// made ready in the future, only when it is called.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        ResponseFuture::new(answer(self.layer.clone(), self.inner.clone(), request))
    }
}

/// Answers `request` from the cache, or from `inner` and then stores it.
async fn answer<S>(
    cache: CacheLayer,
    inner: S,
    mut request: GatewayRequest,
) -> Result<GatewayResponse, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    let control = CallerControl::from_headers(&request.headers);
    let Some(key) = CacheKey::of(cache.scope(&request.endpoint), &mut request.operation) else {
        return call(inner, request).await;
    };
    if !control.may_read() {
        let storing = control.may_write().then(|| cache.storing(key, None));
        let response = call(inner, request).await?;
        return Ok(keep(response, CacheVerdict::Bypass, storing, None).await);
    }
    if let Some((_, hit)) = cache.stored(key, &request).await {
        return Ok(hit);
    }
    let leader = loop {
        match cache.in_flight.join(key) {
            Role::Leader(leader) => {
                // A leader that finished since the lookup stored its answer
                // before it let go of the key: look again before calling.
                if let Some((answer, response)) = cache.stored(key, &request).await {
                    leader.finish(Outcome::Answer(answer));
                    return Ok(response);
                }
                break leader;
            }
            Role::Follower(follower) => {
                match tokio::time::timeout(cache.max_wait, follower.outcome()).await {
                    Ok(Some(Outcome::Answer(answer))) => {
                        if let Some(response) = answer.respond(&request.operation) {
                            return Ok(response);
                        }
                        return alone(&cache, inner, request, key).await;
                    }
                    Ok(Some(Outcome::Failed(error))) => return Err(error),
                    // The leader's answer cannot be cached, or it takes too long.
                    Ok(Some(Outcome::Uncacheable)) | Err(_) => {
                        return alone(&cache, inner, request, key).await;
                    }
                    // The leader went away: one of its followers leads.
                    Ok(None) => {}
                }
            }
        }
    };
    let prompt = cache.embed(&mut request).await;
    if let Some(prompt) = &prompt
        && let Some((answer, response)) = cache.nearest(prompt, &request).await
    {
        leader.finish(Outcome::Answer(answer));
        return Ok(response);
    }
    match call(inner, request).await {
        Ok(response) => {
            let storing = cache.storing(key, prompt);
            Ok(keep(response, CacheVerdict::Miss, Some(storing), Some(leader)).await)
        }
        Err(error) => {
            leader.finish(Outcome::Failed(error.clone()));
            Err(error)
        }
    }
}

/// Calls `inner` once it is ready.
async fn call<S>(mut inner: S, request: GatewayRequest) -> Result<GatewayResponse, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    inner.ready().await?.call(request).await
}

/// A miss that calls the upstream on its own, not led, and stores what it
/// gets.
async fn alone<S>(
    cache: &CacheLayer,
    inner: S,
    request: GatewayRequest,
    key: CacheKey,
) -> Result<GatewayResponse, GatewayError>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    let response = call(inner, request).await?;
    Ok(keep(
        response,
        CacheVerdict::Miss,
        Some(cache.storing(key, None)),
        None,
    )
    .await)
}

/// `response` with `verdict`, stored by `storing` if given: a complete
/// answer now, a stream once it has finished. Followers of `leader` get
/// the answer as soon as it is known.
async fn keep(
    mut response: GatewayResponse,
    verdict: CacheVerdict,
    storing: Option<Storing>,
    leader: Option<Leader>,
) -> GatewayResponse {
    response.meta.cache = Some(verdict);
    let Some(storing) = storing else {
        return response;
    };
    let GatewayResponse { payload, meta } = response;
    let payload = match payload {
        Payload::ChatStream(chunks) => {
            Payload::ChatStream(Box::pin(Recording::new(chunks, storing, leader, &meta)))
        }
        Payload::CompletionStream(chunks) => {
            Payload::CompletionStream(Box::pin(Recording::new(chunks, storing, leader, &meta)))
        }
        payload => {
            let response = GatewayResponse { payload, meta };
            let outcome = match CachedAnswer::of_complete(&response) {
                Some(answer) => Outcome::Answer(Arc::new(answer)),
                None => Outcome::Uncacheable,
            };
            if let Some(leader) = &leader {
                leader.finish(outcome.clone());
            }
            if let Outcome::Answer(answer) = outcome {
                storing.put(answer).await;
            }
            return response;
        }
    };
    GatewayResponse { payload, meta }
}

/// A store write waiting for its answer.
pub(crate) struct Storing {
    store: Arc<dyn CacheStore>,
    key: CacheKey,
    ttl: Duration,
    vector: Option<PromptVector>,
}

impl Storing {
    /// Stores `answer`; a failure is logged, never passed on.
    pub(crate) async fn put(self, answer: Arc<CachedAnswer>) {
        if let Err(error) = self
            .store
            .put(self.key, answer, self.ttl, self.vector)
            .await
        {
            tracing::warn!(%error, "cache write failed");
        }
    }
}
