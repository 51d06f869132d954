//! Which version of a template an endpoint renders.

use std::{collections::BTreeMap, fmt, sync::Arc};

use serde::Deserialize;

/// The version of a template an endpoint renders: one pinned, the latest,
/// or a split between versions, chosen per request.
///
/// Deserializes from an endpoint's `prompt:` key in the config file:
/// `{name, version}` pins, `{name}` takes the latest, and
/// `{name, split: {1: 50, 2: 50}, sticky: true}` splits.
///
/// ```
/// use towergate_template::PromptSelection;
///
/// let pinned: PromptSelection = serde_json::from_str(r#"{"name": "summarize", "version": 2}"#).unwrap();
/// assert_eq!(pinned, PromptSelection::pinned("summarize", 2));
/// let latest: PromptSelection = serde_json::from_str(r#"{"name": "summarize"}"#).unwrap();
/// assert_eq!(latest, PromptSelection::latest("summarize"));
/// let split: PromptSelection =
///     serde_json::from_str(r#"{"name": "summarize", "split": {"1": 90, "2": 10}, "sticky": true}"#).unwrap();
/// assert_eq!(split, PromptSelection::split("summarize", [(1, 90), (2, 10)]).sticky(true));
///
/// let both = serde_json::from_str::<PromptSelection>(r#"{"name": "s", "version": 1, "split": {"1": 1}}"#);
/// assert!(both.unwrap_err().to_string().contains("not both"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SelectionSpec")]
pub struct PromptSelection {
    pub(crate) name: Arc<str>,
    pub(crate) versions: Versions,
    pub(crate) sticky: bool,
}

/// How the version is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Versions {
    Pinned(u32),
    Latest,
    /// `(version, weight)`, in the order given.
    Split(Vec<(u32, u32)>),
}

impl PromptSelection {
    /// Always version `version` of the template `name`.
    pub fn pinned(name: impl Into<Arc<str>>, version: u32) -> Self {
        Self::with(name, Versions::Pinned(version))
    }

    /// Always the latest version of the template `name` (the highest
    /// number when the library was built).
    pub fn latest(name: impl Into<Arc<str>>) -> Self {
        Self::with(name, Versions::Latest)
    }

    /// One version of the template `name` per request, each with a chance
    /// proportional to its weight: `[(1, 50), (2, 50)]` and `[(1, 1), (2, 1)]`
    /// both give each version half of the requests. A weight of 0 leaves a
    /// version out. The choice is a hash of the request id, so the same id
    /// always gets the same version.
    pub fn split(name: impl Into<Arc<str>>, weights: impl IntoIterator<Item = (u32, u32)>) -> Self {
        Self::with(name, Versions::Split(weights.into_iter().collect()))
    }

    fn with(name: impl Into<Arc<str>>, versions: Versions) -> Self {
        Self {
            name: name.into(),
            versions,
            sticky: false,
        }
    }

    /// Whether a split chooses per caller rather than per request: each
    /// caller (the [`Caller`](towergate_core::Caller) auth set) then
    /// always gets the same version as long as the weights stay the same,
    /// across requests, restarts and gateway instances. A request with no
    /// caller is chosen for by its id. No effect on a pinned or latest
    /// selection.
    pub fn sticky(mut self, sticky: bool) -> Self {
        self.sticky = sticky;
        self
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a split chooses per caller.
    pub fn is_sticky(&self) -> bool {
        self.sticky
    }
}

impl fmt::Display for PromptSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.versions {
            Versions::Pinned(version) => write!(f, "{}@{version}", self.name),
            Versions::Latest => write!(f, "{}@latest", self.name),
            Versions::Split(weights) => {
                write!(f, "{} split", self.name)?;
                for (index, (version, weight)) in weights.iter().enumerate() {
                    let sep = if index == 0 { " " } else { ", " };
                    write!(f, "{sep}{version}: {weight}")?;
                }
                if self.sticky {
                    f.write_str(" (sticky)")?;
                }
                Ok(())
            }
        }
    }
}

/// The `prompt:` key as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectionSpec {
    name: String,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    split: Option<BTreeMap<u32, u32>>,
    #[serde(default)]
    sticky: Option<bool>,
}

impl TryFrom<SelectionSpec> for PromptSelection {
    type Error = String;

    fn try_from(spec: SelectionSpec) -> Result<Self, Self::Error> {
        match (spec.version, spec.split, spec.sticky) {
            (Some(_), Some(_), _) => Err(format!(
                "prompt `{}`: give `version` or `split`, not both",
                spec.name
            )),
            (_, None, Some(_)) => Err(format!(
                "prompt `{}`: `sticky` applies only to a `split`",
                spec.name
            )),
            (Some(version), None, None) => Ok(Self::pinned(spec.name, version)),
            (None, None, None) => Ok(Self::latest(spec.name)),
            (None, Some(split), sticky) => {
                Ok(Self::split(spec.name, split).sticky(sticky.unwrap_or(false)))
            }
        }
    }
}
