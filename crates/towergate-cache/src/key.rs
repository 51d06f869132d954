//! [`CacheKey`]: what makes two requests the same question.

use std::{fmt, io, mem};

use serde::Serialize;
use towergate_core::{
    Operation,
    chat::{ChatRequest, ContentPart, MessageContent, Role, StreamOptions},
    completion::{CompletionRequest, Prompt},
    embeddings::EmbeddingsRequest,
};

/// Bumped when what goes into a key changes, so that old entries in a
/// shared store are never read as answers to new keys.
const KEY_VERSION: &[u8] = b"towergate-cache/1\0";

/// A 256-bit BLAKE3 hash of an endpoint name and a canonical request.
///
/// The request is hashed as its typed value, so field order and whitespace
/// in the caller's JSON do not matter. `model` (the endpoint, hashed apart),
/// `user`, `stream` and `stream_options` are left out; every other field,
/// sampling parameters, tools and fields towergate does not model included,
/// is part of the key.
///
/// ```
/// use towergate_cache::CacheKey;
/// use towergate_core::{Operation, chat::ChatRequest};
///
/// let chat = |json: &str| Operation::Chat(serde_json::from_str::<ChatRequest>(json).unwrap());
/// let mut a = chat(r#"{"messages":[{"role":"user","content":"Hi"}],"temperature":0,"user":"ann"}"#);
/// let mut b = chat(r#"{ "temperature": 0, "stream": true, "messages": [{"content": "Hi", "role": "user"}] }"#);
/// let mut c = chat(r#"{"messages":[{"role":"user","content":"Hi"}],"temperature":1}"#);
/// assert_eq!(CacheKey::of("chat", &mut a), CacheKey::of("chat", &mut b));
/// assert_ne!(CacheKey::of("chat", &mut a), CacheKey::of("chat", &mut c));
/// assert_ne!(CacheKey::of("chat", &mut a), CacheKey::of("other", &mut b));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `operation` on `endpoint`; `None` for an operation no
    /// cache answers (a listing).
    ///
    /// Takes the operation mutably only to leave the ignored fields out
    /// while hashing, with no copy; it is unchanged on return.
    pub fn of(endpoint: &str, operation: &mut Operation) -> Option<CacheKey> {
        let mut hasher = keyed_hasher(endpoint);
        match operation {
            Operation::Chat(chat) => {
                hasher.update(b"chat\0");
                without_ignored(chat, |chat| write_json(&mut hasher, chat))?;
            }
            Operation::Completion(completion) => {
                hasher.update(b"completion\0");
                without_ignored(completion, |completion| write_json(&mut hasher, completion))?;
            }
            Operation::Embeddings(embeddings) => {
                hasher.update(b"embeddings\0");
                without_ignored(embeddings, |embeddings| write_json(&mut hasher, embeddings))?;
            }
            Operation::ListEndpoints => return None,
        }
        Some(CacheKey(*hasher.finalize().as_bytes()))
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key from its 32 bytes, as [`as_bytes`](Self::as_bytes) gave them.
    pub fn from_bytes(bytes: [u8; 32]) -> CacheKey {
        CacheKey(bytes)
    }

    /// The key in lower-case hex, as the Redis store names entries.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", &self.to_hex()[..16])
    }
}

/// The group of cached prompts a semantic lookup searches: the endpoint
/// and everything about the request but the text that is embedded (for a
/// chat, the last user message; for a completion, the prompt).
///
/// Two chats share a partition when they differ only in how their last
/// user message is worded: same system prompt, same earlier turns, same
/// parameters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey([u8; 32]);

impl PartitionKey {
    /// The partition of `operation` on `endpoint`, and the text a semantic
    /// cache embeds; `None` for operations a semantic cache does not
    /// answer (embeddings, listings, a chat with no user text last, or
    /// whose last user message holds an image, audio or a file).
    pub fn of(endpoint: &str, operation: &mut Operation) -> Option<(PartitionKey, String)> {
        let mut hasher = keyed_hasher(endpoint);
        hasher.update(b"partition\0");
        let text = match operation {
            Operation::Chat(chat) => {
                let last = chat.messages.iter().rposition(|m| m.role == Role::User)?;
                // Two questions about different images read alike: only
                // text is compared by meaning.
                if let Some(MessageContent::Parts(parts)) = &chat.messages[last].content
                    && parts
                        .iter()
                        .any(|part| !matches!(part, ContentPart::Text { .. }))
                {
                    return None;
                }
                let text = chat.messages[last].text_content()?;
                if text.trim().is_empty() {
                    return None;
                }
                hasher.update(b"chat\0");
                let content = chat.messages[last].content.take();
                hasher.update(&(last as u64).to_le_bytes());
                let hashed = without_ignored(chat, |chat| write_json(&mut hasher, chat));
                chat.messages[last].content = content;
                hashed?;
                text
            }
            Operation::Completion(completion) => {
                let text = match &completion.prompt {
                    Prompt::Text(text) => text.clone(),
                    _ => return None,
                };
                hasher.update(b"completion\0");
                let prompt = std::mem::replace(&mut completion.prompt, Prompt::Text(String::new()));
                let hashed =
                    without_ignored(completion, |completion| write_json(&mut hasher, completion));
                completion.prompt = prompt;
                hashed?;
                text
            }
            Operation::Embeddings(_) | Operation::ListEndpoints => return None,
        };
        Some((PartitionKey(*hasher.finalize().as_bytes()), text))
    }

    /// The partition's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The partition in lower-case hex, as the Redis store names its lists.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl fmt::Debug for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartitionKey({})", &self.to_hex()[..16])
    }
}

/// A hasher that starts with the key version and the endpoint's name.
fn keyed_hasher(endpoint: &str) -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new();
    hasher.update(KEY_VERSION);
    hasher.update(&(endpoint.len() as u64).to_le_bytes());
    hasher.update(endpoint.as_bytes());
    hasher
}

/// The fields of a request that are not part of its key.
#[derive(Default)]
struct Ignored {
    model: Option<String>,
    user: Option<String>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
}

/// A request whose ignored fields can be set aside while it is hashed.
trait HasIgnored: Serialize {
    /// Swaps the request's ignored fields with `ignored`'s.
    fn swap_ignored(&mut self, ignored: &mut Ignored);
}

/// Chats and completions set aside the same four fields.
macro_rules! ignores_model_user_and_stream {
    ($($request:ty),+) => {$(
        impl HasIgnored for $request {
            fn swap_ignored(&mut self, ignored: &mut Ignored) {
                mem::swap(&mut self.model, &mut ignored.model);
                mem::swap(&mut self.user, &mut ignored.user);
                mem::swap(&mut self.stream, &mut ignored.stream);
                mem::swap(&mut self.stream_options, &mut ignored.stream_options);
            }
        }
    )+};
}

ignores_model_user_and_stream!(ChatRequest, CompletionRequest);

impl HasIgnored for EmbeddingsRequest {
    fn swap_ignored(&mut self, ignored: &mut Ignored) {
        mem::swap(&mut self.model, &mut ignored.model);
        mem::swap(&mut self.user, &mut ignored.user);
    }
}

/// Runs `hash` on `request` with its ignored fields (`model`, `user`,
/// `stream`, `stream_options`) taken out, and puts them back.
fn without_ignored<T: HasIgnored, R>(request: &mut T, hash: impl FnOnce(&T) -> R) -> R {
    let mut ignored = Ignored::default();
    request.swap_ignored(&mut ignored);
    let hashed = hash(request);
    request.swap_ignored(&mut ignored);
    hashed
}

/// Streams `value`'s JSON into the hasher, with no buffer in between.
///
/// Struct fields serialize in declaration order and JSON objects in key
/// order (serde_json's map is sorted), so equal values hash equal however
/// the caller ordered them. `None` when the value cannot be serialized:
/// such a request gets no key and is never cached.
fn write_json(hasher: &mut blake3::Hasher, value: &impl Serialize) -> Option<()> {
    struct Writer<'a>(&'a mut blake3::Hasher);
    impl io::Write for Writer<'_> {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Writer(hasher), value)
        .map_err(|error| tracing::warn!(%error, "a request could not be hashed for the cache"))
        .ok()
}

#[cfg(test)]
mod tests;
