//! Every template and its versions, compiled once.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    fmt,
    sync::Arc,
};

use http::HeaderValue;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use towergate_core::PromptChoice;

use crate::{
    error::LibraryError,
    listing::{PromptInfo, VersionInfo},
    spec::{MessageSpec, PromptSpec, VersionSpec},
};

/// How many template instructions one message may run by default.
///
/// Ordinary prompts run a few dozen; loops over caller data a few thousand.
pub const DEFAULT_FUEL: u64 = 50_000;

/// Every template and its versions, compiled once, cheap to clone.
///
/// All templates share one minijinja environment: strict about undefined
/// values, with a fuel limit per message, no auto-escaping and no loader,
/// so template code reaches no file and no network. A library does not
/// change once built; on a config reload, build a new one (and the layers
/// that use it).
///
/// ```
/// use towergate_template::{PromptLibrary, PromptSpec};
///
/// let spec: PromptSpec = serde_json::from_value(serde_json::json!({
///     "name": "greet",
///     "versions": [
///         {"version": 1, "messages": [{"role": "system", "content": "Greet {{ name }}."}]},
///         {"version": 2, "messages": [{"role": "system", "content": "Greet {{ name }} in {{ lang }}."}]}
///     ]
/// })).unwrap();
/// let library = PromptLibrary::new([spec]).unwrap();
/// let greet = library.get("greet").unwrap();
/// assert_eq!(greet.latest().version(), 2);
/// assert_eq!(greet.latest().variables(), ["lang", "name"]);
/// ```
#[derive(Clone)]
pub struct PromptLibrary {
    inner: Arc<Library>,
}

struct Library {
    prompts: BTreeMap<Arc<str>, PromptTemplate>,
    fuel: u64,
}

impl Default for PromptLibrary {
    fn default() -> Self {
        Self::empty()
    }
}

impl PromptLibrary {
    /// A library with no template.
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(Library {
                prompts: BTreeMap::new(),
                fuel: DEFAULT_FUEL,
            }),
        }
    }

    /// Compiles `specs`, each message allowed [`DEFAULT_FUEL`] instructions.
    pub fn new(specs: impl IntoIterator<Item = PromptSpec>) -> Result<Self, LibraryError> {
        Self::with_fuel(specs, DEFAULT_FUEL)
    }

    /// Compiles `specs`, each message allowed `fuel` instructions per render.
    pub fn with_fuel(
        specs: impl IntoIterator<Item = PromptSpec>,
        fuel: u64,
    ) -> Result<Self, LibraryError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(fuel));
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(true);
        // Debug info looks variables up again after an error, which would
        // blur which one was missing, and copies values into errors.
        env.set_debug(false);
        let globals: HashSet<String> = env.globals().map(|(name, _)| name.to_owned()).collect();

        let mut drafts: Vec<(Arc<str>, Vec<DraftVersion>)> = Vec::new();
        let mut names = HashSet::new();
        for spec in specs {
            check_name(&spec.name)?;
            if !names.insert(spec.name.clone()) {
                return Err(LibraryError::DuplicatePrompt { name: spec.name });
            }
            if spec.versions.is_empty() {
                return Err(LibraryError::NoVersions { name: spec.name });
            }
            let mut versions = Vec::with_capacity(spec.versions.len());
            let mut seen = HashSet::new();
            for version in spec.versions {
                if !seen.insert(version.version) {
                    return Err(LibraryError::DuplicateVersion {
                        name: spec.name,
                        version: version.version,
                    });
                }
                versions.push(compile(&mut env, &globals, &spec.name, version)?);
            }
            drafts.push((Arc::from(spec.name), versions));
        }

        let env = Arc::new(env);
        let mut prompts = BTreeMap::new();
        for (name, versions) in drafts {
            let mut by_number = BTreeMap::new();
            for draft in versions {
                let choice = PromptChoice::new(Arc::clone(&name), draft.version);
                let header = HeaderValue::from_str(&choice.to_string()).map_err(|_| {
                    LibraryError::InvalidName {
                        name: name.to_string(),
                    }
                })?;
                let version = TemplateVersion {
                    inner: Arc::new(VersionInner {
                        choice,
                        header,
                        messages: draft.messages,
                        variables: draft.variables,
                        env: Arc::clone(&env),
                    }),
                };
                by_number.insert(draft.version, version);
            }
            let Some(latest) = by_number.values().next_back().cloned() else {
                return Err(LibraryError::NoVersions {
                    name: name.to_string(),
                });
            };
            let template = PromptTemplate {
                name: Arc::clone(&name),
                versions: by_number,
                latest,
            };
            prompts.insert(name, template);
        }
        Ok(Self {
            inner: Arc::new(Library { prompts, fuel }),
        })
    }

    /// The template named `name`.
    pub fn get(&self, name: &str) -> Option<&PromptTemplate> {
        self.inner.prompts.get(name)
    }

    /// Every template, by name.
    pub fn iter(&self) -> impl Iterator<Item = &PromptTemplate> {
        self.inner.prompts.values()
    }

    /// How many templates the library holds.
    pub fn len(&self) -> usize {
        self.inner.prompts.len()
    }

    /// Whether the library holds no template.
    pub fn is_empty(&self) -> bool {
        self.inner.prompts.is_empty()
    }

    /// How many instructions one message may run per render.
    pub fn fuel(&self) -> u64 {
        self.inner.fuel
    }

    /// Every template, its versions, their messages and variables, by name:
    /// what `GET /api/2.0/prompts/` lists.
    pub fn listing(&self) -> Vec<PromptInfo> {
        self.iter().map(PromptTemplate::info).collect()
    }
}

impl fmt::Debug for PromptLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptLibrary")
            .field("prompts", &self.inner.prompts)
            .field("fuel", &self.inner.fuel)
            .finish()
    }
}

/// A compiled version before it is tied to the shared environment.
struct DraftVersion {
    version: u32,
    messages: Vec<CompiledMessage>,
    variables: Arc<[String]>,
}

/// One message of a version: its source, and its name in the environment.
#[derive(Debug)]
pub(crate) struct CompiledMessage {
    pub(crate) spec: MessageSpec,
    pub(crate) template: String,
}

fn check_name(name: &str) -> Result<(), LibraryError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if name.is_empty() || !name.chars().all(allowed) {
        return Err(LibraryError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Adds each message of `spec` to `env` and finds the variables they use.
fn compile(
    env: &mut Environment<'static>,
    globals: &HashSet<String>,
    name: &str,
    spec: VersionSpec,
) -> Result<DraftVersion, LibraryError> {
    let version = spec.version;
    if spec.messages.is_empty() {
        return Err(LibraryError::NoMessages {
            name: name.to_owned(),
            version,
        });
    }
    let mut variables = BTreeSet::new();
    let mut messages = Vec::with_capacity(spec.messages.len());
    for (index, message) in spec.messages.into_iter().enumerate() {
        let template = format!("{name}@{version}[{index}]");
        let syntax = |error: minijinja::Error| LibraryError::Syntax {
            name: name.to_owned(),
            version,
            message: index,
            line: error.line(),
            detail: match error.detail() {
                Some(detail) => format!("{}: {detail}", error.kind()),
                None => error.kind().to_string(),
            },
        };
        env.add_template_owned(template.clone(), message.content.clone())
            .map_err(syntax)?;
        let compiled = env.get_template(&template).map_err(syntax)?;
        variables.extend(
            compiled
                .undeclared_variables(false)
                .into_iter()
                .filter(|variable| !globals.contains(variable)),
        );
        messages.push(CompiledMessage {
            spec: message,
            template,
        });
    }
    Ok(DraftVersion {
        version,
        messages,
        variables: variables.into_iter().collect(),
    })
}

/// A template: its name and versions.
#[derive(Clone)]
pub struct PromptTemplate {
    name: Arc<str>,
    versions: BTreeMap<u32, TemplateVersion>,
    latest: TemplateVersion,
}

impl PromptTemplate {
    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version with the highest number.
    pub fn latest(&self) -> &TemplateVersion {
        &self.latest
    }

    /// Version `version`, if the template has it.
    pub fn version(&self, version: u32) -> Option<&TemplateVersion> {
        self.versions.get(&version)
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &TemplateVersion> {
        self.versions.values()
    }

    /// The version numbers, ascending.
    pub fn version_numbers(&self) -> Vec<u32> {
        self.versions.keys().copied().collect()
    }

    /// The template as `GET /api/2.0/prompts/{name}` shows it.
    pub fn info(&self) -> PromptInfo {
        PromptInfo {
            name: self.name.to_string(),
            latest_version: self.latest.version(),
            versions: self.versions().map(TemplateVersion::info).collect(),
        }
    }
}

impl fmt::Debug for PromptTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptTemplate")
            .field("name", &self.name)
            .field("versions", &self.versions.values().collect::<Vec<_>>())
            .finish()
    }
}

/// One version of a template, compiled; cheap to clone.
///
/// [`render`](Self::render) turns it and a caller's variables into chat
/// messages.
#[derive(Clone)]
pub struct TemplateVersion {
    pub(crate) inner: Arc<VersionInner>,
}

pub(crate) struct VersionInner {
    pub(crate) choice: PromptChoice,
    pub(crate) header: HeaderValue,
    pub(crate) messages: Vec<CompiledMessage>,
    /// Sorted, globals left out.
    pub(crate) variables: Arc<[String]>,
    pub(crate) env: Arc<Environment<'static>>,
}

impl TemplateVersion {
    /// The template's name.
    pub fn name(&self) -> &str {
        &self.inner.choice.name
    }

    /// The version number.
    pub fn version(&self) -> u32 {
        self.inner.choice.version
    }

    /// The template and version, as the request extension names it.
    pub fn choice(&self) -> &PromptChoice {
        &self.inner.choice
    }

    /// `name@version`, as the `x-towergate-prompt` header carries it.
    pub fn header_value(&self) -> &HeaderValue {
        &self.inner.header
    }

    /// The messages as written, in order.
    pub fn messages(&self) -> impl Iterator<Item = &MessageSpec> {
        self.inner.messages.iter().map(|message| &message.spec)
    }

    /// The variables the messages use, sorted: those the template reads
    /// from the caller, its own `set` and loop names left out.
    pub fn variables(&self) -> &[String] {
        &self.inner.variables
    }

    /// The version as the admin listing shows it.
    pub fn info(&self) -> VersionInfo {
        VersionInfo {
            version: self.version(),
            messages: self.messages().cloned().collect(),
            variables: self.variables().to_vec(),
        }
    }
}

impl fmt::Debug for TemplateVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateVersion")
            .field("choice", &self.inner.choice)
            .field("messages", &self.inner.messages)
            .field("variables", &self.inner.variables)
            .finish()
    }
}
