//! `server`: where and how the gateway listens.

use std::time::Duration;

use serde_yaml_ng::Value;

use crate::{
    duration::duration_value,
    loader::{Field, Keys, Loader},
    path::FieldPath,
};

const SERVER_KEYS: Keys = Keys {
    known: &["host", "port", "max_body_bytes", "shutdown_grace"],
    planned: &[],
};

/// The default `host`: loopback only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The default `port`, MLflow's.
pub const DEFAULT_PORT: u16 = 5000;
/// The default `max_body_bytes`: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The default `shutdown_grace`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The `server` section; every field has a default.
///
/// ```
/// use std::time::Duration;
/// use towergate_config::ServerConfig;
///
/// let server = ServerConfig::default().with_port(8080);
/// assert_eq!(server.host(), "127.0.0.1");
/// assert_eq!(server.port(), 8080);
/// assert_eq!(server.max_body_bytes(), 4 * 1024 * 1024);
/// assert_eq!(server.shutdown_grace(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    host: String,
    port: u16,
    max_body_bytes: usize,
    shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl ServerConfig {
    /// The address to listen on.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The largest request body accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How long a shutdown waits for requests and streams in flight.
    pub fn shutdown_grace(&self) -> Duration {
        self.shutdown_grace
    }

    /// The same, listening on `host` (the command line's `--host`).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The same, listening on `port` (the command line's `--port`).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

/// Reads `server`, the value at `at`; defaults stand in for what is
/// absent or wrong (what is wrong is recorded).
pub(crate) fn parse_server(loader: &mut Loader<'_>, value: &Value, at: &FieldPath) -> ServerConfig {
    let mut server = ServerConfig::default();
    let Some(map) = loader.mapping(
        value,
        at,
        "expected a mapping with `host`, `port`, `max_body_bytes` and `shutdown_grace`",
    ) else {
        return server;
    };
    loader.check_keys(map, at, &SERVER_KEYS);
    if let Field::Present(host) = loader.field::<String>(map, "host", at) {
        server.host = host;
    }
    if let Field::Present(port) = loader.field::<u16>(map, "port", at) {
        server.port = port;
    }
    if let Field::Present(max) = loader.field::<usize>(map, "max_body_bytes", at) {
        server.max_body_bytes = max;
    }
    if let Some(grace) = map.get("shutdown_grace").filter(|grace| !grace.is_null()) {
        match duration_value(grace) {
            Ok(grace) => server.shutdown_grace = grace,
            Err(message) => loader.error(at.key("shutdown_grace"), message),
        }
    }
    server
}
