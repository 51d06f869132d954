//! The towergate YAML config file: MLflow's schema plus towergate's additions.
//!
//! An MLflow AI Gateway `config.yaml` loads unchanged. This version reads
//! MLflow's whole schema, `endpoints` (each with its `limit`) and `routes`
//! (traffic splits), plus towergate's additions (`server`, `auth`, each
//! endpoint's `cache` and the top-level `cache`, …). Keys the file
//! format names for features not built yet (`timeout`, `retry`, …) make the
//! file fail with "`KEY` is not supported yet" rather than be silently
//! ignored; so do the values MLflow takes that towergate does not handle
//! yet (`limit.key`, a `renewal_period` of a month). Any other unknown key,
//! at any level, is a [warning](Config::warnings); a provider's
//! `model.config` is kept as written for its provider to read, and
//! [`Config::unknown_key_warning`] places the keys it does not read.
//!
//! MLflow's rules hold: endpoint and route names are made of letters,
//! digits, `_`, `.` and `-`, and are unique across endpoints and routes; a
//! route's destinations are endpoints (never routes) serving the route's
//! `task_type`, with traffic percentages from 0 to 100 that sum to 100.
//! MLflow's legacy `route_type` key is refused with MLflow's hint, in
//! `endpoints` and in the old-style `routes` that listed endpoints.
//! MLflow's provider names are read as MLflow reads them, in any case and
//! with `-` or `_` (`OpenAI`, `amazon_bedrock`).
//!
//! Strings under an endpoint's `model.config`, and `auth.keys[].key`, that
//! are exactly `$NAME` or `${NAME}` are replaced by that environment
//! variable. Every problem names the file, the line and column, and the
//! field: `gateway.yaml:7:25: endpoints[0].model.config.openai_api_key:
//! environment variable `OPENAI_API_KEY` is not set`. Problems found after
//! parsing are placed in the text too, by finding their field path in it;
//! only a value brought in by a YAML merge key (`<<`) has no line, and is
//! named by its field path alone.
//!
//! Provider-specific settings (is the provider known, are its keys there)
//! are checked by the provider that reads them, not here.
//!
//! ```
//! use towergate_config::Config;
//!
//! let yaml = "\
//! endpoints:
//!   - name: chat
//!     endpoint_type: llm/v1/chat
//!     model:
//!       provider: openai
//!       name: gpt-4o-mini
//!       config:
//!         openai_api_key: $OPENAI_API_KEY
//! auth:
//!   keys:
//!     - name: team-a
//!       key: $TEAM_A_KEY
//!       endpoints: [chat]
//! ";
//! let errors = Config::check_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
//! let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
//! assert_eq!(shown, [
//!     "gateway.yaml:8:25: endpoints[0].model.config.openai_api_key: environment variable `OPENAI_API_KEY` is not set",
//!     "gateway.yaml:12:12: auth.keys[0].key: environment variable `TEAM_A_KEY` is not set",
//! ]);
//!
//! let env = |name: &str| Some(format!("value of {name}"));
//! let config = Config::from_str_with_env(yaml, "gateway.yaml", env).unwrap();
//! let keys = config.auth().unwrap().api_keys().unwrap();
//! assert_eq!(keys[0].name(), "team-a");
//! assert!(keys[0].allows("chat"));
//! ```
//!
//! A route over endpoints, and a mistake in it:
//!
//! ```
//! use towergate_config::Config;
//!
//! let yaml = "\
//! endpoints:
//!   - name: chat
//!     endpoint_type: llm/v1/chat
//!     model: {provider: openai, name: gpt-4o-mini}
//!     limit: {renewal_period: minute, calls: 10}
//!   - name: embed
//!     endpoint_type: llm/v1/embeddings
//!     model: {provider: openai, name: text-embedding-3-small}
//! routes:
//!   - name: chat-ab
//!     task_type: llm/v1/chat
//!     destinations:
//!       - {name: chat, traffic_percentage: 60}
//!       - {name: embed, traffic_percentage: 40}
//! ";
//! let errors = Config::check_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
//! assert_eq!(
//!     errors[0].to_string(),
//!     "gateway.yaml:14:16: routes[0].destinations[1].name: endpoint `embed` serves \
//!      `llm/v1/embeddings`, but the route's `task_type` is `llm/v1/chat`: every \
//!      destination must serve the route's task type"
//! );
//!
//! let fixed = yaml.replace("embed, traffic_percentage: 40", "chat, traffic_percentage: 40");
//! let config = Config::from_str_with_env(&fixed, "gateway.yaml", |_| None).unwrap();
//! assert_eq!(config.route("chat-ab").unwrap().destinations().len(), 2);
//! assert_eq!(config.endpoint("chat").unwrap().info().limit.unwrap().calls, 10);
//! ```

mod auth;
mod cache;
mod cache_store;
mod config;
mod duration;
mod endpoint;
mod env;
mod error;
mod limit;
mod loader;
mod locate;
mod names;
mod number;
mod path;
mod provider;
mod route;
mod server;
mod state;

pub use auth::{AuthConfig, KeyConfig};
pub use cache::{CacheConfig, DEFAULT_SEMANTIC_THRESHOLD, SemanticCacheConfig};
pub use cache_store::{
    CacheStoreConfig, CacheStoreKind, DEFAULT_CACHE_MAX_BYTES, DEFAULT_SEMANTIC_CANDIDATES,
};
pub use config::Config;
pub use endpoint::{EndpointConfig, ModelConfig};
pub use error::{ConfigError, ConfigWarning};
pub use limit::{LimitConfig, RenewalPeriod};
pub use route::{Destination, RouteConfig, RoutingStrategy};
pub use server::{
    DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEFAULT_SHUTDOWN_GRACE, ServerConfig,
};
pub use state::{StateConfig, UsageConfig};
