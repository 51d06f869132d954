//! A configured API key: a name, a SHA-256 digest, and the endpoints it may use.

use std::{collections::BTreeSet, fmt, sync::Arc};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The endpoint list that grants every endpoint.
const ALL_ENDPOINTS: &str = "*";

/// A SHA-256 digest of a key.
pub(crate) type KeyDigest = [u8; 32];

/// The SHA-256 digest of `key`.
pub(crate) fn digest(key: &[u8]) -> KeyDigest {
    Sha256::digest(key).into()
}

/// Which endpoints a key may use.
#[derive(Clone, PartialEq, Eq)]
enum Allowed {
    /// Every endpoint (`["*"]`).
    All,
    /// Only these names.
    Only(BTreeSet<String>),
}

/// One configured API key.
///
/// Only the key's SHA-256 digest is kept, never the key; `Debug` shows the
/// name and the endpoints, never the digest.
///
/// ```
/// use towergate_guard::auth::ApiKey;
///
/// let key = ApiKey::from_plaintext("team-a", "s3cret", ["chat", "embed"]);
/// assert_eq!(key.name(), "team-a");
/// assert!(key.allows("chat"));
/// assert!(!key.allows("completions"));
/// assert!(!format!("{key:?}").contains("s3cret"));
///
/// let everything = ApiKey::from_sha256_hex(
///     "ops",
///     "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
///     ["*"],
/// )
/// .unwrap();
/// assert!(everything.allows("anything"));
/// ```
#[derive(Clone)]
pub struct ApiKey {
    name: Arc<str>,
    digest: KeyDigest,
    allowed: Allowed,
}

impl ApiKey {
    /// A key given as plaintext; only its SHA-256 digest is kept.
    ///
    /// `endpoints` names the endpoints the key may use; `"*"` among them
    /// grants every endpoint.
    pub fn from_plaintext<I>(name: impl Into<Arc<str>>, key: impl AsRef<[u8]>, endpoints: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            name: name.into(),
            digest: digest(key.as_ref()),
            allowed: Allowed::from_names(endpoints),
        }
    }

    /// A key given as the hex SHA-256 digest of the key (64 hex digits, any case).
    ///
    /// # Errors
    ///
    /// [`ApiKeyError`], naming the key's name, when `hex_digest` is not 64
    /// hexadecimal digits.
    pub fn from_sha256_hex<I>(
        name: impl Into<Arc<str>>,
        hex_digest: &str,
        endpoints: I,
    ) -> Result<Self, ApiKeyError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let name = name.into();
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(hex_digest.trim(), &mut digest).is_err() {
            return Err(ApiKeyError { name });
        }
        Ok(Self {
            name,
            digest,
            allowed: Allowed::from_names(endpoints),
        })
    }

    /// The key's configured name (what [`Caller`](towergate_core::Caller) carries).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this key may use `endpoint`.
    pub fn allows(&self, endpoint: &str) -> bool {
        match &self.allowed {
            Allowed::All => true,
            Allowed::Only(names) => names.contains(endpoint),
        }
    }

    /// Whether this key may use every endpoint (`["*"]`).
    pub fn allows_all(&self) -> bool {
        self.allowed == Allowed::All
    }

    /// Whether `presented` hashes to this key's digest, compared in constant time.
    pub(crate) fn matches(&self, presented: &KeyDigest) -> subtle::Choice {
        self.digest.ct_eq(presented)
    }

    pub(crate) fn shared_name(&self) -> Arc<str> {
        Arc::clone(&self.name)
    }
}

impl Allowed {
    fn from_names<I>(endpoints: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let names: BTreeSet<String> = endpoints.into_iter().map(Into::into).collect();
        if names.contains(ALL_ENDPOINTS) {
            Allowed::All
        } else {
            Allowed::Only(names)
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("ApiKey");
        debug.field("name", &self.name);
        match &self.allowed {
            Allowed::All => debug.field("endpoints", &[ALL_ENDPOINTS]),
            Allowed::Only(names) => debug.field("endpoints", names),
        };
        debug.finish_non_exhaustive()
    }
}

/// A key whose `key_sha256` is not a SHA-256 digest in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyError {
    name: Arc<str>,
}

impl ApiKeyError {
    /// The name of the key at fault.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ApiKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "API key `{}`: the SHA-256 digest must be 64 hexadecimal digits",
            self.name
        )
    }
}

impl std::error::Error for ApiKeyError {}
