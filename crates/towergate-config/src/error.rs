//! Problems found in a config file, each naming the file, line, column and field.

use std::{fmt, sync::Arc};

/// Where a problem is: the file, the line and column when known, the field
/// path when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    origin: Arc<str>,
    location: Option<(usize, usize)>,
    path: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some((line, column)) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(path) = &self.path {
            write!(f, ": {path}")?;
        }
        Ok(())
    }
}

/// A problem that stops a config file from loading.
///
/// Its `Display` is `FILE:LINE:COLUMN: FIELD.PATH: what is wrong and what was
/// expected`; the line and column are left out when the problem has no
/// place in the text, the field path when it concerns the whole file.
///
/// ```
/// use towergate_config::Config;
///
/// let yaml = "endpoints:\n  - name: chat\n    endpoint_type: llm/v1/chat\n    model: {provider: openai, name: gpt-4o-mini}\n    timeout: 30s\n";
/// let error = Config::from_str_with_env(yaml, "gateway.yaml", |_| None).unwrap_err();
/// assert_eq!(error.to_string(), "gateway.yaml:5:5: endpoints[0].timeout: `timeout` is not supported yet");
/// assert_eq!(error.line(), Some(5));
/// assert_eq!(error.path(), Some("endpoints[0].timeout"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    place: Place,
    message: String,
}

/// Something in a config file that loads but is probably a mistake, such as
/// an unknown key. Displayed like [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    place: Place,
    message: String,
}

macro_rules! diagnostic_accessors {
    ($type:ident) => {
        impl $type {
            pub(crate) fn new(
                origin: Arc<str>,
                location: Option<(usize, usize)>,
                path: Option<String>,
                message: impl Into<String>,
            ) -> Self {
                Self {
                    place: Place {
                        origin,
                        location,
                        path,
                    },
                    message: message.into(),
                }
            }

            /// The file (or other origin) the config came from.
            pub fn origin(&self) -> &str {
                &self.place.origin
            }

            /// The 1-based line, when the problem has a place in the text.
            pub fn line(&self) -> Option<usize> {
                self.place.location.map(|(line, _)| line)
            }

            /// The 1-based column, when the problem has a place in the text.
            pub fn column(&self) -> Option<usize> {
                self.place.location.map(|(_, column)| column)
            }

            /// The field path, such as `endpoints[0].model.name`, when there is one.
            pub fn path(&self) -> Option<&str> {
                self.place.path.as_deref()
            }

            /// What is wrong and what was expected, without the place.
            pub fn message(&self) -> &str {
                &self.message
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}: {}", self.place, self.message)
            }
        }
    };
}

diagnostic_accessors!(ConfigError);
diagnostic_accessors!(ConfigWarning);

impl ConfigError {
    /// A problem with the file as a whole (it cannot be read, say).
    pub(crate) fn whole_file(origin: Arc<str>, message: impl Into<String>) -> Self {
        Self::new(origin, None, None, message)
    }
}

impl std::error::Error for ConfigError {}
