//! The whole file: loading, checking, and what it holds.

use std::{path::Path, sync::Arc};

use serde_yaml_ng::{Mapping, Value};
use towergate_template::{PromptLibrary, PromptSpec};

use crate::{
    auth::{AuthConfig, parse_auth},
    cache::check_embedding_endpoints,
    cache_store::{CacheStoreConfig, parse_cache_store},
    endpoint::{EndpointConfig, parse_endpoints},
    error::{ConfigError, ConfigWarning},
    loader::{Field, Keys, Loader},
    locate::{Target, locate},
    names::check_unique,
    path::FieldPath,
    route::{RouteConfig, parse_routes},
    server::{ServerConfig, parse_server},
    state::{StateConfig, UsageConfig, parse_state, parse_usage},
};

/// The top-level keys.
const TOP_KEYS: Keys = Keys {
    known: &[
        "endpoints",
        "routes",
        "server",
        "auth",
        "state",
        "usage",
        "prompts",
        "cache",
    ],
    planned: &[],
};

/// A loaded, checked config file.
///
/// ```
/// use towergate_config::Config;
/// use towergate_core::EndpointType;
///
/// let yaml = "\
/// endpoints:
///   - name: chat
///     endpoint_type: llm/v1/chat
///     model:
///       provider: openai
///       name: gpt-4o-mini
///       config:
///         openai_api_key: $OPENAI_API_KEY
/// server:
///   port: 8080
/// ";
/// let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-test".to_owned());
/// let config = Config::from_str_with_env(yaml, "gateway.yaml", env).unwrap();
/// let chat = config.endpoint("chat").unwrap();
/// assert_eq!(chat.endpoint_type(), EndpointType::Chat);
/// assert_eq!(chat.model().config()["openai_api_key"], "sk-test");
/// assert_eq!(config.server().port(), 8080);
/// assert!(config.auth().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    origin: Arc<str>,
    source: Source,
    endpoints: Vec<EndpointConfig>,
    routes: Vec<RouteConfig>,
    server: ServerConfig,
    auth: Option<AuthConfig>,
    state: StateConfig,
    usage: UsageConfig,
    cache: CacheStoreConfig,
    prompts: Vec<PromptSpec>,
    warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Reads and checks the file at `path`, with `$VAR` secrets from the
    /// process environment.
    ///
    /// # Errors
    ///
    /// The first problem in the file; [`Config::check`] reports them all.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::check(path).map_err(first)
    }

    /// Checks `yaml`, naming `origin` (a file name) in problems, with `$VAR`
    /// secrets from the process environment.
    ///
    /// # Errors
    ///
    /// The first problem in the text.
    pub fn from_str(yaml: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::from_str_with_env(yaml, origin, process_env)
    }

    /// Checks `yaml`, naming `origin` in problems, with `$VAR` secrets looked
    /// up by `env` (`None`: not set).
    ///
    /// # Errors
    ///
    /// The first problem in the text.
    pub fn from_str_with_env(
        yaml: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::check_str_with_env(yaml, origin, env).map_err(first)
    }

    /// Reads and checks the file at `path` (for `towergate check`), with
    /// `$VAR` secrets from the process environment.
    ///
    /// # Errors
    ///
    /// Every problem found, in the order of the file: every endpoint's and
    /// every key's problems, not only the first. A YAML syntax error stops
    /// the reading and comes alone.
    pub fn check(path: impl AsRef<Path>) -> Result<Self, Vec<ConfigError>> {
        let path = path.as_ref();
        let origin: Arc<str> = path.display().to_string().into();
        let text = std::fs::read_to_string(path).map_err(|error| {
            vec![ConfigError::whole_file(
                origin.clone(),
                format!("cannot read the config file: {error}"),
            )]
        })?;
        load(&text, origin, &process_env)
    }

    /// Checks `yaml` like [`Config::check`], naming `origin` in problems,
    /// with `$VAR` secrets looked up by `env`.
    ///
    /// # Errors
    ///
    /// Every problem found, in the order of the text.
    pub fn check_str_with_env(
        yaml: &str,
        origin: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Vec<ConfigError>> {
        load(yaml, origin.into(), &env)
    }

    /// Where the config came from (the file name, as given).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The endpoints, in file order.
    pub fn endpoints(&self) -> &[EndpointConfig] {
        &self.endpoints
    }

    /// The endpoint called `name`.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointConfig> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.name() == name)
    }

    /// The routes (MLflow's traffic splits), in file order.
    pub fn routes(&self) -> &[RouteConfig] {
        &self.routes
    }

    /// The route called `name`.
    pub fn route(&self, name: &str) -> Option<&RouteConfig> {
        self.routes.iter().find(|route| route.name() == name)
    }

    /// The `server` section (defaults where the file says nothing).
    pub fn server(&self) -> &ServerConfig {
        &self.server
    }

    /// The `auth` section; `None` means no authentication.
    pub fn auth(&self) -> Option<&AuthConfig> {
        self.auth.as_ref()
    }

    /// The `state` section (in memory when the file says nothing).
    pub fn state(&self) -> &StateConfig {
        &self.state
    }

    /// The `usage` section (no records kept when the file says nothing).
    pub fn usage(&self) -> &UsageConfig {
        &self.usage
    }

    /// The top-level `cache` section: where the endpoints' caches keep
    /// their answers (defaults where the file says nothing).
    pub fn cache(&self) -> &CacheStoreConfig {
        &self.cache
    }

    /// The `prompts`: versioned templates, checked to compile.
    pub fn prompts(&self) -> &[PromptSpec] {
        &self.prompts
    }

    /// What loaded but looks like a mistake (unknown keys), in file order.
    /// Each was also logged with `tracing::warn!` when the file loaded.
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// The text the config was read from, as it was (`$VAR`s unresolved):
    /// a file watcher compares it with the file to tell a real change.
    pub fn text(&self) -> &str {
        &self.source.0
    }

    /// A problem found after loading (by whoever builds the stack from this
    /// config), at the field `path` such as `endpoints[0].model.provider`,
    /// placed at its line and column in the file.
    ///
    /// ```
    /// use towergate_config::Config;
    ///
    /// let yaml = "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model: {provider: nope, name: m}\n";
    /// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
    /// let error = config.error_at("endpoints[0].model.provider", "unknown provider `nope`");
    /// assert_eq!(error.to_string(), "gateway.yaml:4:23: endpoints[0].model.provider: unknown provider `nope`");
    /// ```
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> ConfigError {
        let path = FieldPath::parse(path);
        let location = locate(&self.source.0, path.segments(), Target::Value);
        let shown = (!path.is_root()).then(|| path.to_string());
        ConfigError::new(Arc::clone(&self.origin), location, shown, message)
    }

    /// The warning for an unknown key found after loading (by whoever reads
    /// a part of the file this crate keeps as written, such as a
    /// provider's `model.config`), at the field `path` such as
    /// `endpoints[0].model.config.openai_api_bsae`, placed at the key's line
    /// and column. It is not added to [`Config::warnings`]; the caller
    /// shows or logs it.
    ///
    /// ```
    /// use towergate_config::Config;
    ///
    /// let yaml = "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model:\n      provider: openai\n      name: gpt-4o-mini\n      config: {openai_api_key: k, openai_api_bsae: x}\n";
    /// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
    /// let warning = config.unknown_key_warning("endpoints[0].model.config.openai_api_bsae");
    /// assert_eq!(
    ///     warning.to_string(),
    ///     "gateway.yaml:7:35: endpoints[0].model.config.openai_api_bsae: unknown key `openai_api_bsae` is ignored"
    /// );
    /// ```
    pub fn unknown_key_warning(&self, path: &str) -> ConfigWarning {
        let path = FieldPath::parse(path);
        let location = locate(&self.source.0, path.segments(), Target::Key);
        let key = path.last_key().unwrap_or_default().to_owned();
        let shown = (!path.is_root()).then(|| path.to_string());
        ConfigWarning::new(
            Arc::clone(&self.origin),
            location,
            shown,
            format!("unknown key `{key}` is ignored"),
        )
    }

    /// The same config with `server` replaced (for command-line overrides).
    pub fn with_server(mut self, server: ServerConfig) -> Self {
        self.server = server;
        self
    }
}

/// The text the config was read from, kept to place later problems; its
/// `Debug` shows only its size, as it may hold secrets.
#[derive(Clone, PartialEq)]
struct Source(Arc<str>);

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn first(mut errors: Vec<ConfigError>) -> ConfigError {
    if errors.is_empty() {
        // `load` never fails without a reason; keep a message all the same.
        return ConfigError::whole_file("config".into(), "the config file is invalid");
    }
    errors.swap_remove(0)
}

/// Parses and checks `text`, logging and keeping its warnings.
fn load(
    text: &str,
    origin: Arc<str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<ConfigError>> {
    let document = parse_document(text, &origin)?;
    let mut loader = Loader::new(text, Arc::clone(&origin), env);
    let root = FieldPath::root();
    let parsed = match &document {
        Value::Mapping(top) => {
            loader.check_keys(top, &root, &TOP_KEYS);
            let endpoints = match top.get("endpoints") {
                Some(value) => Some(parse_endpoints(&mut loader, value, &root.key("endpoints"))),
                None => {
                    loader.missing(
                        top,
                        "endpoints",
                        &root,
                        "a list of endpoints (`endpoints: []` for none)",
                    );
                    None
                }
            };
            let endpoints_declared = endpoints.as_ref().map(|parsed| &parsed.declared[..]);
            let routes = top.get("routes").map(|value| {
                parse_routes(&mut loader, value, &root.key("routes"), endpoints_declared)
            });
            let routes_declared = routes
                .as_ref()
                .map_or(&[][..], |parsed| &parsed.declared[..]);
            check_unique(
                &mut loader,
                endpoints_declared
                    .unwrap_or_default()
                    .iter()
                    .chain(routes_declared),
            );
            if let Some(parsed) = &endpoints {
                check_embedding_endpoints(
                    &mut loader,
                    &parsed.embedding_references,
                    &parsed.declared,
                    routes_declared,
                );
            }
            let server = top
                .get("server")
                .map(|value| parse_server(&mut loader, value, &root.key("server")))
                .unwrap_or_default();
            let names: Vec<&str> = endpoints_declared
                .unwrap_or_default()
                .iter()
                .chain(routes_declared)
                .map(|declared| declared.name.as_str())
                .collect();
            let auth = match top.get("auth") {
                None | Some(Value::Null) => None,
                Some(value) => parse_auth(&mut loader, value, &root.key("auth"), &names),
            };
            let state = match top.get("state") {
                None | Some(Value::Null) => StateConfig::default(),
                Some(value) => parse_state(&mut loader, value, &root.key("state")),
            };
            let usage = match top.get("usage") {
                None | Some(Value::Null) => UsageConfig::default(),
                Some(value) => parse_usage(&mut loader, value, &root.key("usage")),
            };
            // A `state.redis` with a problem of its own counts as set, so
            // that `cache.store: redis` is not reported for it too.
            let redis = top
                .get("state")
                .and_then(|state| state.get("redis"))
                .is_some_and(|redis| !redis.is_null());
            let cache = match top.get("cache") {
                None => CacheStoreConfig::defaults(redis),
                Some(value) => parse_cache_store(&mut loader, value, &root.key("cache"), redis),
            };
            let prompts = parse_prompts(&mut loader, top, &root);
            let routes = routes.map(|parsed| parsed.routes).unwrap_or_default();
            endpoints.map(|parsed| {
                (
                    parsed.endpoints,
                    routes,
                    server,
                    auth,
                    state,
                    usage,
                    cache,
                    prompts,
                )
            })
        }
        Value::Null => {
            loader.error(
                root,
                "the file is empty: expected a mapping with an `endpoints` list",
            );
            None
        }
        _ => {
            loader.error(
                root,
                "expected a mapping with an `endpoints` list at the top level",
            );
            None
        }
    };
    let (errors, warnings) = loader.finish();
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    match parsed {
        Some((endpoints, routes, server, auth, state, usage, cache, prompts))
            if errors.is_empty() =>
        {
            Ok(Config {
                origin,
                source: Source(text.into()),
                endpoints,
                routes,
                server,
                auth,
                state,
                usage,
                cache,
                prompts,
                warnings,
            })
        }
        _ => Err(errors),
    }
}

/// Reads `prompts`, checking that every template compiles.
fn parse_prompts(loader: &mut Loader<'_>, top: &Mapping, root: &FieldPath) -> Vec<PromptSpec> {
    match loader.field::<Vec<PromptSpec>>(top, "prompts", root) {
        Field::Present(prompts) => match PromptLibrary::new(prompts.clone()) {
            Ok(_) => prompts,
            Err(error) => {
                loader.error(root.key("prompts"), error.to_string());
                Vec::new()
            }
        },
        Field::Absent | Field::Invalid => Vec::new(),
    }
}

/// The YAML document in `text`, with merge keys (`<<`) applied.
fn parse_document(text: &str, origin: &Arc<str>) -> Result<Value, Vec<ConfigError>> {
    let mut document: Value = serde_yaml_ng::from_str(text).map_err(|error| {
        let location = error.location().map(|at| (at.line(), at.column()));
        let mut message = error.to_string();
        if let Some((line, column)) = location {
            message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
        }
        vec![ConfigError::new(
            Arc::clone(origin),
            location,
            None,
            format!("invalid YAML: {message}"),
        )]
    })?;
    document.apply_merge().map_err(|error| {
        vec![ConfigError::whole_file(
            Arc::clone(origin),
            format!("invalid YAML merge key (`<<`): {error}"),
        )]
    })?;
    Ok(document)
}
