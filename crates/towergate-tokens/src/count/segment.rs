//! Cutting long texts into pieces the tokenizer handles safely.
//!
//! tiktoken's pre-tokenizing regex backtracks, and on a very long run of one
//! kind of character (a megabyte of spaces, say) its matcher gives up, which
//! tiktoken-rs turns into a panic. A gateway counts text that came from
//! anyone, so texts longer than [`MAX_SEGMENT`] bytes are counted piece by
//! piece. Pieces are cut where the tokenizer would start a new token anyway,
//! so the count is exact for ordinary text; only a stretch of
//! [`MAX_SEGMENT`] bytes with no such place (a long run of spaces or of
//! punctuation) is cut blindly, which can change its count by a token.

use tiktoken_rs::CoreBPE;

/// The longest text counted in one piece.
pub(crate) const MAX_SEGMENT: usize = 16 * 1024;

/// The tokens of `text`, counted piece by piece when it is long.
pub(crate) fn count_ordinary(bpe: &CoreBPE, text: &str) -> usize {
    let mut rest = text;
    let mut total = 0;
    while rest.len() > MAX_SEGMENT {
        let (head, tail) = rest.split_at(cut_point(rest));
        total += bpe.count_ordinary(head);
        rest = tail;
    }
    total + bpe.count_ordinary(rest)
}

/// Where to cut `text` (longer than [`MAX_SEGMENT`]): the last place at or
/// before [`MAX_SEGMENT`] where a token must start, or else the last
/// character boundary there.
fn cut_point(text: &str) -> usize {
    let bytes = text.as_bytes();
    if let Some(cut) = (1..=MAX_SEGMENT)
        .rev()
        .find(|&at| starts_a_token(bytes, at))
    {
        return cut;
    }
    (1..=MAX_SEGMENT)
        .rev()
        .find(|&at| text.is_char_boundary(at))
        .unwrap_or(MAX_SEGMENT)
}

/// Whether every tokenizer towergate uses (cl100k, o200k) starts a new
/// token at byte `at` of `bytes`, whatever comes before or after:
///
/// - after a newline and before an ASCII letter: a word never takes a
///   newline in front of it, and runs of newlines end at their last one;
/// - before a space that stands between two ASCII letters: a word ends at
///   its last letter and the next word takes the space in front of it.
fn starts_a_token(bytes: &[u8], at: usize) -> bool {
    let (Some(&before), Some(&here)) = (bytes.get(at.wrapping_sub(1)), bytes.get(at)) else {
        return false;
    };
    let after_newline = before == b'\n' && here.is_ascii_alphabetic();
    let between_words = before.is_ascii_alphabetic()
        && here == b' '
        && bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic);
    after_newline || between_words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(bytes: usize) -> String {
        let paragraph = "The gateway counts tokens before it calls a model, so that a \
            budget or a context window can be checked first. Numbers like 1234567 and \
            words like naïve café, or 東京 and emoji 🚀, are split as the model splits them.\n\
            Line two: indented   text,\ttabs, and \"quotes\" (with brackets) end here.\n\n";
        paragraph.repeat(bytes / paragraph.len() + 1)
    }

    #[test]
    fn long_prose_counts_exactly_as_in_one_piece() {
        let text = prose(200_000);
        for bpe in [
            tiktoken_rs::cl100k_base_singleton(),
            tiktoken_rs::o200k_base_singleton(),
        ] {
            assert_eq!(count_ordinary(bpe, &text), bpe.count_ordinary(&text));
        }
    }

    #[test]
    fn cut_points_are_where_a_token_starts() {
        let text = prose(MAX_SEGMENT * 2);
        let cut = cut_point(&text);
        assert!(cut <= MAX_SEGMENT && cut > MAX_SEGMENT / 2, "{cut}");
        assert!(starts_a_token(text.as_bytes(), cut));
    }

    #[test]
    fn megabytes_of_whitespace_are_counted_without_panicking() {
        // In one piece, this makes tiktoken-rs panic.
        let text = "\t ".repeat(1_000_000);
        let bpe = tiktoken_rs::o200k_base_singleton();
        let tokens = count_ordinary(bpe, &text);
        assert!((900_000..=1_100_000).contains(&tokens), "{tokens}");
    }

    #[test]
    fn multibyte_text_is_cut_on_a_character_boundary() {
        let text = "東".repeat(MAX_SEGMENT);
        let cut = cut_point(&text);
        assert!(text.is_char_boundary(cut));
        assert!(cut > MAX_SEGMENT - 3);
        let tokens = count_ordinary(tiktoken_rs::cl100k_base_singleton(), &text);
        assert!(tokens > 0);
    }
}
