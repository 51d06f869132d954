//! towergate: an AI gateway built from tower layers.
//!
//! towergate is a library first. Each crate of the workspace is re-exported
//! here under a short name, so an application can depend on `towergate`
//! alone and compose the layers it wants in its own hyper or axum stack:
//!
//! - [`core`]: the typed request, response and error that flow.
//! - [`http`]: the HTTP fronts (OpenAI's and MLflow's APIs, SSE, errors, body limits).
//! - [`providers`]: provider adapters and the pooled HTTP client.
//! - [`router`]: the endpoint table, swappable at run time, and traffic splits.
//! - [`ratelimit`]: request and token limits per caller, endpoint or both (and MLflow's `limit`), exact across instances on Redis.
//! - [`template`]: versioned prompt templates and splits between versions.
//! - [`cache`]: exact and semantic response caches, in memory or shared in Redis.
//! - [`guard`]: API-key auth.
//! - [`config`]: the YAML file, and building the whole stack from it.
//! - [`gateway`]: the whole stack built from a config file, and reloaded.
//! - [`reload`]: watching the config file and applying valid changes.
//! - [`server`]: serving a front with hyper, with graceful drain.
//!
//! The `towergate` binary composes all of them from one YAML file.

pub use towergate_cache as cache;
pub use towergate_config as config;
pub use towergate_core as core;
pub use towergate_guard as guard;
pub use towergate_http as http;
#[cfg(feature = "local")]
pub use towergate_local as local_models;
pub use towergate_providers as providers;
pub use towergate_ratelimit as ratelimit;
pub use towergate_router as router;
pub use towergate_template as template;

mod build;
pub mod gateway;
mod live;
#[cfg(feature = "local")]
pub mod local;
pub mod reload;
pub mod server;
