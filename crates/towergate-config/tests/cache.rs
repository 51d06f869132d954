//! Each endpoint's `cache` and the top-level `cache` (the store behind
//! them): what is read, the defaults, and every problem at its field.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use towergate_config::{
    CacheStoreConfig, CacheStoreKind, Config, DEFAULT_CACHE_MAX_BYTES, DEFAULT_SEMANTIC_CANDIDATES,
    DEFAULT_SEMANTIC_THRESHOLD,
};

fn load(yaml: &str) -> Result<Config, Vec<String>> {
    Config::check_str_with_env(yaml, "gateway.yaml", |_| None)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

fn errors(yaml: &str) -> Vec<String> {
    load(yaml).unwrap_err()
}

/// A chat endpoint whose `cache` is `cache` (from line 5, indented for
/// the endpoint's keys), then an embeddings endpoint, a completions one
/// and a route (`rest` follows them).
fn with_cache(cache: &str, rest: &str) -> String {
    format!(
        "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {{provider: openai, name: gpt-4o-mini}}
{cache}  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {{provider: openai, name: text-embedding-3-small}}
  - name: complete
    endpoint_type: llm/v1/completions
    model: {{provider: openai, name: gpt-3.5-turbo-instruct}}
routes:
  - name: chat-ab
    task_type: llm/v1/chat
    destinations:
      - {{name: chat, traffic_percentage: 100}}
{rest}"
    )
}

const FULL: &str = "\
endpoints:
  - name: chat
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o-mini}
    cache:
      ttl: 10m
      semantic: {embedding_endpoint: embed, threshold: 0.9}
  - name: complete
    endpoint_type: llm/v1/completions
    model: {provider: openai, name: gpt-3.5-turbo-instruct}
    cache: {ttl: 30s, semantic: {embedding_endpoint: embed}}
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {provider: openai, name: text-embedding-3-small}
    cache: {ttl: 1h}
  - name: plain
    endpoint_type: llm/v1/chat
    model: {provider: openai, name: gpt-4o}
state:
  redis: redis://127.0.0.1:6379
cache:
  store: redis
  max_bytes: 1048576
  semantic_candidates: 250
";

#[test]
fn both_levels_are_read_back() {
    let config = load(FULL).unwrap();
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());

    let chat = config.endpoint("chat").unwrap().cache().unwrap();
    assert_eq!(chat.ttl(), Duration::from_secs(600));
    let semantic = chat.semantic().unwrap();
    assert_eq!(semantic.embedding_endpoint(), "embed");
    assert_eq!(semantic.threshold(), 0.9);

    let complete = config.endpoint("complete").unwrap().cache().unwrap();
    assert_eq!(complete.ttl(), Duration::from_secs(30));
    let semantic = complete.semantic().unwrap();
    assert_eq!(semantic.embedding_endpoint(), "embed");
    assert_eq!(semantic.threshold(), DEFAULT_SEMANTIC_THRESHOLD);
    assert_eq!(DEFAULT_SEMANTIC_THRESHOLD, 0.95);

    // An embeddings endpoint takes an exact cache.
    let embed = config.endpoint("embed").unwrap().cache().unwrap();
    assert_eq!(embed.ttl(), Duration::from_secs(3600));
    assert!(embed.semantic().is_none());
    assert!(config.endpoint("plain").unwrap().cache().is_none());

    let store = config.cache();
    assert_eq!(store.store(), CacheStoreKind::Redis);
    assert_eq!(store.max_bytes(), 1_048_576);
    assert_eq!(store.semantic_candidates(), 250);
}

#[test]
fn a_null_cache_is_no_cache() {
    let config = load(&with_cache("    cache:\n", "")).unwrap();
    assert!(config.endpoint("chat").unwrap().cache().is_none());
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
}

#[test]
fn the_store_defaults_to_memory_without_redis() {
    for top in ["", "cache:\n", "cache: {}\n"] {
        let config = load(&format!("endpoints: []\n{top}")).unwrap();
        let store = config.cache();
        assert_eq!(store.store(), CacheStoreKind::Memory, "{top:?}");
        assert_eq!(store.max_bytes(), 268_435_456);
        assert_eq!(store.semantic_candidates(), 1000);
        assert_eq!(*store, CacheStoreConfig::default());
    }
    assert_eq!(DEFAULT_CACHE_MAX_BYTES, 256 * 1024 * 1024);
    assert_eq!(DEFAULT_SEMANTIC_CANDIDATES, 1000);
}

#[test]
fn the_store_defaults_to_redis_with_state_redis() {
    let config = load("endpoints: []\nstate: {redis: redis://127.0.0.1:6379}\n").unwrap();
    assert_eq!(config.cache().store(), CacheStoreKind::Redis);
    assert_eq!(config.cache().max_bytes(), DEFAULT_CACHE_MAX_BYTES);

    let yaml = "endpoints: []\nstate: {redis: redis://127.0.0.1:6379}\ncache: {store: memory}\n";
    let config = load(yaml).unwrap();
    assert_eq!(config.cache().store(), CacheStoreKind::Memory);
    assert_eq!(
        config.cache().semantic_candidates(),
        DEFAULT_SEMANTIC_CANDIDATES
    );
}

#[test]
fn store_kinds_are_named_as_the_file_writes_them() {
    assert_eq!(CacheStoreKind::Memory.as_str(), "memory");
    assert_eq!(CacheStoreKind::Redis.to_string(), "redis");
}

#[test]
fn ttl_is_required() {
    assert_eq!(
        errors(&with_cache(
            "    cache: {semantic: {embedding_endpoint: embed}}\n",
            ""
        )),
        [
            "gateway.yaml:5:12: endpoints[0].cache: `ttl` is required: expected how long an answer stays cached, a duration such as `10m`"
        ]
    );
    assert_eq!(
        errors(&with_cache("    cache:\n      ttl:\n", "")),
        [
            "gateway.yaml:6:11: endpoints[0].cache.ttl: `ttl` is required: expected how long an answer stays cached, a duration such as `10m`"
        ]
    );
}

#[test]
fn ttl_is_a_duration_above_zero() {
    for (ttl, message) in [
        (
            "soon",
            "`soon` is not a duration: expected a duration such as `500ms`, `30s`, `10m` or `1h`",
        ),
        (
            "600",
            "`600` has no unit: expected a duration such as `500ms`, `30s`, `10m` or `1h`",
        ),
        (
            "[10m]",
            "expected a duration such as `500ms`, `30s`, `10m` or `1h`",
        ),
        (
            "0s",
            "a `ttl` of zero caches nothing: expected how long an answer stays cached, a duration such as `10m`, above 0",
        ),
    ] {
        let yaml = with_cache(&format!("    cache:\n      ttl: {ttl}\n"), "");
        assert_eq!(
            errors(&yaml),
            [format!(
                "gateway.yaml:6:12: endpoints[0].cache.ttl: {message}"
            )],
            "{ttl}"
        );
    }
}

#[test]
fn cache_must_be_a_mapping() {
    assert_eq!(
        errors(&with_cache("    cache: 10m\n", "")),
        [
            "gateway.yaml:5:12: endpoints[0].cache: expected a mapping with `ttl` (a duration such as `10m`) and, optionally, `semantic`"
        ]
    );
    assert_eq!(
        errors(&with_cache("    cache: {ttl: 10m, semantic: embed}\n", "")),
        [
            "gateway.yaml:5:33: endpoints[0].cache.semantic: expected a mapping with `embedding_endpoint` (an `llm/v1/embeddings` endpoint) and, optionally, `threshold`"
        ]
    );
}

#[test]
fn unknown_keys_inside_cache_are_warnings() {
    let cache = "    cache:\n      ttl: 10m\n      size: 5\n      semantic:\n        embedding_endpoint: embed\n        model: x\n";
    let config = load(&with_cache(cache, "")).unwrap();
    let shown: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "gateway.yaml:7:7: endpoints[0].cache.size: unknown key `size` is ignored",
            "gateway.yaml:10:9: endpoints[0].cache.semantic.model: unknown key `model` is ignored",
        ]
    );
    let cache = config.endpoint("chat").unwrap().cache().unwrap();
    assert_eq!(cache.semantic().unwrap().embedding_endpoint(), "embed");
}

#[test]
fn semantic_is_only_for_chat_and_completions() {
    let yaml = "\
endpoints:
  - name: embed
    endpoint_type: llm/v1/embeddings
    model: {provider: openai, name: text-embedding-3-small}
    cache:
      ttl: 10m
      semantic: {embedding_endpoint: embed}
";
    assert_eq!(
        errors(yaml),
        [
            "gateway.yaml:7:7: endpoints[0].cache.semantic: a semantic cache is only for `llm/v1/chat` and `llm/v1/completions` endpoints, and this endpoint serves `llm/v1/embeddings`: remove `semantic` to keep an exact cache"
        ]
    );
}

#[test]
fn embedding_endpoint_is_required() {
    assert_eq!(
        errors(&with_cache(
            "    cache:\n      ttl: 10m\n      semantic: {threshold: 0.9}\n",
            ""
        )),
        [
            "gateway.yaml:7:17: endpoints[0].cache.semantic: `embedding_endpoint` is required: expected the name of one of the `endpoints` whose `endpoint_type` is `llm/v1/embeddings`"
        ]
    );
}

#[test]
fn embedding_endpoint_must_be_an_embeddings_endpoint() {
    for (name, message) in [
        (
            "nowhere",
            "`nowhere` is not an endpoint: expected the name of one of the `endpoints` whose `endpoint_type` is `llm/v1/embeddings`",
        ),
        (
            "chat-ab",
            "`chat-ab` is a route: `embedding_endpoint` must name an endpoint, not a route; expected the name of one of the `endpoints` whose `endpoint_type` is `llm/v1/embeddings`",
        ),
        (
            "complete",
            "endpoint `complete` serves `llm/v1/completions`: expected the name of one of the `endpoints` whose `endpoint_type` is `llm/v1/embeddings`",
        ),
        (
            "chat",
            "endpoint `chat` serves `llm/v1/chat`: expected the name of one of the `endpoints` whose `endpoint_type` is `llm/v1/embeddings`",
        ),
    ] {
        let cache = format!(
            "    cache:\n      ttl: 10m\n      semantic:\n        embedding_endpoint: {name}\n"
        );
        assert_eq!(
            errors(&with_cache(&cache, "")),
            [format!(
                "gateway.yaml:8:29: endpoints[0].cache.semantic.embedding_endpoint: {message}"
            )],
            "{name}"
        );
    }
}

#[test]
fn an_embeddings_endpoint_declared_later_or_with_problems_is_found() {
    // `embed` is declared after the endpoint that names it.
    let config = load(&with_cache(
        "    cache: {ttl: 10m, semantic: {embedding_endpoint: embed}}\n",
        "",
    ))
    .unwrap();
    let cache = config.endpoint("chat").unwrap().cache().unwrap();
    assert_eq!(cache.semantic().unwrap().embedding_endpoint(), "embed");

    // An endpoint whose own type is wrong is reported once, at its type.
    let yaml = with_cache(
        "    cache: {ttl: 10m, semantic: {embedding_endpoint: embed}}\n",
        "",
    )
    .replace(
        "endpoint_type: llm/v1/embeddings",
        "endpoint_type: llm/v2/embeddings",
    );
    assert_eq!(
        errors(&yaml),
        [
            "gateway.yaml:7:20: endpoints[1].endpoint_type: `llm/v2/embeddings` is not an endpoint type: expected one of `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`"
        ]
    );
}

#[test]
fn threshold_is_a_number_above_zero_and_at_most_one() {
    for good in ["1", "1.0", "0.5", "0.001"] {
        let cache = format!(
            "    cache: {{ttl: 10m, semantic: {{embedding_endpoint: embed, threshold: {good}}}}}\n"
        );
        let config = load(&with_cache(&cache, "")).unwrap();
        let semantic = config.endpoint("chat").unwrap().cache().unwrap().semantic();
        assert!(semantic.unwrap().threshold() > 0.0, "{good}");
    }
    const EXPECTED: &str = "expected a similarity above 0 and at most 1, such as `0.95`";
    for (bad, message) in [
        ("0", format!("`0` is out of range: {EXPECTED}")),
        ("1.5", format!("`1.5` is out of range: {EXPECTED}")),
        ("-0.2", format!("`-0.2` is out of range: {EXPECTED}")),
        (".nan", format!("`.nan` is out of range: {EXPECTED}")),
        ("high", format!("`high` is not a number: {EXPECTED}")),
        ("'0.9'", format!("`0.9` is not a number: {EXPECTED}")),
        ("[0.9]", EXPECTED.to_owned()),
    ] {
        let cache = format!(
            "    cache:\n      ttl: 10m\n      semantic:\n        embedding_endpoint: embed\n        threshold: {bad}\n"
        );
        assert_eq!(
            errors(&with_cache(&cache, "")),
            [format!(
                "gateway.yaml:9:20: endpoints[0].cache.semantic.threshold: {message}"
            )],
            "{bad}"
        );
    }
}

#[test]
fn every_cache_problem_is_reported_in_file_order() {
    let cache = "    cache:\n      ttl: 0s\n      semantic:\n        embedding_endpoint: chat\n        threshold: 2\n";
    let errors =
        Config::check_str_with_env(&with_cache(cache, ""), "gateway.yaml", |_| None).unwrap_err();
    let summary: Vec<(Option<usize>, Option<&str>)> =
        errors.iter().map(|e| (e.line(), e.path())).collect();
    assert_eq!(
        summary,
        [
            (Some(6), Some("endpoints[0].cache.ttl")),
            (
                Some(8),
                Some("endpoints[0].cache.semantic.embedding_endpoint")
            ),
            (Some(9), Some("endpoints[0].cache.semantic.threshold")),
        ],
        "{errors:#?}"
    );
}

#[test]
fn store_redis_needs_state_redis() {
    assert_eq!(
        errors("endpoints: []\ncache:\n  store: redis\n"),
        [
            "gateway.yaml:3:10: cache.store: `store: redis` needs `state.redis`, the URL of the Redis server to keep answers in: set `state.redis`, or use `store: memory`"
        ]
    );
    // A `state.redis` with a problem of its own is reported there alone.
    assert_eq!(
        errors("endpoints: []\nstate: {redis: $UNSET}\ncache:\n  store: redis\n"),
        ["gateway.yaml:2:16: state.redis: environment variable `UNSET` is not set"]
    );
}

#[test]
fn bad_store_values_are_named_at_their_field() {
    for (top, expected) in [
        (
            "cache:\n  store: disk\n",
            "gateway.yaml:3:10: cache.store: `disk` is not a cache store: expected `memory` or `redis`",
        ),
        (
            "cache:\n  store: [memory]\n",
            "gateway.yaml:3:10: cache.store: expected `memory` or `redis`",
        ),
        (
            "cache:\n  max_bytes: 0\n",
            "gateway.yaml:3:14: cache.max_bytes: `0`: expected the in-memory cache's size in bytes, a whole number above 0 such as `268435456` (256 MiB)",
        ),
        (
            "cache:\n  max_bytes: 1.5\n",
            "gateway.yaml:3:14: cache.max_bytes: `1.5`: expected the in-memory cache's size in bytes, a whole number above 0 such as `268435456` (256 MiB)",
        ),
        (
            "cache:\n  semantic_candidates: -1\n",
            "gateway.yaml:3:24: cache.semantic_candidates: `-1`: expected how many recent prompt embeddings the Redis store searches per endpoint, a whole number above 0 such as `1000`",
        ),
        (
            "cache:\n  semantic_candidates: many\n",
            "gateway.yaml:3:24: cache.semantic_candidates: `many`: expected how many recent prompt embeddings the Redis store searches per endpoint, a whole number above 0 such as `1000`",
        ),
        (
            "cache: memory\n",
            "gateway.yaml:2:8: cache: expected a mapping with `store`, `max_bytes` and `semantic_candidates`",
        ),
    ] {
        assert_eq!(
            errors(&format!("endpoints: []\n{top}")),
            [expected],
            "{top}"
        );
    }
}

#[test]
fn unknown_keys_inside_the_store_are_warnings() {
    let config = load("endpoints: []\ncache:\n  max_entries: 10\n").unwrap();
    let shown: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["gateway.yaml:3:3: cache.max_entries: unknown key `max_entries` is ignored"]
    );
    assert_eq!(config.cache().store(), CacheStoreKind::Memory);
}
