//! MLflow's 422 bodies: a list of `{"type", "loc", "msg"}`, as pydantic
//! reports what is wrong with a request body.

use serde::Serialize;
use serde_json::{Value, json};
use serde_path_to_error::Segment;
use towergate_core::chat::Stop;

use super::Refusal;
use crate::decode::{DecodeError, Problem};

/// One thing wrong with a body.
#[derive(Debug, Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    loc: Vec<Value>,
    msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ctx: Option<Value>,
}

/// The sampling parameters of chat and completions that MLflow bounds.
#[derive(Debug, Default)]
pub(super) struct Sampling<'a> {
    pub(super) temperature: Option<f64>,
    pub(super) top_p: Option<f64>,
    pub(super) presence_penalty: Option<f64>,
    pub(super) frequency_penalty: Option<f64>,
    pub(super) n: Option<u32>,
    pub(super) max_tokens: Option<u32>,
    pub(super) max_completion_tokens: Option<u32>,
    pub(super) stop: Option<&'a Stop>,
}

/// Everything found wrong with a body so far.
#[derive(Debug, Default)]
pub(super) struct Issues(Vec<Issue>);

fn body_loc() -> Vec<Value> {
    vec![Value::from("body")]
}

fn field_loc(field: &str) -> Vec<Value> {
    vec![Value::from("body"), Value::from(field)]
}

impl Issues {
    /// The issue behind a body that could not be decoded.
    pub(super) fn decode(error: &DecodeError) -> Self {
        let mut loc = body_loc();
        for segment in error.path.iter().flat_map(|path| path.iter()) {
            match segment {
                Segment::Seq { index } => loc.push(Value::from(*index)),
                Segment::Map { key } => loc.push(Value::from(key.as_str())),
                Segment::Enum { variant } => loc.push(Value::from(variant.as_str())),
                Segment::Unknown => {}
            }
        }
        let issue = match &error.problem {
            Problem::Syntax => Issue {
                kind: "json_invalid",
                loc,
                msg: "JSON decode error".to_owned(),
                ctx: Some(json!({ "error": error.message })),
            },
            Problem::Missing(field) => {
                loc.push(Value::from(field.as_str()));
                Issue {
                    kind: "missing",
                    loc,
                    msg: "Field required".to_owned(),
                    ctx: None,
                }
            }
            Problem::Invalid => Issue {
                kind: "value_error",
                loc,
                msg: error.message.clone(),
                ctx: None,
            },
        };
        Self(vec![issue])
    }

    /// `field` is an empty list where MLflow wants at least one item.
    pub(super) fn too_short(&mut self, field: &str) {
        self.0.push(Issue {
            kind: "too_short",
            loc: field_loc(field),
            msg: "List should have at least 1 item after validation, not 0".to_owned(),
            ctx: None,
        });
    }

    /// MLflow's bounds on the sampling parameters: `0 <= temperature <= 2`,
    /// `0 <= top_p <= 1`, penalties within `-2..=2`, `n`, `max_tokens` and
    /// `max_completion_tokens` at least 1, and a `stop` list not empty.
    pub(super) fn sampling(&mut self, sampling: &Sampling<'_>) {
        self.within("temperature", sampling.temperature, 0.0, 2.0);
        self.within("top_p", sampling.top_p, 0.0, 1.0);
        self.within("presence_penalty", sampling.presence_penalty, -2.0, 2.0);
        self.within("frequency_penalty", sampling.frequency_penalty, -2.0, 2.0);
        for (field, value) in [
            ("n", sampling.n),
            ("max_tokens", sampling.max_tokens),
            ("max_completion_tokens", sampling.max_completion_tokens),
        ] {
            self.within(field, value.map(f64::from), 1.0, f64::INFINITY);
        }
        if matches!(sampling.stop, Some(Stop::Many(list)) if list.is_empty()) {
            self.too_short("stop");
        }
    }

    fn within(&mut self, field: &str, value: Option<f64>, min: f64, max: f64) {
        let Some(value) = value else { return };
        let (kind, should_be, bound) = if value < min {
            ("greater_than_equal", "greater than or equal to", min)
        } else if value > max {
            ("less_than_equal", "less than or equal to", max)
        } else {
            return;
        };
        self.0.push(Issue {
            kind,
            loc: field_loc(field),
            msg: format!("Input should be {should_be} {bound}"),
            ctx: None,
        });
    }

    /// A 422 listing the issues.
    pub(super) fn into_refusal(self) -> Refusal {
        Refusal::Unprocessable(serde_json::to_value(&self.0).unwrap_or(Value::Null))
    }

    /// `Ok` when nothing was found wrong, a 422 listing the issues otherwise.
    pub(super) fn into_result(self) -> Result<(), Refusal> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.into_refusal())
        }
    }
}
