//! Choosing the version for one request.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use towergate_core::GatewayRequest;

use crate::{PromptLibrary, PromptSelection, SelectionError, TemplateVersion, selection::Versions};

/// A selection resolved against its library.
#[derive(Debug)]
pub(crate) enum Picker {
    /// Always the same version.
    One(TemplateVersion),
    /// A weighted split.
    Split(Split),
}

/// The arms of a split, each with the end of its range of hash points.
#[derive(Debug)]
pub(crate) struct Split {
    name: String,
    sticky: bool,
    total: u64,
    /// `(end, version)`: points in `previous end..end` pick `version`.
    arms: Vec<(u64, TemplateVersion)>,
    /// The first arm with a weight, never needed while `total > 0`.
    fallback: TemplateVersion,
}

impl Picker {
    /// Resolves `selection` against `library`, checking its versions exist
    /// and its weights leave something to choose.
    pub(crate) fn new(
        library: &PromptLibrary,
        selection: &PromptSelection,
    ) -> Result<Self, SelectionError> {
        let name = selection.name();
        let template = library
            .get(name)
            .ok_or_else(|| SelectionError::UnknownPrompt {
                name: name.to_owned(),
            })?;
        let find = |version: u32| {
            template
                .version(version)
                .cloned()
                .ok_or_else(|| SelectionError::UnknownVersion {
                    name: name.to_owned(),
                    version,
                    known: template.version_numbers(),
                })
        };
        match &selection.versions {
            Versions::Pinned(version) => Ok(Picker::One(find(*version)?)),
            Versions::Latest => Ok(Picker::One(template.latest().clone())),
            Versions::Split(weights) => {
                let mut seen = HashSet::new();
                let mut total = 0u64;
                let mut arms = Vec::with_capacity(weights.len());
                let mut fallback = None;
                for &(version, weight) in weights {
                    if !seen.insert(version) {
                        return Err(SelectionError::DuplicateArm {
                            name: name.to_owned(),
                            version,
                        });
                    }
                    let found = find(version)?;
                    total += u64::from(weight);
                    if weight > 0 && fallback.is_none() {
                        fallback = Some(found.clone());
                    }
                    arms.push((total, found));
                }
                let Some(fallback) = fallback else {
                    return Err(SelectionError::NoWeight {
                        name: name.to_owned(),
                    });
                };
                Ok(Picker::Split(Split {
                    name: name.to_owned(),
                    sticky: selection.is_sticky(),
                    total,
                    arms,
                    fallback,
                }))
            }
        }
    }

    /// The version `request` is rendered with.
    pub(crate) fn pick(&self, request: &GatewayRequest) -> &TemplateVersion {
        match self {
            Picker::One(version) => version,
            Picker::Split(split) => split.pick(request),
        }
    }
}

impl Split {
    fn pick(&self, request: &GatewayRequest) -> &TemplateVersion {
        let point = self.point(request) % self.total;
        let index = self.arms.partition_point(|(end, _)| *end <= point);
        self.arms
            .get(index)
            .map_or(&self.fallback, |(_, version)| version)
    }

    /// A uniform, stable hash of what the choice depends on: the caller
    /// when sticky and known, else the request id; and the template name,
    /// so that two templates split a caller's traffic independently.
    fn point(&self, request: &GatewayRequest) -> u64 {
        let mut hash = Sha256::new();
        match request.caller().filter(|_| self.sticky) {
            Some(caller) => {
                hash.update(b"caller\0");
                hash.update(caller.name().as_bytes());
            }
            None => {
                hash.update(b"request\0");
                hash.update(request.request_id.as_str().as_bytes());
            }
        }
        hash.update(b"\0");
        hash.update(self.name.as_bytes());
        let digest = hash.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}
