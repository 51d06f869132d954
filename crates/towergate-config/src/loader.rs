//! The walk over a parsed document: typed fields, unknown keys, `$VAR`
//! secrets, and every problem found on the way, placed in the text at the end.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

use crate::{
    error::{ConfigError, ConfigWarning},
    locate::{Target, locate},
    path::FieldPath,
};

/// The keys a mapping may hold.
pub(crate) struct Keys {
    /// Keys read by this version.
    pub(crate) known: &'static [&'static str],
    /// Keys the file format names for features not built yet: an error, so
    /// that a file relying on them never loads with them silently ignored.
    pub(crate) planned: &'static [&'static str],
}

/// A field read from a mapping.
pub(crate) enum Field<T> {
    /// The key is not there, or its value is `null`.
    Absent,
    /// The value has the wrong type; the problem is recorded.
    Invalid,
    /// The value.
    Present(T),
}

/// One problem, before it is placed in the text.
struct Finding {
    path: FieldPath,
    target: Target,
    message: String,
}

/// Reads one document and records what is wrong with it.
pub(crate) struct Loader<'a> {
    text: &'a str,
    origin: Arc<str>,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(
        text: &'a str,
        origin: Arc<str>,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Self {
        Self {
            text,
            origin,
            env,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Where the document came from.
    pub(crate) fn origin(&self) -> Arc<str> {
        Arc::clone(&self.origin)
    }

    /// How many errors are recorded so far.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// The line and column of the value at `path` in the text, if it has one.
    pub(crate) fn position(&self, path: &FieldPath) -> Option<(usize, usize)> {
        locate(self.text, path.segments(), Target::Value)
    }

    /// Records an error about the value at `path`.
    pub(crate) fn error(&mut self, path: FieldPath, message: impl Into<String>) {
        self.errors.push(Finding {
            path,
            target: Target::Value,
            message: message.into(),
        });
    }

    /// Records an error about the key at the end of `path`.
    pub(crate) fn key_error(&mut self, path: FieldPath, message: impl Into<String>) {
        self.errors.push(Finding {
            path,
            target: Target::Key,
            message: message.into(),
        });
    }

    /// The mapping at `at`: `None` when it is `null` (the section is left
    /// out), and `None` with an error saying what was `expected` when it is
    /// not a mapping.
    pub(crate) fn mapping<'v>(
        &mut self,
        value: &'v Value,
        at: &FieldPath,
        expected: &str,
    ) -> Option<&'v Mapping> {
        match value {
            Value::Null => None,
            Value::Mapping(map) => Some(map),
            _ => {
                self.error(at.clone(), expected);
                None
            }
        }
    }

    /// Checks a mapping's keys: a planned key is an error, an unknown one a
    /// warning.
    pub(crate) fn check_keys(&mut self, map: &Mapping, at: &FieldPath, keys: &Keys) {
        for key in map.keys() {
            let name = key_name(key);
            if keys.known.contains(&name.as_str()) {
                continue;
            }
            let message = if keys.planned.contains(&name.as_str()) {
                format!("`{name}` is not supported yet")
            } else {
                let message = format!("unknown key `{name}` is ignored");
                self.warnings.push(Finding {
                    path: at.key(name),
                    target: Target::Key,
                    message,
                });
                continue;
            };
            self.key_error(at.key(name), message);
        }
    }

    /// Reads `value`, the value at `at`, as a `T`.
    pub(crate) fn value<T: DeserializeOwned>(
        &mut self,
        value: &Value,
        at: &FieldPath,
    ) -> Option<T> {
        match serde_path_to_error::deserialize(value) {
            Ok(value) => Some(value),
            Err(error) => {
                let path = at.join_serde(error.path());
                self.error(path, error.into_inner().to_string());
                None
            }
        }
    }

    /// Reads the field `key` of `map`, the mapping at `at`.
    pub(crate) fn field<T: DeserializeOwned>(
        &mut self,
        map: &Mapping,
        key: &str,
        at: &FieldPath,
    ) -> Field<T> {
        match map.get(key) {
            None | Some(Value::Null) => Field::Absent,
            Some(value) => match self.value(value, &at.key(key)) {
                Some(value) => Field::Present(value),
                None => Field::Invalid,
            },
        }
    }

    /// Reads the field `key` of `map` as non-empty text, recording an error
    /// that says what was `expected` when it is absent or empty.
    pub(crate) fn required_text(
        &mut self,
        map: &Mapping,
        key: &str,
        at: &FieldPath,
        expected: &str,
    ) -> Option<String> {
        match self.field::<String>(map, key, at) {
            Field::Present(text) if !text.trim().is_empty() => Some(text),
            Field::Present(_) => {
                self.error(
                    at.key(key),
                    format!("`{key}` is empty: expected {expected}"),
                );
                None
            }
            Field::Absent => {
                self.missing(map, key, at, expected);
                None
            }
            Field::Invalid => None,
        }
    }

    /// Records that the field `key` of `map` is required.
    pub(crate) fn missing(&mut self, map: &Mapping, key: &str, at: &FieldPath, expected: &str) {
        let message = format!("`{key}` is required: expected {expected}");
        if map.contains_key(key) {
            self.error(at.key(key), message);
        } else {
            self.error(at.clone(), message);
        }
    }

    /// `text`, or the environment variable it names when it is exactly
    /// `$NAME` or `${NAME}`; `None` (with the problem recorded) when that
    /// variable is not set or empty.
    pub(crate) fn resolve_env(&mut self, text: String, at: &FieldPath) -> Option<String> {
        let Some(name) = crate::env::variable_name(&text) else {
            return Some(text);
        };
        match (self.env)(name) {
            Some(value) if !value.is_empty() => Some(value),
            Some(_) => {
                self.error(
                    at.clone(),
                    format!("environment variable `{name}` is empty"),
                );
                None
            }
            None => {
                self.error(
                    at.clone(),
                    format!("environment variable `{name}` is not set"),
                );
                None
            }
        }
    }

    /// Replaces every `$NAME` or `${NAME}` string in `value`, at any depth,
    /// with the environment variable it names.
    pub(crate) fn resolve_env_in_json(&mut self, value: &mut serde_json::Value, at: &FieldPath) {
        match value {
            serde_json::Value::String(text) => {
                if let Some(resolved) = self.resolve_env(std::mem::take(text), at) {
                    *text = resolved;
                }
            }
            serde_json::Value::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    self.resolve_env_in_json(item, &at.index(index));
                }
            }
            serde_json::Value::Object(map) => self.resolve_env_in_map(map, at),
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {
            }
        }
    }

    /// [`resolve_env_in_json`](Self::resolve_env_in_json) for each value of `map`.
    pub(crate) fn resolve_env_in_map(
        &mut self,
        map: &mut serde_json::Map<String, serde_json::Value>,
        at: &FieldPath,
    ) {
        for (key, item) in map.iter_mut() {
            self.resolve_env_in_json(item, &at.key(key.as_str()));
        }
    }

    /// The errors and warnings, placed in the text and in document order.
    pub(crate) fn finish(self) -> (Vec<ConfigError>, Vec<ConfigWarning>) {
        let Self {
            text,
            origin,
            errors,
            warnings,
            ..
        } = self;
        let place = |finding: Finding| {
            let location = locate(text, finding.path.segments(), finding.target);
            let path = (!finding.path.is_root()).then(|| finding.path.to_string());
            (location, path, finding.message)
        };
        let mut errors: Vec<ConfigError> = errors
            .into_iter()
            .map(place)
            .map(|(location, path, message)| {
                ConfigError::new(Arc::clone(&origin), location, path, message)
            })
            .collect();
        let mut warnings: Vec<ConfigWarning> = warnings
            .into_iter()
            .map(place)
            .map(|(location, path, message)| {
                ConfigWarning::new(Arc::clone(&origin), location, path, message)
            })
            .collect();
        errors.sort_by_key(|error| document_order(error.line(), error.column()));
        warnings.sort_by_key(|warning| document_order(warning.line(), warning.column()));
        (errors, warnings)
    }
}

/// A sort key that puts placed problems first, in the order of the text.
fn document_order(line: Option<usize>, column: Option<usize>) -> (bool, usize, usize) {
    (line.is_none(), line.unwrap_or(0), column.unwrap_or(0))
}

/// A mapping key as text.
fn key_name(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::Null => "null".to_owned(),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => "<complex key>".to_owned(),
    }
}
