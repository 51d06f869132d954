//! Finding the line and column of a field in the YAML text.
//!
//! `serde_yaml_ng::Value` keeps no positions, but the event deserializer
//! stamps any error raised while a node is being visited with that node's
//! position. To locate a path, the text is deserialized once more by a seed
//! that walks down the path and raises a marker error at the node it is
//! looking for; the position on that error is the answer. This runs only
//! when there is something to report.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::path::Segment;

/// The message of the marker error: never shown to anyone.
const FOUND: &str = "\u{0}towergate-config: located\u{0}";

/// Which part of a mapping entry to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The value at the path.
    Value,
    /// The key of the last step, when that step is a mapping key.
    Key,
}

/// The 1-based line and column of the node at `path` in `text`, if it is
/// there (a value brought in by a merge key `<<` is not).
pub(crate) fn locate(text: &str, path: &[Segment], target: Target) -> Option<(usize, usize)> {
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let error = match (Seek { path, target }).deserialize(deserializer) {
        Ok(()) => return None,
        Err(error) => error,
    };
    if !error.to_string().contains(FOUND) {
        return None;
    }
    error
        .location()
        .map(|location| (location.line(), location.column()))
}

/// Walks `path` down the document and fails at its end.
struct Seek<'p> {
    path: &'p [Segment],
    target: Target,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Seek<'_> {
    /// Fails with the marker when the path is walked, else succeeds: a
    /// scalar cannot be walked into.
    fn arrive<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

macro_rules! arrive_on {
    ($($method:ident($($ty:ty)?)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self $(, _: $ty)?) -> Result<(), E> {
                self.arrive()
            }
        )*
    };
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any YAML node")
    }

    arrive_on!(
        visit_bool(bool),
        visit_i64(i64),
        visit_i128(i128),
        visit_u64(u64),
        visit_u128(u128),
        visit_f64(f64),
        visit_str(&str),
        visit_bytes(&[u8]),
        visit_unit(),
        visit_none(),
    );

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Segment::Index(wanted), rest)) = self.path.split_first() else {
            return self.arrive();
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek {
            path: rest,
            target: self.target,
        })?;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Segment::Key(wanted), rest)) = self.path.split_first() else {
            return self.arrive();
        };
        let fail_on_key = rest.is_empty() && self.target == Target::Key;
        while let Some(found) = map.next_key_seed(KeySeek {
            wanted,
            fail_on_key,
        })? {
            if found {
                return map.next_value_seed(Seek {
                    path: rest,
                    target: self.target,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// Reads a mapping key: whether it is the wanted one, failing on it if
/// the key itself is the target.
struct KeySeek<'w> {
    wanted: &'w str,
    fail_on_key: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeek<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeek<'_> {
    type Value = bool;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        match (key == self.wanted, self.fail_on_key) {
            (true, true) => Err(E::custom(FOUND)),
            (found, _) => Ok(found),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::FieldPath;

    const TEXT: &str = "\
endpoints:
  - name: chat
    model:
      config:
        openai_api_key: $OPENAI_API_KEY
  - name: embed
    limit: {calls: 1}
server:
  port: 5000
";

    fn at(path: &FieldPath, target: Target) -> Option<(usize, usize)> {
        locate(TEXT, path.segments(), target)
    }

    #[test]
    fn finds_values_and_keys() {
        let endpoints = FieldPath::root().key("endpoints");
        let key = endpoints
            .index(0)
            .key("model")
            .key("config")
            .key("openai_api_key");
        assert_eq!(at(&key, Target::Value), Some((5, 25)));
        assert_eq!(at(&key, Target::Key), Some((5, 9)));
        assert_eq!(
            at(&endpoints.index(1).key("name"), Target::Value),
            Some((6, 11))
        );
        assert_eq!(
            at(&endpoints.index(1).key("limit"), Target::Key),
            Some((7, 5))
        );
        assert_eq!(at(&endpoints.index(1), Target::Value), Some((6, 5)));
        assert_eq!(
            at(&FieldPath::root().key("server").key("port"), Target::Value),
            Some((9, 9))
        );
    }

    #[test]
    fn absent_paths_have_no_place() {
        let endpoints = FieldPath::root().key("endpoints");
        assert_eq!(at(&endpoints.index(2), Target::Value), None);
        assert_eq!(at(&FieldPath::root().key("auth"), Target::Value), None);
        assert_eq!(
            at(&endpoints.index(0).key("name").key("deeper"), Target::Value),
            None
        );
        let b = FieldPath::root().key("b");
        assert_eq!(locate("a: [", b.segments(), Target::Value), None);
    }
}
