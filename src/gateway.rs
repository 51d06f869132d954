//! The whole gateway built from a [`Config`]: providers, router, auth and the front.

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tower::util::BoxCloneSyncService;
use towergate_config::{Config, ConfigError};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};
use towergate_http::GatewayFront;
use towergate_providers::HttpClient;
use towergate_ratelimit::LimitStore;
use towergate_router::Router;

use crate::{
    build::build,
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
    client: HttpClient,
    limits: LimitStore,
    max_body_bytes: usize,
    shutdown_grace: Duration,
}

impl Gateway {
    /// Builds every endpoint's provider and limit, the routes, the router
    /// and the auth layer.
    ///
    /// # Errors
    ///
    /// Every endpoint whose provider cannot be built (unknown or unsupported
    /// provider, missing key), each naming the file, line and field.
    pub fn from_config(config: &Config) -> Result<Self, Vec<ConfigError>> {
        let client = HttpClient::new().map_err(|error| {
            vec![config.error_at("", format!("cannot build the HTTP client: {error}"))]
        })?;
        let limits = LimitStore::new();
        let built = build(config, &client, &limits)?;
        let stack = LiveStack::new(built.into_stack());
        Ok(Self {
            stack,
            client,
            limits,
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
        let built = build(config, &self.client, &self.limits)?;
        // Auth and table change together, in one swap.
        self.stack.swap(built.into_stack());
        Ok(())
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
    /// `/gateway/{name}/invocations`) and `/health`.
    pub fn front(&self) -> GatewayFront<GatewayService> {
        GatewayFront::new(self.service()).max_body_bytes(self.max_body_bytes)
    }

    /// Serves on `listener` until `shutdown` completes, then drains for up
    /// to the config's `shutdown_grace`.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl std::future::Future,
    ) -> Drained {
        server::serve(listener, self.front(), shutdown, self.shutdown_grace).await
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

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("router", &self.stack.router())
            .finish_non_exhaustive()
    }
}
