//! An endpoint's `cache`: how long answers are kept, and whether a prompt
//! close in meaning to a cached one gets its answer.

use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};
use towergate_core::EndpointType;

use crate::{
    duration::duration_value,
    loader::{Keys, Loader},
    names::Declared,
    path::FieldPath,
};

/// The keys of an endpoint's `cache`.
const CACHE_KEYS: Keys = Keys {
    known: &["ttl", "semantic"],
    planned: &[],
};

/// The keys of `cache.semantic`.
const SEMANTIC_KEYS: Keys = Keys {
    known: &["embedding_endpoint", "threshold"],
    planned: &[],
};

/// The default `cache.semantic.threshold`.
pub const DEFAULT_SEMANTIC_THRESHOLD: f32 = 0.95;

/// What `ttl` looks like, for messages.
const EXPECTED_TTL: &str = "how long an answer stays cached, a duration such as `10m`";

/// What `embedding_endpoint` names, for messages.
const EXPECTED_EMBEDDING: &str =
    "the name of one of the `endpoints` whose `endpoint_type` is `llm/v1/embeddings`";

/// What `threshold` looks like, for messages.
const EXPECTED_THRESHOLD: &str = "expected a similarity above 0 and at most 1, such as `0.95`";

/// An endpoint's `cache`: answers are kept for `ttl`, and found again by an
/// exact match of the request, or, with `semantic`, by a prompt close
/// enough in meaning.
///
/// ```
/// use std::time::Duration;
/// use towergate_config::Config;
///
/// let yaml = "\
/// endpoints:
///   - name: chat
///     endpoint_type: llm/v1/chat
///     model: {provider: openai, name: gpt-4o-mini}
///     cache:
///       ttl: 10m
///       semantic: {embedding_endpoint: embed}
///   - name: embed
///     endpoint_type: llm/v1/embeddings
///     model: {provider: openai, name: text-embedding-3-small}
/// ";
/// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
/// let cache = config.endpoint("chat").unwrap().cache().unwrap();
/// assert_eq!(cache.ttl(), Duration::from_secs(600));
/// let semantic = cache.semantic().unwrap();
/// assert_eq!(semantic.embedding_endpoint(), "embed");
/// assert_eq!(semantic.threshold(), 0.95);
/// assert!(config.endpoint("embed").unwrap().cache().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    ttl: Duration,
    semantic: Option<SemanticCacheConfig>,
}

impl CacheConfig {
    /// `ttl`: how long a cached answer is served (above zero).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// `semantic`: how prompts close in meaning find a cached answer;
    /// `None` for an exact cache only.
    pub fn semantic(&self) -> Option<&SemanticCacheConfig> {
        self.semantic.as_ref()
    }
}

/// An endpoint's `cache.semantic` (chat and completions endpoints only):
/// a prompt whose embedding is at least `threshold` similar to a cached
/// one's gets that answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticCacheConfig {
    embedding_endpoint: String,
    threshold: f32,
}

impl SemanticCacheConfig {
    /// `embedding_endpoint`: the endpoint (of this file, serving
    /// `llm/v1/embeddings`) that embeds the prompts.
    pub fn embedding_endpoint(&self) -> &str {
        &self.embedding_endpoint
    }

    /// `threshold`: the least similarity, above 0 and at most 1, for a
    /// cached answer to be served ([`DEFAULT_SEMANTIC_THRESHOLD`] when the
    /// file says nothing).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }
}

/// A name `cache.semantic.embedding_endpoint` gives, checked once every
/// endpoint and route is read.
pub(crate) struct EmbeddingReference {
    /// The name given.
    name: String,
    /// Where it is given, such as `endpoints[0].cache.semantic.embedding_endpoint`.
    at: FieldPath,
}

/// Reads an endpoint's `cache`, the value at `at`, for an endpoint serving
/// `endpoint_type` (when that is known): `None` when it is `null` or has a
/// problem (which is recorded). The endpoint named by `semantic` is added
/// to `references`, to be checked by [`check_embedding_endpoints`].
pub(crate) fn parse_cache(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
    endpoint_type: Option<EndpointType>,
    references: &mut Vec<EmbeddingReference>,
) -> Option<CacheConfig> {
    let map = loader.mapping(
        value,
        at,
        "expected a mapping with `ttl` (a duration such as `10m`) and, optionally, `semantic`",
    )?;
    loader.check_keys(map, at, &CACHE_KEYS);
    let ttl = parse_ttl(loader, map, at);
    let semantic = match map.get("semantic") {
        None | Some(Value::Null) => Some(None),
        Some(value) => parse_semantic(
            loader,
            value,
            &at.key("semantic"),
            endpoint_type,
            references,
        )
        .map(Some),
    };
    Some(CacheConfig {
        ttl: ttl?,
        semantic: semantic?,
    })
}

/// Reads `ttl`: a duration above zero.
fn parse_ttl(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<Duration> {
    let value = match map.get("ttl") {
        None | Some(Value::Null) => {
            loader.missing(map, "ttl", at, EXPECTED_TTL);
            return None;
        }
        Some(value) => value,
    };
    match duration_value(value) {
        Ok(ttl) if !ttl.is_zero() => Some(ttl),
        Ok(_) => {
            loader.error(
                at.key("ttl"),
                format!("a `ttl` of zero caches nothing: expected {EXPECTED_TTL}, above 0"),
            );
            None
        }
        Err(message) => {
            loader.error(at.key("ttl"), message);
            None
        }
    }
}

/// Reads `cache.semantic`, the value at `at`.
fn parse_semantic(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
    endpoint_type: Option<EndpointType>,
    references: &mut Vec<EmbeddingReference>,
) -> Option<SemanticCacheConfig> {
    let Value::Mapping(map) = value else {
        loader.error(
            at.clone(),
            "expected a mapping with `embedding_endpoint` (an `llm/v1/embeddings` endpoint) and, optionally, `threshold`",
        );
        return None;
    };
    let errors_before = loader.error_count();
    if let Some(served) = endpoint_type.filter(|served| !takes_semantic(*served)) {
        loader.key_error(
            at.clone(),
            format!(
                "a semantic cache is only for `llm/v1/chat` and `llm/v1/completions` endpoints, and this endpoint serves `{}`: remove `semantic` to keep an exact cache",
                served.as_str()
            ),
        );
    }
    loader.check_keys(map, at, &SEMANTIC_KEYS);
    let embedding_endpoint =
        loader.required_text(map, "embedding_endpoint", at, EXPECTED_EMBEDDING);
    if let Some(name) = &embedding_endpoint {
        references.push(EmbeddingReference {
            name: name.clone(),
            at: at.key("embedding_endpoint"),
        });
    }
    let threshold = parse_threshold(loader, map, at);
    match (embedding_endpoint, threshold) {
        (Some(embedding_endpoint), Some(threshold)) if loader.error_count() == errors_before => {
            Some(SemanticCacheConfig {
                embedding_endpoint,
                threshold,
            })
        }
        _ => None,
    }
}

/// Whether an endpoint serving `served` may have a semantic cache: its
/// requests carry a prompt to embed.
fn takes_semantic(served: EndpointType) -> bool {
    matches!(served, EndpointType::Chat | EndpointType::Completions)
}

/// Reads `threshold`: a number above 0 and at most 1, by default
/// [`DEFAULT_SEMANTIC_THRESHOLD`].
fn parse_threshold(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<f32> {
    let value = match map.get("threshold") {
        None | Some(Value::Null) => return Some(DEFAULT_SEMANTIC_THRESHOLD),
        Some(value) => value,
    };
    let threshold = match value {
        Value::Number(number) => number
            .as_f64()
            .filter(|threshold| *threshold > 0.0 && *threshold <= 1.0)
            // In range, the conversion loses only precision; what rounds to
            // zero is refused below.
            .map(|threshold| threshold as f32)
            .filter(|threshold| *threshold > 0.0),
        _ => None,
    };
    if threshold.is_none() {
        let message = match value {
            Value::Number(number) => format!("`{number}` is out of range: {EXPECTED_THRESHOLD}"),
            Value::String(text) => format!("`{text}` is not a number: {EXPECTED_THRESHOLD}"),
            _ => EXPECTED_THRESHOLD.to_owned(),
        };
        loader.error(at.key("threshold"), message);
    }
    threshold
}

/// Records an error for every `embedding_endpoint` in `references` that is
/// not one of the `endpoints` serving `llm/v1/embeddings`. An endpoint whose
/// type could not be read is not reported again.
pub(crate) fn check_embedding_endpoints(
    loader: &mut Loader<'_>,
    references: &[EmbeddingReference],
    endpoints: &[Declared],
    routes: &[Declared],
) {
    for reference in references {
        let name = reference.name.as_str();
        let endpoint = endpoints.iter().find(|declared| declared.name == name);
        let message = match endpoint.map(|declared| declared.endpoint_type) {
            Some(None | Some(EndpointType::Embeddings)) => continue,
            Some(Some(served)) => format!(
                "endpoint `{name}` serves `{}`: expected {EXPECTED_EMBEDDING}",
                served.as_str()
            ),
            None if routes.iter().any(|declared| declared.name == name) => format!(
                "`{name}` is a route: `embedding_endpoint` must name an endpoint, not a route; expected {EXPECTED_EMBEDDING}"
            ),
            None => format!("`{name}` is not an endpoint: expected {EXPECTED_EMBEDDING}"),
        };
        loader.error(reference.at.clone(), message);
    }
}
