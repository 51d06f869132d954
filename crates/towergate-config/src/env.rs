//! `$NAME` and `${NAME}`: secrets taken from the environment.

/// The variable's name when `text` is exactly `$NAME` or `${NAME}`, where
/// `NAME` is a letter or `_` followed by letters, digits and `_`.
pub(crate) fn variable_name(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('$')?;
    let name = match rest.strip_prefix('{') {
        Some(braced) => braced.strip_suffix('}')?,
        None => rest,
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_both_forms_and_nothing_else() {
        assert_eq!(variable_name("$OPENAI_API_KEY"), Some("OPENAI_API_KEY"));
        assert_eq!(variable_name("${OPENAI_API_KEY}"), Some("OPENAI_API_KEY"));
        assert_eq!(variable_name("$_x1"), Some("_x1"));
        for literal in [
            "OPENAI",
            "$",
            "${}",
            "${A",
            "$A}",
            "$1A",
            "$A B",
            "pre$A",
            "$A-B",
            "$5 a month",
        ] {
            assert_eq!(variable_name(literal), None, "{literal}");
        }
    }
}
