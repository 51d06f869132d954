//! Whole numbers written the ways MLflow's config reads them.

use serde_yaml_ng::Value;

/// The whole number `value` holds: an integer, a float with nothing after
/// the point (`10.0`), or text of digits (`"10"`), as MLflow's config
/// takes them. `None` for anything else.
pub(crate) fn whole_number(value: &Value) -> Option<i128> {
    match value {
        Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Some(i128::from(integer))
            } else if let Some(integer) = number.as_u64() {
                Some(i128::from(integer))
            } else {
                number
                    .as_f64()
                    .filter(|float| float.is_finite() && float.fract() == 0.0)
                    .filter(|float| float.abs() < 1e30)
                    // The filters above keep the conversion exact and in range.
                    .map(|float| float as i128)
            }
        }
        Value::String(text) => text.trim().parse::<i128>().ok(),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Option<i128> {
        whole_number(&serde_yaml_ng::from_str(yaml).unwrap())
    }

    #[test]
    fn reads_integers_whole_floats_and_digit_text() {
        assert_eq!(read("10"), Some(10));
        assert_eq!(read("-3"), Some(-3));
        assert_eq!(read("10.0"), Some(10));
        assert_eq!(read("'25'"), Some(25));
        assert_eq!(read("18446744073709551615"), Some(i128::from(u64::MAX)));
    }

    #[test]
    fn refuses_everything_else() {
        for yaml in ["10.5", "ten", "[1]", "{a: 1}", "true", "~", ".inf", ".nan"] {
            assert_eq!(read(yaml), None, "{yaml}");
        }
    }
}
