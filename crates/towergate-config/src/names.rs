//! The names clients call: endpoints' and routes', one namespace.

use std::collections::BTreeMap;

use towergate_core::EndpointType;

use crate::{loader::Loader, path::FieldPath};

/// A name the file gives an endpoint or a route, kept even when the rest of
/// the entry has problems, so that references to it are not reported twice.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    /// The name.
    pub(crate) name: String,
    /// The entry that declares it, such as `endpoints[0]`.
    pub(crate) at: FieldPath,
    /// The task it serves, when that is known.
    pub(crate) endpoint_type: Option<EndpointType>,
}

/// Whether `name` matches `[a-zA-Z0-9_.-]+`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// Records an error for every name used twice among `declared` (endpoints
/// and routes together), at the later of the two in the file, naming the
/// earlier and its line.
pub(crate) fn check_unique<'a>(
    loader: &mut Loader<'_>,
    declared: impl IntoIterator<Item = &'a Declared>,
) {
    let mut first_use: BTreeMap<&str, &Declared> = BTreeMap::new();
    for entry in declared {
        let Some(&first) = first_use.get(entry.name.as_str()) else {
            first_use.insert(&entry.name, entry);
            continue;
        };
        let first_at = loader.position(&first.at.key("name"));
        let entry_at = loader.position(&entry.at.key("name"));
        // The one further down the file is the duplicate.
        let (earlier, later, earlier_at) = match (first_at, entry_at) {
            (Some(first_at), Some(entry_at)) if entry_at < first_at => {
                (entry, first, Some(entry_at))
            }
            _ => (first, entry, first_at),
        };
        let line = earlier_at
            .map(|(line, _)| format!(" (line {line})"))
            .unwrap_or_default();
        loader.error(
            later.at.key("name"),
            format!(
                "duplicate name `{}`: `{}`{line} has it already; names must be unique across endpoints and routes",
                entry.name, earlier.at
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_letters_digits_and_three_marks() {
        for valid in ["chat", "gpt-4o.mini_v2", "A-1", "..."] {
            assert!(is_valid_name(valid), "{valid}");
        }
        for invalid in ["", "my chat", "chat/v2", "chät", "chat?x"] {
            assert!(!is_valid_name(invalid), "{invalid}");
        }
    }
}
