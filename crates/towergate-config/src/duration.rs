//! Durations written as `500ms`, `30s`, `10m`, `1h`.

use std::time::Duration;

/// What a duration looks like, for messages.
pub(crate) const EXPECTED_DURATION: &str =
    "expected a duration such as `500ms`, `30s`, `10m` or `1h`";

/// Parses a duration such as `500ms`, `30s`, `10m`, `1h` or `1h 30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration: {EXPECTED_DURATION}"))
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
}
