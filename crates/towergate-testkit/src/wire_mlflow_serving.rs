//! An MLflow model server: `POST /invocations` with `{"inputs": [...],
//! "params": {...}}`, answering `{"predictions": [...]}`, and MLflow's
//! `{"error_code", "message"}` error body. A key, when the server requires
//! one, is an `Authorization: Bearer` header.
//!
//! A server whose path ends in `/embed/invocations` serves an embedding
//! model: one unit vector per input (`params.dimensions` long, 8 by
//! default). Any other serves a text model: one `"echo: "` reply per input
//! string, cut at `params.max_tokens` words and before `params.stop`.
//! Top-level fields other than `inputs` and `params` are refused, as MLflow
//! refuses them. Per-request settings ride in `params.mock`.

use http::{HeaderMap, Method, Response, StatusCode, request::Parts};
use serde_json::{Map, Value, json};

use crate::{
    answer::{AnswerSettings, unit_vector},
    dialect::{Dialect, Refusal, WireAnswer, bearer, limit_reply, object, reply_text},
    wire::{self, Body},
};

/// An MLflow model server's wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MlflowServing;

/// MLflow's `error_code` for an HTTP status.
fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "ENDPOINT_NOT_FOUND",
        429 => "REQUEST_LIMIT_EXCEEDED",
        503 => "TEMPORARILY_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    }
}

const INVALID_INPUT: &str = "Invalid input. The input must be a JSON dictionary with exactly one \
     of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}. \
     Received dictionary with input fields: ";

impl Dialect for MlflowServing {
    fn answers(&self, method: &Method, path: &str) -> bool {
        method == Method::POST && path.trim_end_matches('/').ends_with("/invocations")
    }

    fn presented_key<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        bearer(headers)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        let body = json!({"error_code": error_code(status), "message": message});
        wire::json_response(status, wire::to_json(&body))
    }

    fn controls<'b>(&self, body: &'b Value) -> &'b Value {
        body.get("params").unwrap_or(&Value::Null)
    }

    fn answer(
        &self,
        request: &Parts,
        body: &Value,
        settings: AnswerSettings<'_>,
        _id: u64,
    ) -> Result<WireAnswer, Refusal> {
        let fields = object(body)?;
        let inputs = match fields.get("inputs") {
            Some(Value::Array(inputs)) if fields.keys().all(|k| k == "inputs" || k == "params") => {
                inputs
            }
            _ => {
                let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
                return Err(Refusal::bad_request(format!("{INVALID_INPUT}{keys:?}")));
            }
        };
        let empty = Map::new();
        let params = fields
            .get("params")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let texts: Vec<&str> = inputs
            .iter()
            .map(Value::as_str)
            .collect::<Option<_>>()
            .ok_or_else(|| {
                Refusal::bad_request("Failed to enforce schema of data: inputs must be strings")
            })?;
        let embedding_model = request
            .uri
            .path()
            .trim_end_matches('/')
            .ends_with("/embed/invocations");
        let predictions: Vec<Value> = if embedding_model {
            let dimensions = params
                .get("dimensions")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .unwrap_or(8);
            texts
                .iter()
                .map(|text| json!(unit_vector(text, dimensions)))
                .collect()
        } else {
            let stops: Vec<String> = match params.get("stop") {
                None => Vec::new(),
                Some(Value::String(stop)) => vec![stop.clone()],
                Some(stops) => serde_json::from_value(stops.clone())
                    .map_err(|_| Refusal::bad_request("`stop` must be a list of strings"))?,
            };
            let max_tokens = params.get("max_tokens").and_then(Value::as_u64);
            texts
                .iter()
                .map(|text| json!(limit_reply(reply_text(settings, text), max_tokens, &stops).0))
                .collect()
        };
        Ok(WireAnswer::Json(wire::to_json(
            &json!({ "predictions": predictions }),
        )))
    }
}
