//! The top-level `cache`: where the endpoints' caches keep their answers.

use std::fmt;

use serde_yaml_ng::{Mapping, Value};

use crate::{
    loader::{Keys, Loader},
    number::whole_number,
    path::FieldPath,
};

const CACHE_STORE_KEYS: Keys = Keys {
    known: &["store", "max_bytes", "semantic_candidates"],
    planned: &[],
};

/// The default `cache.max_bytes`: 256 MiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// The default `cache.semantic_candidates`.
pub const DEFAULT_SEMANTIC_CANDIDATES: usize = 1000;

/// What `store` looks like, for messages.
const EXPECTED_STORE: &str = "`memory` or `redis`";

/// Where cached answers are kept.
///
/// ```
/// use towergate_config::CacheStoreKind;
///
/// assert_eq!(CacheStoreKind::Redis.as_str(), "redis");
/// assert_eq!(CacheStoreKind::Memory.to_string(), "memory");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheStoreKind {
    /// `memory`: in this process, up to `max_bytes`; each instance has its own.
    Memory,
    /// `redis`: in the Redis server of `state.redis`, shared by every instance.
    Redis,
}

impl CacheStoreKind {
    const ALL: [Self; 2] = [Self::Memory, Self::Redis];

    /// The name the file gives the store: `memory` or `redis`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
        }
    }
}

impl fmt::Display for CacheStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The top-level `cache` section: the store behind every endpoint's
/// `cache`. Every field has a default; the store's is `redis` when
/// `state.redis` is set, else `memory`.
///
/// ```
/// use towergate_config::{CacheStoreKind, Config};
///
/// let yaml = "\
/// endpoints: []
/// state: {redis: redis://127.0.0.1:6379}
/// cache: {semantic_candidates: 500}
/// ";
/// let config = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap();
/// assert_eq!(config.cache().store(), CacheStoreKind::Redis);
/// assert_eq!(config.cache().max_bytes(), 256 * 1024 * 1024);
/// assert_eq!(config.cache().semantic_candidates(), 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheStoreConfig {
    store: CacheStoreKind,
    max_bytes: u64,
    semantic_candidates: usize,
}

impl Default for CacheStoreConfig {
    /// What a file with neither `cache` nor `state.redis` gets: in memory,
    /// with the default sizes.
    fn default() -> Self {
        Self::defaults(false)
    }
}

impl CacheStoreConfig {
    /// `store`: where cached answers are kept.
    pub fn store(&self) -> CacheStoreKind {
        self.store
    }

    /// `max_bytes`: how large the in-memory cache grows, in bytes, before
    /// it drops its least recently used answers (above zero).
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// `semantic_candidates`: how many recent prompt embeddings the Redis
    /// store keeps and searches per endpoint and parameters (above zero).
    pub fn semantic_candidates(&self) -> usize {
        self.semantic_candidates
    }

    /// The defaults, for a file whose `state.redis` is set (`redis`) or not.
    pub(crate) fn defaults(redis: bool) -> Self {
        Self {
            store: if redis {
                CacheStoreKind::Redis
            } else {
                CacheStoreKind::Memory
            },
            max_bytes: DEFAULT_CACHE_MAX_BYTES,
            semantic_candidates: DEFAULT_SEMANTIC_CANDIDATES,
        }
    }
}

/// Reads the top-level `cache`, the value at `at`, for a file whose
/// `state.redis` is set (`redis`) or not; defaults stand in for what is
/// absent or wrong (what is wrong is recorded).
pub(crate) fn parse_cache_store(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
    redis: bool,
) -> CacheStoreConfig {
    let mut config = CacheStoreConfig::defaults(redis);
    let Some(map) = loader.mapping(
        value,
        at,
        "expected a mapping with `store`, `max_bytes` and `semantic_candidates`",
    ) else {
        return config;
    };
    loader.check_keys(map, at, &CACHE_STORE_KEYS);
    if let Some(store) = parse_store(loader, map, at, redis) {
        config.store = store;
    }
    if let Some(max_bytes) = positive(
        loader,
        map,
        "max_bytes",
        at,
        "the in-memory cache's size in bytes, a whole number above 0 such as `268435456` (256 MiB)",
    ) {
        config.max_bytes = max_bytes;
    }
    if let Some(candidates) = positive(
        loader,
        map,
        "semantic_candidates",
        at,
        "how many recent prompt embeddings the Redis store searches per endpoint, a whole number above 0 such as `1000`",
    ) {
        config.semantic_candidates = candidates;
    }
    config
}

/// Reads `store`; `redis` needs `state.redis`.
fn parse_store(
    loader: &mut Loader<'_>,
    map: &Mapping,
    at: &FieldPath,
    redis: bool,
) -> Option<CacheStoreKind> {
    let text = match map.get("store") {
        None | Some(Value::Null) => return None,
        Some(Value::String(text)) => text,
        Some(_) => {
            loader.error(at.key("store"), format!("expected {EXPECTED_STORE}"));
            return None;
        }
    };
    let Some(store) = CacheStoreKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text)
    else {
        loader.error(
            at.key("store"),
            format!("`{text}` is not a cache store: expected {EXPECTED_STORE}"),
        );
        return None;
    };
    if store == CacheStoreKind::Redis && !redis {
        loader.error(
            at.key("store"),
            "`store: redis` needs `state.redis`, the URL of the Redis server to keep answers in: set `state.redis`, or use `store: memory`",
        );
        return None;
    }
    Some(store)
}

/// Reads the field `key` of `map`: a whole number above 0 that fits a `T`.
/// `None` when it is absent or wrong (and then the problem, and what was
/// `expected`, is recorded).
fn positive<T: TryFrom<i128>>(
    loader: &mut Loader<'_>,
    map: &Mapping,
    key: &str,
    at: &FieldPath,
    expected: &str,
) -> Option<T> {
    let value = map.get(key).filter(|value| !value.is_null())?;
    let number = whole_number(value)
        .filter(|number| *number > 0)
        .and_then(|number| T::try_from(number).ok());
    if number.is_none() {
        let shown = match value {
            Value::Number(number) => format!("`{number}`: "),
            Value::String(text) => format!("`{text}`: "),
            _ => String::new(),
        };
        loader.error(at.key(key), format!("{shown}expected {expected}"));
    }
    number
}
