//! The whole gateway built from a [`Config`]: providers, router, auth and the front.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tokio::net::TcpListener;
use tower::util::BoxCloneSyncService;
use towergate_cache::{CacheStore, MemoryCacheStore, RedisCacheStore};
use towergate_config::{
    CacheStoreConfig, CacheStoreKind, Config, ConfigError, StateConfig, UsageConfig,
};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};
use towergate_http::GatewayFront;
use towergate_providers::HttpClient;
use towergate_router::Router;
use towergate_state::{MemoryQuotaStore, MemoryRateStore, QuotaStore, RateStore, RedisQuotaStore};
use towergate_tokens::{
    TokenCounter,
    accounting::{JsonlSink, UsageSink},
};

use crate::{
    build::{Shared, build},
    live::LiveStack,
    server::{self, Drained},
};

/// The gateway stack every request passes, boxed.
pub type GatewayService = BoxCloneSyncService<GatewayRequest, GatewayResponse, GatewayError>;

/// A gateway assembled from a config file: what `towergate serve` runs.
///
/// ```
/// use towergate::{config::Config, gateway::Gateway};
///
/// let yaml = r#"
/// endpoints:
///   - name: chat
///     endpoint_type: llm/v1/chat
///     model: {provider: mock, name: echo}
/// "#;
/// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
/// let gateway = Gateway::from_config(&config).unwrap();
/// assert_eq!(gateway.router().table().len(), 1);
/// ```
#[derive(Clone)]
pub struct Gateway {
    stack: LiveStack,
    shared: Shared,
    /// The `state`, `usage` and top-level `cache` sections in force: they
    /// need a restart.
    state: StateConfig,
    cache: CacheStoreConfig,
    usage: UsageConfig,
    max_body_bytes: usize,
    shutdown_grace: Duration,
}

impl Gateway {
    /// Builds every endpoint's provider and limit, the routes, the router,
    /// the auth and budget layers and usage accounting; opens the spend
    /// store (`state`) and the usage file (`usage.jsonl`, relative to the
    /// config file's directory).
    ///
    /// With `state.redis` set, call it inside a Tokio runtime (the Redis
    /// connection lives on one).
    ///
    /// # Errors
    ///
    /// Every endpoint whose provider cannot be built (unknown or unsupported
    /// provider, missing key), a Redis URL that cannot be used, a usage file
    /// that cannot be opened, each naming the file, line and field.
    pub fn from_config(config: &Config) -> Result<Self, Vec<ConfigError>> {
        let client = HttpClient::new().map_err(|error| {
            vec![config.error_at("", format!("cannot build the HTTP client: {error}"))]
        })?;
        let (quota, rates): (Arc<dyn QuotaStore>, Arc<dyn RateStore>) =
            match config.state().redis() {
                Some(url) => {
                    let redis = Arc::new(RedisQuotaStore::open(url).map_err(|error| {
                        vec![config.error_at("state.redis", error.to_string())]
                    })?);
                    (Arc::clone(&redis) as Arc<dyn QuotaStore>, redis)
                }
                None => (
                    Arc::new(MemoryQuotaStore::new()),
                    Arc::new(MemoryRateStore::new()),
                ),
            };
        let sink: Option<Arc<dyn UsageSink>> = match config.usage().jsonl() {
            Some(path) => {
                let path = beside_config(config, path);
                let sink = JsonlSink::open(&path).map_err(|error| {
                    vec![config.error_at(
                        "usage.jsonl",
                        format!("cannot open `{}`: {error}", path.display()),
                    )]
                })?;
                Some(Arc::new(sink))
            }
            None => None,
        };
        let cache = cache_store(config)?;
        let shared = Shared {
            client,
            rates,
            quota,
            sink,
            cache,
        };
        let built = build(config, &shared)?;
        TokenCounter::warm();
        let stack = LiveStack::new(built.into_stack());
        Ok(Self {
            stack,
            shared,
            state: config.state().clone(),
            cache: *config.cache(),
            usage: config.usage().clone(),
            max_body_bytes: config.server().max_body_bytes(),
            shutdown_grace: config.server().shutdown_grace(),
        })
    }

    /// Applies a changed config: builds its stack and swaps it in for every
    /// later request. Requests in flight finish on the stack they started
    /// on; limits keep what was spent. `server` settings (address, body
    /// limit, grace) need a restart and are not applied.
    ///
    /// # Errors
    ///
    /// The problems of a config that cannot be built; the running stack is
    /// kept.
    pub fn reload(&self, config: &Config) -> Result<(), Vec<ConfigError>> {
        let built = build(config, &self.shared)?;
        if *config.state() != self.state {
            tracing::warn!("`state` changed: it applies at the next restart");
        }
        if *config.cache() != self.cache {
            tracing::warn!("the top-level `cache` changed: it applies at the next restart");
        }
        if *config.usage() != self.usage {
            tracing::warn!("`usage` changed: it applies at the next restart");
        }
        // Auth, budgets and table change together, in one swap.
        self.stack.swap(built.into_stack());
        Ok(())
    }

    /// Stores every usage record handed over so far (a no-op without a
    /// `usage` sink). [`serve`](Gateway::serve) calls it once drained.
    ///
    /// # Errors
    ///
    /// The sink could not write.
    pub async fn flush_usage(&self) -> std::io::Result<()> {
        match &self.shared.sink {
            Some(sink) => sink.flush().await,
            None => Ok(()),
        }
    }

    /// Sets how long a shutdown waits for requests and streams in flight.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The router in force (a reload replaces it with a new one).
    pub fn router(&self) -> Router {
        self.stack.router()
    }

    /// The stack every request passes (auth, then the router); after a
    /// [`reload`](Gateway::reload), the new one.
    pub fn service(&self) -> GatewayService {
        GatewayService::new(self.stack.clone())
    }

    /// The HTTP front over the stack: OpenAI's API under `/v1/`, MLflow's
    /// AI Gateway API (`/api/2.0/endpoints/`, `/endpoints/{name}/invocations`,
    /// `/gateway/{name}/invocations`), the prompt templates
    /// (`/api/2.0/prompts/`) and `/health`.
    pub fn front(&self) -> GatewayFront<GatewayService> {
        GatewayFront::new(self.service())
            .max_body_bytes(self.max_body_bytes)
            .prompts(Arc::new(self.stack.clone()))
    }

    /// Serves on `listener` until `shutdown` completes, then drains for up
    /// to the config's `shutdown_grace` and flushes the usage records.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl std::future::Future,
    ) -> Drained {
        let drained = server::serve(listener, self.front(), shutdown, self.shutdown_grace).await;
        if let Err(error) = self.flush_usage().await {
            tracing::error!(%error, "cannot write the last usage records");
        }
        drained
    }

    /// Binds `addr` and serves as [`Gateway::serve`] does.
    ///
    /// # Errors
    ///
    /// The address cannot be bound.
    pub async fn bind_and_serve(
        &self,
        addr: SocketAddr,
        shutdown: impl std::future::Future,
    ) -> std::io::Result<Drained> {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(address = %listener.local_addr()?, "towergate listening");
        Ok(self.serve(listener, shutdown).await)
    }
}

/// `path` from the config file, relative to the file's directory.
fn beside_config(config: &Config, path: &Path) -> PathBuf {
    match Path::new(config.origin()).parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("router", &self.stack.router())
            .finish_non_exhaustive()
    }
}

/// The process's cached answers: in memory, or in Redis (`cache.store`).
fn cache_store(config: &Config) -> Result<Arc<dyn CacheStore>, Vec<ConfigError>> {
    let settings = config.cache();
    match (settings.store(), config.state().redis()) {
        (CacheStoreKind::Redis, Some(url)) => {
            let store = RedisCacheStore::builder(url)
                .candidates(settings.semantic_candidates())
                .build()
                .map_err(|error| vec![config.error_at("state.redis", error.to_string())])?;
            Ok(Arc::new(store))
        }
        // The config refuses `store: redis` without `state.redis`.
        _ => Ok(Arc::new(MemoryCacheStore::new(settings.max_bytes()))),
    }
}
