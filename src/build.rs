//! Building the request stack from a [`Config`]: one service per endpoint,
//! the routes over them, and the layers every request passes.

use std::{collections::HashMap, sync::Arc};

use tower::Layer;
use towergate_cache::{CacheLayer, CacheStore, Embed, EndpointEmbedder};
use towergate_config::{Config, ConfigError, EndpointConfig, RenewalPeriod};
use towergate_core::EndpointType;
use towergate_guard::auth::AuthLayer;
use towergate_providers::{
    BoxProvider, HttpClient, completions_over_chat::CompletionsOverChatLayer,
};
use towergate_ratelimit::{CallLimit, KeyBy, RateLimitLayer};
use towergate_router::{BoxEndpoint, Destination, EndpointTable, Router, TrafficSplit};
use towergate_state::{QuotaStore, RateStore};
use towergate_template::{PromptLibrary, TemplateLayer};
use towergate_tokens::{
    ContextWindowLayer, PriceBook, Pricing, WorstCaseCost,
    accounting::{TokenAccountingLayer, UsageSink},
    budget::BudgetLayer,
};

use crate::{gateway::GatewayService, live::Stack};

/// What lives as long as the process, across config reloads: the HTTP
/// client, rate buckets, budget spend, the usage sink and cached answers.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) client: HttpClient,
    pub(crate) rates: Arc<dyn RateStore>,
    pub(crate) quota: Arc<dyn QuotaStore>,
    pub(crate) sink: Option<Arc<dyn UsageSink>>,
    pub(crate) cache: Arc<dyn CacheStore>,
}

/// What a config builds: the endpoint table and the layers above it.
pub(crate) struct Built {
    pub(crate) table: EndpointTable,
    pub(crate) auth: Option<AuthLayer>,
    pub(crate) caller_limits: Option<RateLimitLayer>,
    pub(crate) budget: Option<BudgetLayer>,
    pub(crate) accounting: TokenAccountingLayer,
    pub(crate) prompts: PromptLibrary,
}

impl Built {
    /// The stack every request passes: auth (if any), per-caller limits
    /// (if any), budgets (if any), usage accounting, and the router of this
    /// table.
    pub(crate) fn into_stack(self) -> Stack {
        let router = Router::new(self.table);
        let accounted = self.accounting.layer(router.clone());
        let budgeted = match &self.budget {
            Some(budget) => GatewayService::new(budget.layer(accounted)),
            None => GatewayService::new(accounted),
        };
        let limited = match &self.caller_limits {
            Some(limits) => GatewayService::new(limits.layer(budgeted)),
            None => budgeted,
        };
        let service = match &self.auth {
            Some(auth) => GatewayService::new(auth.layer(limited)),
            None => limited,
        };
        Stack {
            router,
            service,
            prompts: self.prompts,
        }
    }
}

/// Builds every endpoint and route of `config`; rate buckets, spend and
/// usage records go to `shared`, so that a rebuild keeps what was already
/// spent.
pub(crate) fn build(config: &Config, shared: &Shared) -> Result<Built, Vec<ConfigError>> {
    let mut table = EndpointTable::new();
    let mut problems = Vec::new();
    // The config checked that every template compiles.
    let prompts = PromptLibrary::new(config.prompts().to_vec())
        .map_err(|error| vec![config.error_at("prompts", error.to_string())])?;
    let prices = price_book(config);
    let mut accounting = TokenAccountingLayer::new(prices.clone());
    if let Some(sink) = &shared.sink {
        accounting = accounting.sink(Arc::clone(sink));
    }
    // Endpoints with a semantic cache embed through another endpoint, so
    // they are built after the others; the table keeps the file's order.
    let mut built: HashMap<&str, BoxEndpoint> = HashMap::new();
    let semantic_last = |(_, endpoint): &(usize, &EndpointConfig)| {
        endpoint
            .cache()
            .is_some_and(|cache| cache.semantic().is_some())
    };
    let (semantic, plain): (Vec<_>, Vec<_>) = config
        .endpoints()
        .iter()
        .enumerate()
        .partition(semantic_last);
    for (index, endpoint) in plain.into_iter().chain(semantic) {
        let embedder = endpoint
            .cache()
            .and_then(|cache| cache.semantic())
            .and_then(|semantic| {
                let name = semantic.embedding_endpoint();
                // Its calls leave usage records, as every call does.
                let service = BoxEndpoint::new(accounting.layer(built.get(name)?.clone()));
                Some(Arc::new(EndpointEmbedder::new(name, service)) as Arc<dyn Embed>)
            });
        match endpoint_service(config, index, endpoint, shared, &prompts, embedder) {
            Ok(service) => {
                built.insert(endpoint.name(), service);
            }
            Err(problem) => problems.push(problem),
        }
    }
    for endpoint in config.endpoints() {
        if let Some(service) = built.remove(endpoint.name()) {
            table.insert(endpoint.info(), service);
        }
    }
    for (index, route) in config.routes().iter().enumerate() {
        let destinations = route
            .destinations()
            .iter()
            .filter_map(|destination| {
                let endpoint = table.get(destination.name())?;
                Some(Destination::new(
                    destination.name(),
                    u32::from(destination.traffic_percentage()),
                    endpoint.service().clone(),
                ))
            })
            .collect();
        match TrafficSplit::new(destinations) {
            Ok(split) => table.insert(route.info(), split),
            // The config checks destinations; this only happens when one of
            // them failed to build and was reported above.
            Err(error) => {
                if problems.is_empty() {
                    problems.push(config.error_at(&format!("routes[{index}]"), error.message()));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let auth = match config.auth() {
        Some(auth) => Some(AuthLayer::new(
            auth.api_keys().map_err(|error| vec![error])?,
        )),
        None => None,
    };
    let budget = budget_layer(config, shared, &prices);
    let caller_limits = caller_limits(config, shared, &prices);
    Ok(Built {
        table,
        auth,
        caller_limits,
        budget,
        accounting,
        prompts,
    })
}

/// The prices of every endpoint, and of every route at its dearest
/// destination's prices (what a budget must reserve for it).
fn price_book(config: &Config) -> PriceBook {
    let with_endpoints = || {
        config
            .endpoints()
            .iter()
            .fold(PriceBook::builder(), |builder, endpoint| {
                let model = endpoint.model();
                let pricing = endpoint.pricing().or_else(|| {
                    matches!(model.provider(), "local" | "mock").then_some(Pricing::FREE)
                });
                builder.endpoint(endpoint.name(), model.name(), pricing)
            })
    };
    let endpoints = with_endpoints().build();
    let mut builder = with_endpoints();
    for route in config.routes() {
        let destinations = route.destinations();
        let prices: Option<Vec<Pricing>> = destinations
            .iter()
            .map(|destination| endpoints.pricing_for(destination.name(), None))
            .collect();
        // A destination of unknown price makes the route's price unknown.
        let dearest = prices.map(|prices| {
            prices.iter().fold(Pricing::FREE, |dearest, pricing| {
                Pricing::new(
                    dearest.input_per_million.max(pricing.input_per_million),
                    dearest.output_per_million.max(pricing.output_per_million),
                )
            })
        });
        let model = destinations
            .first()
            .and_then(|destination| endpoints.model_for(destination.name()))
            .unwrap_or_default();
        builder = builder.endpoint(route.name(), model, dearest);
    }
    builder.build()
}

/// The budgets of the keys that have one, over the process's spend store.
fn budget_layer(config: &Config, shared: &Shared, prices: &PriceBook) -> Option<BudgetLayer> {
    let keys = config.auth()?.keys();
    let budgets: Vec<_> = keys
        .iter()
        .filter_map(|key| Some((key.name(), key.budget()?)))
        .collect();
    if budgets.is_empty() {
        return None;
    }
    let mut layer = BudgetLayer::new(Arc::clone(&shared.quota))
        .estimate(WorstCaseCost::new(prices.clone()))
        .on_store_error(config.state().on_redis_error());
    for (name, budget) in budgets {
        layer = layer.budget(name, budget);
    }
    Some(layer)
}

/// The `limits` of the keys that have them, across every endpoint.
fn caller_limits(config: &Config, shared: &Shared, prices: &PriceBook) -> Option<RateLimitLayer> {
    let layer = config.auth()?.keys().iter().fold(
        RateLimitLayer::new(Arc::clone(&shared.rates))
            .estimate(prices.clone())
            .on_store_error(config.state().on_redis_error()),
        |layer, key| match key.limits() {
            Some(limits) => layer.caller_limits(key.name(), limits),
            None => layer,
        },
    );
    (!layer.is_empty()).then_some(layer)
}

/// One endpoint's stack: its `prompt` template, its `limit` and `limits`,
/// its `cache` (semantic lookups embed with `embedder`), its
/// `context_window` fitting, then
/// (for completions on OpenAI, as MLflow does) the chat translation, then
/// its provider.
fn endpoint_service(
    config: &Config,
    index: usize,
    endpoint: &EndpointConfig,
    shared: &Shared,
    prompts: &PromptLibrary,
    embedder: Option<Arc<dyn Embed>>,
) -> Result<BoxEndpoint, ConfigError> {
    let client = &shared.client;
    let model = endpoint.model();
    let provider = match model.provider() {
        "mock" => mock_provider(model.name(), model.config()).map_err(|(key, message)| {
            config.error_at(&format!("endpoints[{index}].model.config.{key}"), message)
        })?,
        #[cfg(feature = "local")]
        "local" => crate::local::local_provider(endpoint.endpoint_type(), model.config()).map_err(
            |(key, message)| {
                let path = match key {
                    Some(key) => format!("endpoints[{index}].model.config.{key}"),
                    None => format!("endpoints[{index}].model"),
                };
                config.error_at(&path, message)
            },
        )?,
        #[cfg(not(feature = "local"))]
        "local" => {
            return Err(config.error_at(
                &format!("endpoints[{index}].model.provider"),
                "provider `local` needs towergate built with the `local` feature",
            ));
        }
        name => towergate_providers::from_mlflow(name, model.name(), model.config(), client)
            .map_err(|error| {
                let path = match error.key() {
                    Some(key) => format!("endpoints[{index}].model.config.{key}"),
                    None => format!("endpoints[{index}].model.provider"),
                };
                config.error_at(&path, error.to_string())
            })?,
    };
    for key in towergate_providers::unknown_config_keys(model.provider(), model.config()) {
        let warning = config.unknown_key_warning(&format!("endpoints[{index}].model.config.{key}"));
        tracing::warn!("{warning}");
    }
    let provider =
        if endpoint.endpoint_type() == EndpointType::Completions && model.provider() == "openai" {
            BoxProvider::new(CompletionsOverChatLayer::new().layer(provider))
        } else {
            provider
        };
    let provider = match endpoint.context_window() {
        Some(window) => BoxProvider::new(
            ContextWindowLayer::new(window)
                .counter(towergate_tokens::TokenCounter::for_model(model.name()))
                .layer(provider),
        ),
        None => provider,
    };
    // Limits count cache hits too; a hit skips the context fitting and the
    // provider.
    let provider = match endpoint.cache() {
        Some(cache) => {
            let namespace = cache_namespace(config, endpoint);
            let mut layer =
                CacheLayer::new(Arc::clone(&shared.cache), cache.ttl()).namespace(namespace);
            if let (Some(semantic), Some(embedder)) = (cache.semantic(), embedder) {
                layer = layer.semantic(embedder, semantic.threshold());
            }
            BoxProvider::new(layer.layer(provider))
        }
        None => provider,
    };
    let mut limits = RateLimitLayer::new(Arc::clone(&shared.rates))
        .estimate(towergate_tokens::TokenCounter::for_model(model.name()))
        .on_store_error(config.state().on_redis_error());
    if let Some(limit) = endpoint.limit() {
        let period = match limit.renewal_period() {
            RenewalPeriod::Second => towergate_ratelimit::RenewalPeriod::Second,
            RenewalPeriod::Minute => towergate_ratelimit::RenewalPeriod::Minute,
            RenewalPeriod::Hour => towergate_ratelimit::RenewalPeriod::Hour,
            RenewalPeriod::Day => towergate_ratelimit::RenewalPeriod::Day,
        };
        let limit = CallLimit::new(limit.calls(), period).map_err(|error| {
            config.error_at(
                &format!("endpoints[{index}].limit.calls"),
                error.to_string(),
            )
        })?;
        limits = limits.call_limit(limit);
    }
    if let Some(endpoint_limits) = endpoint.limits() {
        limits = limits.limits(KeyBy::CallerOnEndpoint, endpoint_limits);
    }
    let limited = if limits.is_empty() {
        provider
    } else {
        BoxProvider::new(limits.layer(provider))
    };
    // The template goes first, so that token limits count the rendered
    // prompt.
    match endpoint.prompt() {
        Some(selection) => {
            let template =
                TemplateLayer::new(prompts.clone(), selection.clone()).map_err(|error| {
                    config.error_at(&format!("endpoints[{index}].prompt"), error.to_string())
                })?;
            Ok(BoxEndpoint::new(template.layer(limited)))
        }
        None => Ok(BoxEndpoint::new(limited)),
    }
}

/// The in-process mock provider (`provider: mock`): for demos, benches and tests.
fn mock_provider(
    model: &str,
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<BoxProvider, (String, String)> {
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
    Ok(BoxProvider::new(mock))
}

/// The namespace of an endpoint's cache keys: its name, provider, model
/// and model settings (credentials left out), and for a semantic cache the
/// embedding endpoint's model. Re-pointing the endpoint at another model,
/// server or embedder starts afresh instead of answering from the old one;
/// rotating a key does not.
fn cache_namespace(config: &Config, endpoint: &EndpointConfig) -> String {
    let model = endpoint.model();
    let settings: serde_json::Map<_, _> = model
        .config()
        .iter()
        .filter(|(key, _)| {
            let key = key.to_ascii_lowercase();
            !["key", "secret", "token", "password"]
                .iter()
                .any(|secret| key.contains(secret))
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut namespace = format!(
        "{}\0{}\0{}\0{}",
        endpoint.name(),
        model.provider(),
        model.name(),
        serde_json::Value::Object(settings)
    );
    let embedder = endpoint
        .cache()
        .and_then(|cache| cache.semantic())
        .and_then(|semantic| config.endpoint(semantic.embedding_endpoint()));
    if let Some(embedder) = embedder {
        let model = embedder.model();
        namespace.push_str(&format!("\0{}\0{}", model.provider(), model.name()));
    }
    namespace
}
