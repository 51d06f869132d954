//! The whole gateway built from a [`Config`]: providers, router, auth and the front.

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tower::{Layer, util::BoxCloneSyncService};
use towergate_config::{Config, ConfigError};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse};
use towergate_guard::auth::AuthLayer;
use towergate_http::openai::OpenAiFront;
use towergate_providers::HttpClient;
use towergate_router::{EndpointTable, Router};

use crate::server::{self, Drained};

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
    router: Router,
    service: GatewayService,
    max_body_bytes: usize,
    shutdown_grace: Duration,
}

impl Gateway {
    /// Builds every endpoint's provider, the router and the auth layer.
    ///
    /// # Errors
    ///
    /// Every endpoint whose provider cannot be built (unknown or unsupported
    /// provider, missing key), each naming the file, line and field.
    pub fn from_config(config: &Config) -> Result<Self, Vec<ConfigError>> {
        let client = HttpClient::new().map_err(|error| {
            vec![config.error_at("", format!("cannot build the HTTP client: {error}"))]
        })?;
        let table = endpoint_table(config, &client)?;
        let router = Router::new(table);
        let service = match config.auth() {
            Some(auth) => {
                let keys = auth.api_keys().map_err(|error| vec![error])?;
                GatewayService::new(AuthLayer::new(keys).layer(router.clone()))
            }
            None => GatewayService::new(router.clone()),
        };
        Ok(Self {
            router,
            service,
            max_body_bytes: config.server().max_body_bytes(),
            shutdown_grace: config.server().shutdown_grace(),
        })
    }

    /// Sets how long a shutdown waits for requests and streams in flight.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// The router, whose table can be swapped at run time.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The stack every request passes (auth, then the router).
    pub fn service(&self) -> GatewayService {
        self.service.clone()
    }

    /// The OpenAI front over the stack.
    pub fn front(&self) -> OpenAiFront<GatewayService> {
        OpenAiFront::new(self.service()).max_body_bytes(self.max_body_bytes)
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
            .field("router", &self.router)
            .finish_non_exhaustive()
    }
}

/// One service per configured endpoint, in the file's order.
fn endpoint_table(config: &Config, client: &HttpClient) -> Result<EndpointTable, Vec<ConfigError>> {
    let mut table = EndpointTable::new();
    let mut problems = Vec::new();
    for (index, endpoint) in config.endpoints().iter().enumerate() {
        let model = endpoint.model();
        let built = match model.provider() {
            "mock" => mock_provider(model.name(), model.config())
                .map_err(|(key, message)| (Some(key), message)),
            provider => {
                towergate_providers::from_mlflow(provider, model.name(), model.config(), client)
                    .map_err(|error| (error.key().map(str::to_owned), error.to_string()))
            }
        };
        match built {
            Ok(service) => table.insert(endpoint.info(), service),
            Err((key, message)) => {
                let path = match key {
                    Some(key) => format!("endpoints[{index}].model.config.{key}"),
                    None => format!("endpoints[{index}].model.provider"),
                };
                problems.push(config.error_at(&path, message));
            }
        }
    }
    if problems.is_empty() {
        Ok(table)
    } else {
        Err(problems)
    }
}

/// The in-process mock provider (`provider: mock`): for demos, benches and tests.
fn mock_provider(
    model: &str,
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<towergate_providers::BoxProvider, (String, String)> {
    let mut mock = towergate_testkit::MockProvider::new().model(model);
    for (key, value) in config {
        let wrong = |expected: &str| (key.clone(), format!("`{key}` must be {expected}"));
        mock = match key.as_str() {
            "reply" => mock.reply(value.as_str().ok_or_else(|| wrong("a string"))?),
            "chunks" => mock.chunks(
                value
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| wrong("a whole number"))?,
            ),
            "chunk_interval" | "latency" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| wrong("a duration such as `20ms`"))?;
                let duration = humantime::parse_duration(text)
                    .map_err(|_| wrong("a duration such as `20ms`"))?;
                if key == "latency" {
                    mock.latency(duration)
                } else {
                    mock.chunk_interval(duration)
                }
            }
            _ => return Err((key.clone(), format!("unknown mock provider key `{key}`"))),
        };
    }
    Ok(towergate_providers::BoxProvider::new(mock))
}
