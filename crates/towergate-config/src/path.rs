//! Field paths such as `endpoints[0].model.config.openai_api_key`.

use std::fmt;

/// One step into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A mapping's key.
    Key(String),
    /// A sequence's index.
    Index(usize),
}

/// Where a value sits in the document, from the top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The document itself.
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// This path, then the mapping key `key`.
    pub(crate) fn key(&self, key: impl Into<String>) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.into()));
        path
    }

    /// This path, then the sequence index `index`.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// This path, then the steps serde took inside the value at it.
    pub(crate) fn join_serde(&self, inner: &serde_path_to_error::Path) -> Self {
        let mut path = self.clone();
        for segment in inner {
            match segment {
                serde_path_to_error::Segment::Seq { index } => path.0.push(Segment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => path.0.push(Segment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        path
    }

    /// Parses a path as [`Display`](fmt::Display) writes it:
    /// `endpoints[0].model.config.openai_api_key`.
    pub(crate) fn parse(text: &str) -> Self {
        let mut path = Self::root();
        for part in text.split('.').filter(|part| !part.is_empty()) {
            let mut pieces = part.split('[');
            if let Some(key) = pieces.next().filter(|key| !key.is_empty()) {
                path.0.push(Segment::Key(key.to_owned()));
            }
            for index in pieces {
                match index.trim_end_matches(']').parse() {
                    Ok(index) => path.0.push(Segment::Index(index)),
                    Err(_) => path.0.push(Segment::Key(format!("[{index}"))),
                }
            }
        }
        path
    }

    /// The steps from the top.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The last step, when it is a mapping key.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// Whether this is the document itself.
    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_keys_and_indices() {
        let path = FieldPath::root()
            .key("endpoints")
            .index(0)
            .key("model")
            .key("config")
            .key("openai_api_key");
        assert_eq!(path.to_string(), "endpoints[0].model.config.openai_api_key");
        assert_eq!(FieldPath::root().to_string(), "");
    }
}
