//! The `towergate` binary: `serve` and `check` a gateway config file.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand, ValueEnum};
use towergate::{config::Config, gateway::Gateway, server::Drained};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "towergate",
    version,
    about = "An AI gateway: one API for every model."
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TOWERGATE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines with key=value fields.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// The config file.
        #[arg(long, short, env = "TOWERGATE_CONFIG")]
        config: PathBuf,
        /// Address to listen on (overrides `server.host`).
        #[arg(long)]
        host: Option<String>,
        /// Port to listen on (overrides `server.port`; 0 picks a free one).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Validate a config file: print every problem, exit 1 if there is any.
    Check {
        /// The config file.
        #[arg(long, short, env = "TOWERGATE_CONFIG")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Serve { config, host, port } => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("error: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(serve(config, host, port))
        }
    }
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let problems = match Config::check(path) {
        Ok(config) => {
            for warning in config.warnings() {
                println!("warning: {warning}");
            }
            // Building a Redis store needs a runtime, even to check it.
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => match runtime.block_on(async { Gateway::from_config(&config) }) {
                    Ok(_) => Vec::new(),
                    Err(problems) => problems,
                },
                Err(error) => {
                    eprintln!("error: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Err(problems) => problems,
    };
    if problems.is_empty() {
        println!("{}: ok", path.display());
        return ExitCode::SUCCESS;
    }
    for problem in &problems {
        println!("error: {problem}");
    }
    println!("{}: {} problem(s)", path.display(), problems.len());
    ExitCode::FAILURE
}

async fn serve(path: PathBuf, host: Option<String>, port: Option<u16>) -> ExitCode {
    let config = match Config::check(&path) {
        Ok(config) => config,
        Err(problems) => {
            for problem in problems {
                tracing::error!(%problem, "invalid config");
            }
            return ExitCode::FAILURE;
        }
    };
    let mut server = config.server().clone();
    if let Some(host) = host {
        server = server.with_host(host);
    }
    if let Some(port) = port {
        server = server.with_port(port);
    }
    let gateway = match Gateway::from_config(&config) {
        Ok(gateway) => gateway,
        Err(problems) => {
            for problem in problems {
                tracing::error!(%problem, "invalid config");
            }
            return ExitCode::FAILURE;
        }
    };
    let addr = match format!("{}:{}", server.host(), server.port()).parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => match tokio::net::lookup_host((server.host(), server.port()))
            .await
            .ok()
            .and_then(|mut a| a.next())
        {
            Some(addr) => addr,
            None => {
                tracing::error!(host = server.host(), "cannot resolve the listen address");
                return ExitCode::FAILURE;
            }
        },
    };
    let endpoints: Vec<_> = config
        .endpoints()
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    tracing::info!(config = %path.display(), ?endpoints, "config loaded");
    let gateway = gateway.with_shutdown_grace(server.shutdown_grace());
    // Kept alive until the drain is over: dropping it stops the watching.
    let _watcher = match towergate::reload::watch(&path, gateway.clone(), &config) {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            tracing::warn!(config = %path.display(), %error, "cannot watch the config file: changes need a restart");
            None
        }
    };
    let drained = gateway.bind_and_serve(addr, shutdown_signal()).await;
    match drained {
        Ok(Drained::Cleanly) => ExitCode::SUCCESS,
        Ok(Drained::TimedOut) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%addr, %error, "cannot listen");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
