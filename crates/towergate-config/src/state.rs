//! `state` (where limits and budgets keep their counts) and `usage` (where
//! usage records go).

use std::{fmt, path::PathBuf};

use serde_yaml_ng::Value;
use towergate_tokens::budget::OnStoreError;

use crate::{
    loader::{Field, Keys, Loader},
    path::FieldPath,
};

const STATE_KEYS: Keys = Keys {
    known: &["redis", "on_redis_error"],
    planned: &[],
};

const USAGE_KEYS: Keys = Keys {
    known: &["jsonl"],
    planned: &[],
};

/// The `state` section: in memory (one instance) unless `redis` is set.
///
/// `Debug` never shows the Redis URL, which may hold a password.
#[derive(Clone, Default, PartialEq)]
pub struct StateConfig {
    redis: Option<String>,
    on_redis_error: OnStoreError,
}

impl StateConfig {
    /// `redis`: the URL of the Redis server that instances share, its
    /// `$VAR` resolved.
    pub fn redis(&self) -> Option<&str> {
        self.redis.as_deref()
    }

    /// `on_redis_error`: refuse (`closed`, the default) or admit (`open`)
    /// when Redis cannot answer.
    pub fn on_redis_error(&self) -> OnStoreError {
        self.on_redis_error
    }
}

impl fmt::Debug for StateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateConfig")
            .field("redis", &self.redis.as_ref().map(|_| "<redacted>"))
            .field("on_redis_error", &self.on_redis_error)
            .finish()
    }
}

/// The `usage` section: where each request's usage record goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageConfig {
    jsonl: Option<PathBuf>,
}

impl UsageConfig {
    /// `jsonl`: the file that gets one JSON line per request, as written
    /// (a relative path is relative to the config file's directory).
    pub fn jsonl(&self) -> Option<&std::path::Path> {
        self.jsonl.as_deref()
    }
}

/// Reads `state`, the value at `at`.
pub(crate) fn parse_state(loader: &mut Loader<'_>, value: &Value, at: &FieldPath) -> StateConfig {
    let Value::Mapping(map) = value else {
        loader.error(
            at.clone(),
            "expected a mapping with `redis` (a URL) and `on_redis_error`",
        );
        return StateConfig::default();
    };
    loader.check_keys(map, at, &STATE_KEYS);
    let redis = match loader.field::<String>(map, "redis", at) {
        Field::Present(url) => loader
            .resolve_env(url, &at.key("redis"))
            .filter(|url| check_redis_url(loader, url, &at.key("redis"))),
        Field::Absent | Field::Invalid => None,
    };
    let on_redis_error = match loader.field::<OnStoreError>(map, "on_redis_error", at) {
        Field::Present(policy) => policy,
        Field::Absent | Field::Invalid => OnStoreError::default(),
    };
    StateConfig {
        redis,
        on_redis_error,
    }
}

/// Whether `url` is a Redis URL, recording an error when it is not.
fn check_redis_url(loader: &mut Loader<'_>, url: &str, at: &FieldPath) -> bool {
    let valid = ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| url.starts_with(scheme));
    if !valid {
        loader.error(
            at.clone(),
            "expected a Redis URL such as `redis://127.0.0.1:6379`",
        );
    }
    valid
}

/// Reads `usage`, the value at `at`.
pub(crate) fn parse_usage(loader: &mut Loader<'_>, value: &Value, at: &FieldPath) -> UsageConfig {
    let Value::Mapping(map) = value else {
        loader.error(
            at.clone(),
            "expected a mapping with `jsonl`, the file that gets one line per request",
        );
        return UsageConfig::default();
    };
    loader.check_keys(map, at, &USAGE_KEYS);
    let jsonl = match loader.field::<String>(map, "jsonl", at) {
        Field::Present(path) if !path.is_empty() => Some(PathBuf::from(path)),
        Field::Present(_) => {
            loader.error(at.key("jsonl"), "expected a file path");
            None
        }
        Field::Absent | Field::Invalid => None,
    };
    UsageConfig { jsonl }
}
