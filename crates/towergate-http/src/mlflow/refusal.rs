//! Why the MLflow front answers with an error, and that answer.

use std::fmt;

use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use towergate_core::GatewayError;

use crate::{body::ResponseBody, error::mlflow_error_response, reply};

/// An MLflow answer that is not a success.
#[derive(Debug)]
pub(super) enum Refusal {
    /// An error of the gateway, answered with its kind's status.
    Gateway(GatewayError),
    /// A body MLflow's schema refuses: 422 with this `detail`.
    Unprocessable(Value),
}

impl From<GatewayError> for Refusal {
    fn from(error: GatewayError) -> Self {
        Refusal::Gateway(error)
    }
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a Value,
}

impl Refusal {
    /// A 422 whose `detail` is MLflow's message.
    pub(super) fn unprocessable(message: impl Into<String>) -> Self {
        Refusal::Unprocessable(Value::String(message.into()))
    }

    /// The HTTP answer.
    pub(super) fn into_response(self) -> Response<ResponseBody> {
        match self {
            Refusal::Gateway(error) => mlflow_error_response(&error),
            Refusal::Unprocessable(detail) => {
                let body = reply::encode(&Detail { detail: &detail })
                    .unwrap_or_else(|_| crate::body::full(&b"{\"detail\":null}"[..]));
                let mut response = Response::new(body);
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Gateway(error) => fmt::Display::fmt(error, f),
            Refusal::Unprocessable(detail) => write!(f, "unprocessable (422): {detail}"),
        }
    }
}
