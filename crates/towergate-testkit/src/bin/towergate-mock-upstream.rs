//! `towergate-mock-upstream`: the mock LLM upstream as a standalone server on
//! loopback, for load benches and manual tests. It prints
//! `listening on 127.0.0.1:PORT` once bound and serves until SIGTERM or Ctrl-C.

use std::{
    io::Write,
    net::{Ipv4Addr, SocketAddr},
    process::ExitCode,
    time::Duration,
};

use clap::Parser;
use towergate_testkit::{Behavior, MockUpstream};

/// A mock OpenAI-compatible upstream on 127.0.0.1.
#[derive(Parser)]
#[command(name = "towergate-mock-upstream", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Wait before each answer's headers, e.g. `5ms`.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    latency: Duration,
    /// Wait between two streamed events, e.g. `10ms`.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    chunk_interval: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let behavior = Behavior::new()
        .latency(args.latency)
        .chunk_interval(args.chunk_interval);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let upstream = match MockUpstream::bind(addr, behavior).await {
        Ok(upstream) => upstream,
        Err(error) => {
            eprintln!("error: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    upstream.record_requests(false);
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on {}", upstream.addr())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    shutdown_signal().await;
    upstream.shutdown().await;
    ExitCode::SUCCESS
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
