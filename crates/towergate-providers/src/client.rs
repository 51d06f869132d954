//! The HTTP client every provider adapter calls its upstream with.
//!
//! One pooled [`HttpClient`] serves the whole process: it speaks HTTPS
//! (rustls with the ring provider and the system's trusted roots; HTTP/1.1
//! and HTTP/2 chosen by ALPN) and plain HTTP for local servers such as
//! Ollama or a test upstream. Cloning it is cheap and shares the pool.
//!
//! ```
//! use std::time::Duration;
//! use towergate_providers::HttpClient;
//!
//! # fn main() -> Result<(), towergate_providers::client::ClientBuildError> {
//! let client = HttpClient::builder()
//!     .connect_timeout(Duration::from_secs(5))
//!     .pool_idle_timeout(Duration::from_secs(60))
//!     .build()?;
//! let shared = client.clone(); // same pool
//! # drop(shared);
//! # Ok(())
//! # }
//! ```

use std::{
    fmt,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, ResponseFuture, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};

/// The body of every request sent upstream: one encoded JSON document.
pub type RequestBody = Full<Bytes>;

/// The connect timeout used unless the builder sets another.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle pooled connection is kept unless the builder says otherwise.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pooled HTTP/1.1 and HTTP/2 client for HTTPS and plain HTTP upstreams.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, RequestBody>,
}

impl HttpClient {
    /// A client with the default timeouts.
    ///
    /// Fails only if no trusted root certificate can be loaded from the system.
    pub fn new() -> Result<Self, ClientBuildError> {
        Self::builder().build()
    }

    /// A builder to set the timeouts.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
        }
    }

    /// Sends `request` and resolves once the response headers arrive.
    pub fn request(&self, request: http::Request<RequestBody>) -> ResponseFuture {
        self.inner.request(request)
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl tower_service::Service<http::Request<RequestBody>> for HttpClient {
    type Response = http::Response<Incoming>;
    type Error = hyper_util::client::legacy::Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        self.request(request)
    }
}

/// Sets up an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
}

impl HttpClientBuilder {
    /// How long to wait for a TCP connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an unused pooled connection stays open (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Builds the client, loading the system's trusted roots.
    pub fn build(self) -> Result<HttpClient, ClientBuildError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));

        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|source| ClientBuildError { source })?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);

        let inner = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .build(https);
        Ok(HttpClient { inner })
    }
}

/// The client could not be built: no trusted root certificate could be loaded.
#[derive(Debug)]
pub struct ClientBuildError {
    source: std::io::Error,
}

impl fmt::Display for ClientBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot load the system's trusted root certificates for HTTPS \
             (install the ca-certificates package or set SSL_CERT_FILE): {}",
            self.source
        )
    }
}

impl std::error::Error for ClientBuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
