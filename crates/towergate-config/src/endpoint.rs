//! `endpoints`: MLflow's endpoint list.

use std::fmt;

use serde_json::{Map, Value as JsonValue};
use serde_yaml_ng::{Mapping, Value};
use towergate_core::{EndpointInfo, EndpointKind, EndpointType};
use towergate_ratelimit::Limits;
use towergate_template::PromptSelection;
use towergate_tokens::Pricing;

use crate::{
    cache::{CacheConfig, EmbeddingReference, parse_cache},
    limit::{LimitConfig, parse_limit},
    loader::{Field, Keys, Loader},
    names::{Declared, is_valid_name},
    number::whole_number,
    path::FieldPath,
    provider::canonical_provider,
};

/// The keys of one endpoint.
const ENDPOINT_KEYS: Keys = Keys {
    known: &[
        "name",
        "endpoint_type",
        "model",
        "limit",
        "route_type",
        "pricing",
        "context_window",
        "limits",
        "prompt",
        "cache",
    ],
    planned: &["timeout", "retry", "fallbacks", "guard"],
};

/// The keys of an endpoint's `model`.
const MODEL_KEYS: Keys = Keys {
    known: &["provider", "name", "config"],
    planned: &[],
};

/// Every endpoint type, for messages.
pub(crate) const EXPECTED_TYPE: &str =
    "one of `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`";

/// One endpoint: a name clients call, the task it serves, and the model behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    name: String,
    endpoint_type: EndpointType,
    model: ModelConfig,
    limit: Option<LimitConfig>,
    pricing: Option<Pricing>,
    context_window: Option<u64>,
    limits: Option<Limits>,
    prompt: Option<PromptSelection>,
    cache: Option<CacheConfig>,
}

impl EndpointConfig {
    /// The name clients use (`[a-zA-Z0-9_.-]+`, unique among endpoints and
    /// routes).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task it serves.
    pub fn endpoint_type(&self) -> EndpointType {
        self.endpoint_type
    }

    /// The provider and model behind it.
    pub fn model(&self) -> &ModelConfig {
        &self.model
    }

    /// MLflow's `limit`: how many calls per period the endpoint takes, from
    /// all callers together; `None` for no limit.
    pub fn limit(&self) -> Option<&LimitConfig> {
        self.limit.as_ref()
    }

    /// `pricing`: US dollars per million prompt and completion tokens;
    /// `None` to price by the built-in table.
    pub fn pricing(&self) -> Option<Pricing> {
        self.pricing
    }

    /// `prompt`: the template version(s) that render this endpoint's chats.
    pub fn prompt(&self) -> Option<&PromptSelection> {
        self.prompt.as_ref()
    }

    /// `limits`: requests and tokens per period on this endpoint, per
    /// caller (per endpoint when there is no auth).
    pub fn limits(&self) -> Option<&Limits> {
        self.limits.as_ref()
    }

    /// `context_window`: the most tokens a request (prompt plus
    /// `max_tokens`) may take; longer chats are fitted.
    pub fn context_window(&self) -> Option<u64> {
        self.context_window
    }

    /// `cache`: how long answers are kept, and whether similar prompts
    /// share them; `None` for no cache.
    pub fn cache(&self) -> Option<&CacheConfig> {
        self.cache.as_ref()
    }

    /// What clients are told about this endpoint.
    pub fn info(&self) -> EndpointInfo {
        EndpointInfo {
            name: self.name.clone(),
            kind: EndpointKind::Endpoint,
            endpoint_type: self.endpoint_type,
            provider: Some(self.model.provider.clone()),
            model: Some(self.model.name.clone()),
            limit: self.limit.as_ref().map(LimitConfig::info),
        }
    }
}

/// An endpoint's `model`: MLflow's provider name, the upstream model, and
/// the provider's settings.
///
/// `config` is kept as written, with `$VAR` strings already replaced by
/// their environment variables; the provider that reads it checks its keys.
/// `Debug` shows the keys of `config` but none of its text values, which
/// hold secrets.
#[derive(Clone, PartialEq)]
pub struct ModelConfig {
    provider: String,
    name: String,
    config: Map<String, JsonValue>,
}

impl ModelConfig {
    /// MLflow's provider name (`openai`, `anthropic`, …). MLflow's own
    /// providers are given as MLflow spells them, however the file wrote
    /// them (`OpenAI` and `amazon_bedrock` read as `openai` and
    /// `amazon-bedrock`); other names are kept as written.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The upstream model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The provider's settings, secrets resolved.
    pub fn config(&self) -> &Map<String, JsonValue> {
        &self.config
    }
}

impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelConfig")
            .field("provider", &self.provider)
            .field("name", &self.name)
            .field("config", &RedactedMap(&self.config))
            .finish()
    }
}

/// Shows a JSON object's keys, with every string under them hidden.
struct RedactedMap<'a>(&'a Map<String, JsonValue>);

impl fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(key, value)| (key, Redacted(value))))
            .finish()
    }
}

/// Shows the shape of a JSON value with every string hidden.
struct Redacted<'a>(&'a JsonValue);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            JsonValue::String(_) => f.write_str("<redacted>"),
            JsonValue::Array(items) => f.debug_list().entries(items.iter().map(Redacted)).finish(),
            JsonValue::Object(map) => fmt::Debug::fmt(&RedactedMap(map), f),
            JsonValue::Null | JsonValue::Bool(_) | JsonValue::Number(_) => {
                fmt::Debug::fmt(self.0, f)
            }
        }
    }
}

/// The endpoints that loaded, every name the file gives an endpoint
/// (those with other problems too, so that references to them are not
/// reported twice), and the endpoints their caches name, to be checked
/// once the routes are read too.
pub(crate) struct ParsedEndpoints {
    pub(crate) endpoints: Vec<EndpointConfig>,
    pub(crate) declared: Vec<Declared>,
    pub(crate) embedding_references: Vec<EmbeddingReference>,
}

/// Reads `endpoints`, the value at `at`. Names are checked for uniqueness
/// later, together with the routes'.
pub(crate) fn parse_endpoints(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
) -> ParsedEndpoints {
    let mut parsed = ParsedEndpoints {
        endpoints: Vec::new(),
        declared: Vec::new(),
        embedding_references: Vec::new(),
    };
    let Value::Sequence(items) = value else {
        loader.error(
            at.clone(),
            "expected a list of endpoints, each with `name`, `endpoint_type` and `model`",
        );
        return parsed;
    };
    for (index, item) in items.iter().enumerate() {
        let (declared, endpoint) = parse_endpoint(
            loader,
            item,
            &at.index(index),
            &mut parsed.embedding_references,
        );
        parsed.declared.extend(declared);
        parsed.endpoints.extend(endpoint);
    }
    parsed
}

/// Reads one endpoint: its name (if it has one) and the endpoint if it has
/// no problem. The endpoint its cache names, if any, is added to
/// `references`.
fn parse_endpoint(
    loader: &mut Loader<'_>,
    item: &Value,
    at: &FieldPath,
    references: &mut Vec<EmbeddingReference>,
) -> (Option<Declared>, Option<EndpointConfig>) {
    let Value::Mapping(map) = item else {
        loader.error(
            at.clone(),
            "expected an endpoint: a mapping with `name`, `endpoint_type` and `model`",
        );
        return (None, None);
    };
    let errors_before = loader.error_count();
    let renamed = legacy_route_type(loader, map, at);
    loader.check_keys(map, at, &ENDPOINT_KEYS);

    let name = loader.required_text(
        map,
        "name",
        at,
        "the endpoint's name, made of letters, digits, `_`, `.` and `-`",
    );
    if let Some(name) = name.as_deref().filter(|name| !is_valid_name(name)) {
        loader.error(
            at.key("name"),
            format!(
                "`{name}` is not a valid endpoint name: expected letters, digits, `_`, `.` and `-` only"
            ),
        );
    }
    let endpoint_type = if renamed && !map.contains_key("endpoint_type") {
        None
    } else {
        loader
            .required_text(map, "endpoint_type", at, EXPECTED_TYPE)
            .and_then(|text| parse_endpoint_type(loader, &text, &at.key("endpoint_type")))
    };
    let model = parse_model(loader, map, at);
    let limit = map
        .get("limit")
        .and_then(|value| parse_limit(loader, value, &at.key("limit")));
    let pricing = match loader.field::<Pricing>(map, "pricing", at) {
        Field::Present(pricing) => Some(pricing),
        Field::Absent | Field::Invalid => None,
    };
    let context_window = parse_context_window(loader, map, at);
    let limits = match loader.field::<Limits>(map, "limits", at) {
        Field::Present(limits) => Some(limits),
        Field::Absent | Field::Invalid => None,
    };
    let prompt = match loader.field::<PromptSelection>(map, "prompt", at) {
        Field::Present(prompt) => Some(prompt),
        Field::Absent | Field::Invalid => None,
    };
    let cache = map
        .get("cache")
        .and_then(|value| parse_cache(loader, value, &at.key("cache"), endpoint_type, references));

    let declared = name.clone().map(|name| Declared {
        name,
        at: at.clone(),
        endpoint_type,
    });
    let endpoint = match (name, endpoint_type, model) {
        (Some(name), Some(endpoint_type), Some(model)) if loader.error_count() == errors_before => {
            Some(EndpointConfig {
                name,
                endpoint_type,
                model,
                limit,
                pricing,
                context_window,
                limits,
                prompt,
                cache,
            })
        }
        _ => None,
    };
    (declared, endpoint)
}

/// Reads `context_window`: a whole number of tokens above 0.
fn parse_context_window(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<u64> {
    let value = map.get("context_window")?;
    let window = whole_number(value)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n > 0);
    if window.is_none() {
        loader.error(
            at.key("context_window"),
            "expected a whole number of tokens above 0, such as `128000`",
        );
    }
    window
}

/// MLflow's old `route_type` key: an error with MLflow's hint. Returns
/// whether the key is there.
fn legacy_route_type(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> bool {
    let Some(value) = map.get("route_type") else {
        return false;
    };
    loader.key_error(
        at.key("route_type"),
        format!(
            "the `route_type` key is not supported in the configuration file: it was renamed to `endpoint_type`; use {} instead",
            endpoint_type_suggestion(value)
        ),
    );
    true
}

/// `endpoint_type: VALUE` for a legacy `route_type` value, for hints.
pub(crate) fn endpoint_type_suggestion(route_type: &Value) -> String {
    match route_type {
        Value::String(kind) => format!("`endpoint_type: {kind}`"),
        _ => "`endpoint_type`".to_owned(),
    }
}

/// The endpoint type MLflow calls `text` (`llm/v1/chat`, …).
pub(crate) fn endpoint_type_named(text: &str) -> Option<EndpointType> {
    [
        EndpointType::Chat,
        EndpointType::Completions,
        EndpointType::Embeddings,
    ]
    .into_iter()
    .find(|kind| kind.as_str() == text)
}

fn parse_endpoint_type(
    loader: &mut Loader<'_>,
    text: &str,
    at: &FieldPath,
) -> Option<EndpointType> {
    let found = endpoint_type_named(text);
    if found.is_none() {
        loader.error(
            at.clone(),
            format!("`{text}` is not an endpoint type: expected {EXPECTED_TYPE}"),
        );
    }
    found
}

/// Reads the endpoint's `model`, resolving `$VAR` secrets in its `config`.
fn parse_model(
    loader: &mut Loader<'_>,
    endpoint: &Mapping,
    endpoint_at: &FieldPath,
) -> Option<ModelConfig> {
    const EXPECTED: &str = "a mapping with `provider`, `name` and `config`";
    let at = endpoint_at.key("model");
    let map = match endpoint.get("model") {
        None | Some(Value::Null) => {
            loader.missing(endpoint, "model", endpoint_at, EXPECTED);
            return None;
        }
        Some(Value::Mapping(map)) => map,
        Some(_) => {
            loader.error(at, format!("expected {EXPECTED}"));
            return None;
        }
    };
    loader.check_keys(map, &at, &MODEL_KEYS);
    let provider = loader.required_text(
        map,
        "provider",
        &at,
        "MLflow's provider name, such as `openai` or `anthropic`",
    );
    let name = loader.required_text(
        map,
        "name",
        &at,
        "the upstream model's name, such as `gpt-4o-mini`",
    );
    let config = match loader.field::<Map<String, JsonValue>>(map, "config", &at) {
        Field::Absent => Some(Map::new()),
        Field::Invalid => None,
        Field::Present(mut config) => {
            let errors_before = loader.error_count();
            loader.resolve_env_in_map(&mut config, &at.key("config"));
            (loader.error_count() == errors_before).then_some(config)
        }
    };
    Some(ModelConfig {
        provider: canonical_provider(&provider?),
        name: name?,
        config: config?,
    })
}
