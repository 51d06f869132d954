//! `auth`: the API keys callers present, and the endpoints each may use.

use std::{collections::BTreeMap, fmt, sync::Arc};

use serde_yaml_ng::{Mapping, Value};
use towergate_guard::auth::ApiKey;
use towergate_ratelimit::Limits;
use towergate_tokens::budget::Budget;

use crate::{
    error::ConfigError,
    loader::{Field, Keys, Loader},
    path::FieldPath,
};

const AUTH_KEYS: Keys = Keys {
    known: &["keys"],
    planned: &[],
};

const KEY_KEYS: Keys = Keys {
    known: &["name", "key", "key_sha256", "endpoints", "budget", "limits"],
    planned: &[],
};

/// What `key_sha256` must look like, for messages.
const EXPECTED_DIGEST: &str = "expected 64 hexadecimal digits, the SHA-256 digest of the key";

/// The endpoint list entry that grants every endpoint.
const ALL_ENDPOINTS: &str = "*";

/// The `auth` section: when present, every call needs one of its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    keys: Vec<KeyConfig>,
    origin: Arc<str>,
}

impl AuthConfig {
    /// The configured keys, in file order.
    pub fn keys(&self) -> &[KeyConfig] {
        &self.keys
    }

    /// The keys, ready for [`AuthLayer`](towergate_guard::auth::AuthLayer).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the key whose `key_sha256` is not a digest
    /// (a loaded config has been checked for this already).
    pub fn api_keys(&self) -> Result<Vec<ApiKey>, ConfigError> {
        self.keys
            .iter()
            .enumerate()
            .map(|(index, key)| key.api_key(index, &self.origin))
            .collect()
    }
}

/// One entry of `auth.keys`.
///
/// `Debug` never shows the key or its digest.
#[derive(Clone, PartialEq)]
pub struct KeyConfig {
    name: String,
    key: Option<String>,
    key_sha256: Option<String>,
    endpoints: Vec<String>,
    budget: Option<Budget>,
    limits: Option<Limits>,
}

impl KeyConfig {
    /// The key's name: what logs, limits and usage records call the caller.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key itself (its `$VAR` resolved), when given as `key`.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The key's SHA-256 digest in hex, when given as `key_sha256`.
    pub fn key_sha256(&self) -> Option<&str> {
        self.key_sha256.as_deref()
    }

    /// The endpoints and routes the key may use; `*` stands for all of them.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The key's spending cap, `budget: {usd, period}`.
    pub fn budget(&self) -> Option<Budget> {
        self.budget
    }

    /// The key's `limits`: requests and tokens per period, across every
    /// endpoint it calls.
    pub fn limits(&self) -> Option<&Limits> {
        self.limits.as_ref()
    }

    fn api_key(&self, index: usize, origin: &Arc<str>) -> Result<ApiKey, ConfigError> {
        let endpoints = self.endpoints.iter().cloned();
        match (&self.key, &self.key_sha256) {
            (Some(key), _) => Ok(ApiKey::from_plaintext(self.name.as_str(), key, endpoints)),
            (None, Some(digest)) => ApiKey::from_sha256_hex(self.name.as_str(), digest, endpoints)
                .map_err(|_| {
                    ConfigError::new(
                        Arc::clone(origin),
                        None,
                        Some(format!("auth.keys[{index}].key_sha256")),
                        EXPECTED_DIGEST,
                    )
                }),
            (None, None) => Err(ConfigError::new(
                Arc::clone(origin),
                None,
                Some(format!("auth.keys[{index}]")),
                "one of `key` or `key_sha256` is required",
            )),
        }
    }
}

impl fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |present: bool| present.then_some("<redacted>");
        f.debug_struct("KeyConfig")
            .field("name", &self.name)
            .field("key", &hidden(self.key.is_some()))
            .field("key_sha256", &hidden(self.key_sha256.is_some()))
            .field("endpoints", &self.endpoints)
            .field("budget", &self.budget)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Reads `auth`, the value at `at`, checking that each key's endpoints are
/// among `endpoint_names` (the endpoints' and routes' names).
pub(crate) fn parse_auth(
    loader: &mut Loader<'_>,
    value: &Value,
    at: &FieldPath,
    endpoint_names: &[&str],
) -> Option<AuthConfig> {
    let map = match value {
        Value::Mapping(map) => map,
        _ => {
            loader.error(
                at.clone(),
                "expected a mapping with `keys`, a list of API keys",
            );
            return None;
        }
    };
    loader.check_keys(map, at, &AUTH_KEYS);
    let keys_at = at.key("keys");
    let items = match map.get("keys") {
        Some(Value::Sequence(items)) => items,
        None | Some(Value::Null) => {
            loader.missing(
                map,
                "keys",
                at,
                "a list of API keys, each with `name`, `key` and `endpoints`",
            );
            return None;
        }
        Some(_) => {
            loader.error(
                keys_at,
                "expected a list of API keys, each with `name`, `key` and `endpoints`",
            );
            return None;
        }
    };
    let errors_before = loader.error_count();
    let mut keys = Vec::new();
    let mut first_use: BTreeMap<String, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let item_at = keys_at.index(index);
        let Some(key) = parse_key(loader, item, &item_at, endpoint_names) else {
            continue;
        };
        if let Some(first) = first_use.get(&key.name) {
            loader.error(
                item_at.key("name"),
                format!(
                    "duplicate key name `{}`: `auth.keys[{first}]` has it already",
                    key.name
                ),
            );
            continue;
        }
        first_use.insert(key.name.clone(), index);
        keys.push(key);
    }
    (loader.error_count() == errors_before).then(|| AuthConfig {
        keys,
        origin: loader.origin(),
    })
}

fn parse_key(
    loader: &mut Loader<'_>,
    item: &Value,
    at: &FieldPath,
    endpoint_names: &[&str],
) -> Option<KeyConfig> {
    let Value::Mapping(map) = item else {
        loader.error(
            at.clone(),
            "expected an API key: a mapping with `name`, `key` (or `key_sha256`) and `endpoints`",
        );
        return None;
    };
    let errors_before = loader.error_count();
    loader.check_keys(map, at, &KEY_KEYS);
    let name = loader.required_text(
        map,
        "name",
        at,
        "the key's name, which logs and usage records show",
    );
    let (key, key_sha256) = parse_secret(loader, map, at);
    let endpoints = parse_allowed(loader, map, at, endpoint_names);
    let budget = parse_budget(loader, map, at);
    let limits = match loader.field::<Limits>(map, "limits", at) {
        Field::Present(limits) => Some(limits),
        Field::Absent | Field::Invalid => None,
    };
    if loader.error_count() != errors_before {
        return None;
    }
    Some(KeyConfig {
        name: name?,
        key,
        key_sha256,
        endpoints: endpoints?,
        budget,
        limits,
    })
}

/// Reads a key's `budget`: `usd` above 0 per `period`.
fn parse_budget(loader: &mut Loader<'_>, map: &Mapping, at: &FieldPath) -> Option<Budget> {
    match loader.field::<Budget>(map, "budget", at) {
        Field::Present(budget) if budget.usd.is_finite() && budget.usd > 0.0 => Some(budget),
        Field::Present(budget) => {
            loader.error(
                at.key("budget").key("usd"),
                format!(
                    "`{}` is not a budget: expected US dollars above 0",
                    budget.usd
                ),
            );
            None
        }
        Field::Absent | Field::Invalid => None,
    }
}

/// Reads exactly one of `key` (with `$VAR` resolved) and `key_sha256`.
fn parse_secret(
    loader: &mut Loader<'_>,
    map: &Mapping,
    at: &FieldPath,
) -> (Option<String>, Option<String>) {
    let key = match secret_text(loader, map, "key", at) {
        Field::Present(key) => loader.resolve_env(key, &at.key("key")).map(Some),
        Field::Absent => Some(None),
        Field::Invalid => None,
    };
    let digest = match secret_text(loader, map, "key_sha256", at) {
        Field::Present(digest) => {
            let valid = ApiKey::from_sha256_hex("", &digest, [ALL_ENDPOINTS]).is_ok();
            if !valid {
                loader.error(at.key("key_sha256"), EXPECTED_DIGEST);
            }
            valid.then_some(Some(digest))
        }
        Field::Absent => Some(None),
        Field::Invalid => None,
    };
    match (key, digest) {
        (Some(Some(_)), Some(Some(_))) => {
            loader.error(at.clone(), "set either `key` or `key_sha256`, not both");
            (None, None)
        }
        (Some(None), Some(None)) => {
            loader.error(
                at.clone(),
                "one of `key` or `key_sha256` is required: the key itself (or `$VAR`), or its SHA-256 digest in hex",
            );
            (None, None)
        }
        (Some(Some(key)), _) if key.is_empty() => {
            loader.error(
                at.key("key"),
                "`key` is empty: expected the key itself, or `$VAR`",
            );
            (None, None)
        }
        (key, digest) => (key.flatten(), digest.flatten()),
    }
}

/// Reads the text field `key` without ever quoting its value in a problem.
fn secret_text(loader: &mut Loader<'_>, map: &Mapping, key: &str, at: &FieldPath) -> Field<String> {
    match map.get(key) {
        None | Some(Value::Null) => Field::Absent,
        Some(Value::String(text)) => Field::Present(text.clone()),
        Some(_) => {
            loader.error(
                at.key(key),
                format!("`{key}` must be text: put it in quotes"),
            );
            Field::Invalid
        }
    }
}

/// Reads `endpoints`: each an endpoint's or a route's name, or `*`.
fn parse_allowed(
    loader: &mut Loader<'_>,
    map: &Mapping,
    at: &FieldPath,
    endpoint_names: &[&str],
) -> Option<Vec<String>> {
    const EXPECTED: &str =
        "a list of the endpoints and routes this key may use, or `[\"*\"]` for all";
    let endpoints = match loader.field::<Vec<String>>(map, "endpoints", at) {
        Field::Present(endpoints) => endpoints,
        Field::Absent => {
            loader.missing(map, "endpoints", at, EXPECTED);
            return None;
        }
        Field::Invalid => return None,
    };
    let mut valid = true;
    for (index, endpoint) in endpoints.iter().enumerate() {
        if endpoint != ALL_ENDPOINTS && !endpoint_names.contains(&endpoint.as_str()) {
            valid = false;
            loader.error(
                at.key("endpoints").index(index),
                format!(
                    "`{endpoint}` is not an endpoint or a route: expected one of the names under `endpoints` or `routes`, or `*`"
                ),
            );
        }
    }
    valid.then_some(endpoints)
}
