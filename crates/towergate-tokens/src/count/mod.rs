//! Counting tokens the way a model's tokenizer does.
//!
//! A [`TokenCounter`] picks its tokenizer from the model name
//! ([`TokenCounter::for_model`]) and counts text, whole requests (with the
//! per-message overhead of OpenAI's chat format), streamed chunks and
//! answers.
//!
//! OpenAI models are counted exactly, with tiktoken's own vocabularies
//! (from [`tiktoken_rs`]): `o200k_base` for gpt-4o, gpt-4.1, gpt-4.5, gpt-5,
//! gpt-oss and the o-series; `cl100k_base` for gpt-4, gpt-3.5 and the
//! `text-embedding-*` models.
//!
//! Every other model (Claude, Gemini, Llama, Mistral, local models, names
//! towergate does not know) is **estimated** with `cl100k_base`
//! ([`Encoding::Cl100kEstimate`]). Their tokenizers are either not public
//! or not shipped with the gateway, and modern BPE tokenizers with
//! vocabularies of 32k to 260k entries land within roughly 10–20% of
//! cl100k's count on English text and code, which is closer than the usual
//! "four characters a token" rule on anything but plain English prose.
//! Check [`TokenCounter::is_exact`] before treating a count as what the
//! provider will bill; the provider's reported usage always wins.
//!
//! ```
//! use towergate_core::chat::{ChatMessage, ChatRequest, Role};
//! use towergate_tokens::{Encoding, TokenCounter};
//!
//! let counter = TokenCounter::for_model("gpt-4o-mini-2024-07-18");
//! assert_eq!(counter.encoding(), Encoding::O200kBase);
//! assert_eq!(counter.count_text("hello world"), 2);
//!
//! let chat = ChatRequest {
//!     messages: vec![ChatMessage::text(Role::User, "hello world")],
//!     ..ChatRequest::default()
//! };
//! // 3 per message + 1 for the role + 2 for the text + 3 to prime the reply.
//! assert_eq!(counter.count_chat(&chat), 9);
//!
//! assert!(!TokenCounter::for_model("claude-3-5-sonnet-latest").is_exact());
//! ```

mod answer;
pub(crate) mod model_name;
mod request;
mod segment;

use std::fmt;

use tiktoken_rs::CoreBPE;

use self::model_name::{bare, has_family_prefix};

/// The tokenizer a [`TokenCounter`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// OpenAI's `o200k_base`: exact for gpt-4o, gpt-4.1, gpt-4.5, gpt-5,
    /// gpt-oss and the o1, o3 and o4 models.
    O200kBase,
    /// OpenAI's `cl100k_base`: exact for gpt-4, gpt-3.5 and the
    /// `text-embedding-*` models.
    Cl100kBase,
    /// `cl100k_base` standing in for a tokenizer towergate does not have: an
    /// estimate, typically within 10–20% of the real count.
    Cl100kEstimate,
}

impl Encoding {
    /// tiktoken's name for the vocabulary used.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase | Encoding::Cl100kEstimate => "cl100k_base",
        }
    }

    /// Whether counts are the model's own, not an estimate.
    pub fn is_exact(self) -> bool {
        !matches!(self, Encoding::Cl100kEstimate)
    }

    fn bpe(self) -> &'static CoreBPE {
        match self {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase | Encoding::Cl100kEstimate => tiktoken_rs::cl100k_base_singleton(),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if !self.is_exact() {
            f.write_str(" (estimate)")?;
        }
        Ok(())
    }
}

/// Model families counted with `o200k_base`, by name prefix.
const O200K_FAMILIES: &[&str] = &[
    "gpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-5",
    "gpt-oss",
    "chatgpt-4o",
    "o1",
    "o3",
    "o4",
];

/// Model families counted with `cl100k_base`, by name prefix; checked after
/// [`O200K_FAMILIES`], so `gpt-4` here does not catch `gpt-4o`.
const CL100K_FAMILIES: &[&str] = &[
    "gpt-4",
    "gpt-3.5",
    "gpt-35",
    "text-embedding",
    "davinci-002",
    "babbage-002",
];

/// Counts tokens for one model's tokenizer.
///
/// Cheap to copy; the vocabularies are loaded once per process, on first
/// use or by [`TokenCounter::warm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenCounter {
    encoding: Encoding,
}

impl Default for TokenCounter {
    /// The estimating counter, for a model of unknown name.
    fn default() -> Self {
        Self::new(Encoding::Cl100kEstimate)
    }
}

impl TokenCounter {
    /// A counter with `encoding`.
    pub const fn new(encoding: Encoding) -> Self {
        Self { encoding }
    }

    /// The counter for `model`, an upstream model name such as `gpt-4o`,
    /// `gpt-4o-mini-2024-07-18`, `openai/gpt-4.1` or `claude-sonnet-4-0`.
    ///
    /// OpenAI models get their own tokenizer; any other name gets the
    /// estimate (see the [module docs](self)).
    ///
    /// ```
    /// use towergate_tokens::{Encoding, TokenCounter};
    /// assert_eq!(TokenCounter::for_model("gpt-4.1-nano").encoding(), Encoding::O200kBase);
    /// assert_eq!(TokenCounter::for_model("gpt-4-0613").encoding(), Encoding::Cl100kBase);
    /// assert_eq!(TokenCounter::for_model("llama3.2:3b").encoding(), Encoding::Cl100kEstimate);
    /// ```
    pub fn for_model(model: &str) -> Self {
        let name = bare(model);
        let is = |families: &[&str]| {
            families
                .iter()
                .any(|family| has_family_prefix(name, family))
        };
        let encoding = if is(O200K_FAMILIES) {
            Encoding::O200kBase
        } else if is(CL100K_FAMILIES) {
            Encoding::Cl100kBase
        } else {
            Encoding::Cl100kEstimate
        };
        Self::new(encoding)
    }

    /// Loads both vocabularies now, so the first request does not wait for
    /// them (a few hundred milliseconds each). Call it once at start-up.
    pub fn warm() {
        for encoding in [Encoding::O200kBase, Encoding::Cl100kBase] {
            encoding.bpe().count_ordinary("warm");
        }
    }

    /// The tokenizer used.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether counts are the model's own, not an estimate.
    pub fn is_exact(&self) -> bool {
        self.encoding.is_exact()
    }

    /// The tokens of `text`, taken as plain text: a special token's name
    /// such as `<|endoftext|>` in it is counted as the text it is, as the
    /// providers do with what callers send.
    ///
    /// Also the counter for streamed deltas: see
    /// [`count_chat_chunk`](Self::count_chat_chunk).
    pub fn count_text(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        segment::count_ordinary(self.encoding.bpe(), text) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_models_get_their_own_encoding() {
        let cases = [
            ("gpt-4o", Encoding::O200kBase),
            ("gpt-4o-mini-2024-07-18", Encoding::O200kBase),
            ("chatgpt-4o-latest", Encoding::O200kBase),
            ("gpt-4.1-mini", Encoding::O200kBase),
            ("gpt-5", Encoding::O200kBase),
            ("gpt-5.1-codex", Encoding::O200kBase),
            ("o1-preview", Encoding::O200kBase),
            ("o3-mini", Encoding::O200kBase),
            ("o4-mini-2025-04-16", Encoding::O200kBase),
            ("gpt-oss-20b", Encoding::O200kBase),
            ("openai/gpt-4o", Encoding::O200kBase),
            ("ft:gpt-4o-mini-2024-07-18:acme::x1", Encoding::O200kBase),
            ("gpt-4", Encoding::Cl100kBase),
            ("gpt-4-turbo-2024-04-09", Encoding::Cl100kBase),
            ("gpt-3.5-turbo", Encoding::Cl100kBase),
            ("gpt-35-turbo", Encoding::Cl100kBase),
            ("text-embedding-3-small", Encoding::Cl100kBase),
            ("text-embedding-ada-002", Encoding::Cl100kBase),
        ];
        for (model, encoding) in cases {
            assert_eq!(
                TokenCounter::for_model(model).encoding(),
                encoding,
                "{model}"
            );
        }
    }

    #[test]
    fn other_models_are_estimated() {
        for model in [
            "claude-3-5-sonnet-20241022",
            "gemini-2.0-flash",
            "llama3.1:8b",
            "mistral-large-latest",
            "o10-unknown",
            "",
        ] {
            let counter = TokenCounter::for_model(model);
            assert_eq!(counter.encoding(), Encoding::Cl100kEstimate, "{model}");
            assert!(!counter.is_exact());
        }
    }

    // Reference counts from Python's tiktoken 0.14 (`len(enc.encode_ordinary(text))`).
    #[test]
    fn text_counts_match_tiktoken() {
        let cases = [
            ("hello world", 2, 2),
            (
                "Tokenizers split text: naïve café, 東京, emoji 🚀 and numbers 1234567.",
                24,
                21,
            ),
            ("<|endoftext|> is ordinary text here", 11, 11),
            ("", 0, 0),
        ];
        let cl100k = TokenCounter::new(Encoding::Cl100kBase);
        let o200k = TokenCounter::new(Encoding::O200kBase);
        for (text, in_cl100k, in_o200k) in cases {
            assert_eq!(cl100k.count_text(text), in_cl100k, "cl100k: {text}");
            assert_eq!(o200k.count_text(text), in_o200k, "o200k: {text}");
        }
    }

    #[test]
    fn the_estimate_counts_with_cl100k() {
        let text = "Tokenizers split text: naïve café, 東京, emoji 🚀 and numbers 1234567.";
        assert_eq!(TokenCounter::default().count_text(text), 24);
    }

    #[test]
    fn display_marks_estimates() {
        assert_eq!(Encoding::O200kBase.to_string(), "o200k_base");
        assert_eq!(
            Encoding::Cl100kEstimate.to_string(),
            "cl100k_base (estimate)"
        );
    }
}
