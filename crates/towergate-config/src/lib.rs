//! The towergate YAML config file: MLflow's schema plus towergate's additions.
//!
//! An MLflow AI Gateway `config.yaml` loads unchanged. This version reads
//! `endpoints` (MLflow's), `server` and `auth`; keys the file format names
//! for features not built yet (`routes`, `limit`, `cache`, …) make the file
//! fail with "`KEY` is not supported yet" rather than be silently ignored,
//! and any other unknown key is a [warning](Config::warnings).
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

mod auth;
mod config;
mod duration;
mod endpoint;
mod env;
mod error;
mod loader;
mod locate;
mod path;
mod server;

pub use auth::{AuthConfig, KeyConfig};
pub use config::Config;
pub use endpoint::{EndpointConfig, ModelConfig};
pub use error::{ConfigError, ConfigWarning};
pub use server::{
    DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, DEFAULT_SHUTDOWN_GRACE, ServerConfig,
};
