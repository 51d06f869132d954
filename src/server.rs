//! Serving a front over TCP with hyper, and draining it on shutdown.

use std::{convert::Infallible, future::Future, net::SocketAddr, time::Duration};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tower_service::Service;
use towergate_http::ResponseBody;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`serve`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished within the grace period.
    Cleanly,
    /// The grace period ran out with connections still open; they were closed.
    TimedOut,
}

/// Serves `front` on `listener` until `shutdown` completes, then stops
/// accepting and waits up to `grace` for requests and streams in flight.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// use tower::service_fn;
/// use towergate::core::{GatewayError, GatewayRequest, GatewayResponse};
/// use towergate::http::openai::OpenAiFront;
///
/// let gateway = service_fn(|request: GatewayRequest| async move {
///     Err::<GatewayResponse, _>(GatewayError::not_found(request.endpoint))
/// });
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// towergate::server::serve(listener, OpenAiFront::new(gateway), tokio::signal::ctrl_c(), Duration::from_secs(30)).await;
/// # Ok(()) }
/// ```
pub async fn serve<F, S>(listener: TcpListener, front: F, shutdown: S, grace: Duration) -> Drained
where
    F: Service<Request<Incoming>, Response = Response<ResponseBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    F::Future: Send + 'static,
    S: Future,
{
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Without a timer hyper cannot time out a client that sends its headers
    // slowly, and such a client would hold a connection for ever.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        serve_connection(&builder, &graceful, stream, peer, front.clone());
    }
    drop(listener);
    tracing::info!(
        grace_s = grace.as_secs_f64(),
        "shutting down: draining requests in flight"
    );
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => {
            tracing::info!("drained");
            Drained::Cleanly
        }
        Err(_) => {
            tracing::warn!("grace period over with connections still open");
            Drained::TimedOut
        }
    }
}

fn serve_connection<F>(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    front: F,
) where
    F: Service<Request<Incoming>, Response = Response<ResponseBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    F::Future: Send + 'static,
{
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "could not set TCP_NODELAY");
    }
    let connection = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(front))
        .into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%peer, error = %error, "connection ended with an error");
        }
    });
}
