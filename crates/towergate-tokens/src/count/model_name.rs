//! Matching model names by family prefix.

/// The part of a model name that names the model: what follows the last `/`
/// (`openai/gpt-4o` → `gpt-4o`, `models/gemini-1.5-pro` → `gemini-1.5-pro`)
/// and a fine-tune's `ft:` marker.
pub(crate) fn bare(model: &str) -> &str {
    let name = model.rsplit('/').next().unwrap_or(model);
    name.strip_prefix("ft:").unwrap_or(name)
}

/// Whether `name` starts with `prefix` (ASCII case ignored) and the prefix
/// ends at a word boundary: the end of the name or a character that is not
/// a letter or a digit. So `gpt-4` matches `gpt-4-0613` and `gpt-4.5` but
/// not `gpt-4o`.
pub(crate) fn has_family_prefix(name: &str, prefix: &str) -> bool {
    let Some(head) = name.get(..prefix.len()) else {
        return false;
    };
    head.eq_ignore_ascii_case(prefix)
        && name[prefix.len()..]
            .chars()
            .next()
            .is_none_or(|next| !next.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_strips_vendor_paths_and_fine_tune_markers() {
        assert_eq!(bare("openai/gpt-4o"), "gpt-4o");
        assert_eq!(bare("models/gemini-1.5-pro"), "gemini-1.5-pro");
        assert_eq!(
            bare("ft:gpt-4o-mini-2024-07-18:acme::abc"),
            "gpt-4o-mini-2024-07-18:acme::abc"
        );
        assert_eq!(bare("gpt-4o"), "gpt-4o");
    }

    #[test]
    fn a_family_prefix_ends_at_a_word_boundary() {
        assert!(has_family_prefix("gpt-4-0613", "gpt-4"));
        assert!(has_family_prefix("gpt-4", "gpt-4"));
        assert!(has_family_prefix("GPT-4o-Mini", "gpt-4o-mini"));
        assert!(!has_family_prefix("gpt-4o", "gpt-4"));
        assert!(!has_family_prefix("o10", "o1"));
        assert!(!has_family_prefix("gpt", "gpt-4"));
        assert!(!has_family_prefix("é-model", "e"));
    }
}
