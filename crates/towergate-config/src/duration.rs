//! Durations written as `500ms`, `30s`, `10m`, `1h`.

use std::time::Duration;

use serde_yaml_ng::Value;

/// What a duration looks like, for messages.
pub(crate) const EXPECTED_DURATION: &str =
    "expected a duration such as `500ms`, `30s`, `10m` or `1h`";

/// Parses a duration such as `500ms`, `30s`, `10m`, `1h` or `1h 30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration: {EXPECTED_DURATION}"))
}

/// Reads a duration written in the file: text such as `30s`; a bare number
/// has no unit and is refused, as is any other value. `null` is the
/// caller's to handle (it is refused here too).
pub(crate) fn duration_value(value: &Value) -> Result<Duration, String> {
    match value {
        Value::String(text) => parse_duration(text),
        Value::Number(number) => Err(format!("`{number}` has no unit: {EXPECTED_DURATION}")),
        _ => Err(EXPECTED_DURATION.to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn rejects_numbers_without_units_and_garbage() {
        for bad in ["30", "", "soon", "30 parsecs", "-1s"] {
            let message = parse_duration(bad).unwrap_err();
            assert!(message.contains("expected a duration such as"), "{message}");
        }
    }

    #[test]
    fn values_are_text_with_a_unit() {
        let read = |yaml: &str| duration_value(&serde_yaml_ng::from_str(yaml).unwrap());
        assert_eq!(read("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(
            read("30"),
            Err(format!("`30` has no unit: {EXPECTED_DURATION}"))
        );
        assert_eq!(read("[1s]"), Err(EXPECTED_DURATION.to_owned()));
        assert!(
            read("soon")
                .unwrap_err()
                .starts_with("`soon` is not a duration")
        );
    }
}
