//! A model served by MLflow (`mlflow-model-serving`): `POST
//! {model_server_url}/invocations`, as MLflow's gateway calls it.
//!
//! [`MlflowServing`] is a `tower::Service<GatewayRequest>` for chat,
//! completions and embeddings, over the body every MLflow scoring server
//! takes:
//!
//! | request | `inputs` | answer from `predictions` |
//! |---|---|---|
//! | chat | the one message's text (a model served by MLflow takes one query; more messages are refused, as MLflow refuses them) | one assistant choice per string |
//! | completions | the prompt, or each prompt | one choice per string |
//! | embeddings | each input | one vector per list of numbers (a flat list is one vector) |
//!
//! Every other field the caller set goes into `params` (`temperature`,
//! `max_tokens`, `stop`, `n`, unknown fields), as MLflow sends them.
//! `predictions` may also be an object with one key, or with `choices`, as
//! MLflow reads it. Like MLflow's gateway, answers carry no usage and no
//! finish reason, and nothing streams: a streamed request is refused with
//! a 400. MLflow's `{"error_code", "message"}` errors keep their status,
//! message and code.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload};
//! use towergate_providers::{HttpClient, mlflow_serving::MlflowServing};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let served = MlflowServing::builder("http://127.0.0.1:5001", "sentence-transformer")
//!     .build(&client)?;
//!
//! let embeddings = serde_json::from_value(serde_json::json!({"input": ["a", "b"]}))?;
//! let request = GatewayRequest::new("embed", Operation::Embeddings(embeddings));
//! if let Payload::Embeddings(answer) = served.oneshot(request).await?.payload {
//!     println!("{} vectors", answer.data.len());
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod decode;
mod encode;

use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Payload, ResponseMeta};

pub use self::config::MlflowServingBuilder;
use self::{
    config::Config,
    encode::{Encoded, Kind},
};
use crate::{
    HttpClient, error,
    future::ResponseFuture,
    service::{Start, gateway_service},
    upstream,
};

/// The provider's name, as MLflow spells it.
pub const PROVIDER: &str = "mlflow-model-serving";

/// A model behind an MLflow scoring server; cheap to clone.
#[derive(Clone, Debug)]
pub struct MlflowServing {
    config: Arc<Config>,
    client: HttpClient,
}

impl MlflowServing {
    /// A builder for the server at `server_url` (MLflow's
    /// `model_server_url`), whose answers name the model `model`.
    pub fn builder(
        server_url: impl Into<String>,
        model: impl Into<String>,
    ) -> MlflowServingBuilder {
        MlflowServingBuilder::new(server_url.into(), model.into())
    }

    /// The model's name as given in answers.
    pub fn model(&self) -> &str {
        &self.config.upstream.model
    }
}

impl Start for MlflowServing {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        ResponseFuture::after(encode::encode(request.operation), |encoded| {
            exchange(Arc::clone(&self.config), self.client.clone(), encoded)
        })
    }
}

gateway_service!(MlflowServing);

async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    encoded: Encoded,
) -> Result<GatewayResponse, GatewayError> {
    let up = &config.upstream;
    let (host, model) = (&up.host, &up.model);
    let sent = up
        .post(
            &client,
            &config.invocations,
            encoded.body,
            false,
            read_error,
        )
        .await?;
    let latency = sent.latency;
    let status = sent.status;
    let bytes = sent.bytes(host).await?;
    let answer: Value = upstream::parse_json(&bytes, host, status, "JSON")?;
    let payload = match encoded.kind {
        Kind::Chat => Payload::Chat(decode::chat(answer, model, host)?),
        Kind::Completion => Payload::Completion(decode::completion(answer, model, host)?),
        Kind::Embeddings { base64 } => {
            Payload::Embeddings(decode::embeddings(answer, model, base64, host)?)
        }
    };
    let meta = ResponseMeta {
        model: Some(model.clone()),
        ..ResponseMeta::default()
    };
    Ok(up.stamp(GatewayResponse { payload, meta }, latency))
}

/// MLflow's error body: `{"error_code": "BAD_REQUEST", "message": "…"}`.
#[derive(Deserialize)]
struct ErrorBody {
    message: String,
    #[serde(default)]
    error_code: Option<String>,
}

/// Keeps the status, MLflow's `message` and its `error_code`.
fn read_error(host: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let parsed = serde_json::from_slice::<ErrorBody>(body);
    let plain = error::from_status(host, status, headers, body);
    let Ok(parsed) = parsed else {
        return plain;
    };
    if status.is_redirection() {
        return plain;
    }
    let mut failure = GatewayError::upstream(status, parsed.message);
    if let Some(wait) = plain.retry_after() {
        failure = failure.with_retry_after(wait);
    }
    match parsed.error_code {
        Some(code) => failure.with_code(code),
        None => failure,
    }
}
