//! Hugging Face Text Generation Inference
//! (`huggingface-text-generation-inference`): a TGI server's `/generate`
//! and `/generate_stream`.
//!
//! [`Tgi`] is a `tower::Service<GatewayRequest>` for chat and text
//! completions, complete or streamed:
//!
//! - A completion's prompt is TGI's `inputs`. A chat is rendered to one
//!   prompt in Llama 2's `[INST]` format (as MLflow's gateway renders chats
//!   for text-only backends; MLflow's own TGI provider serves completions
//!   only).
//! - `max_tokens` → `max_new_tokens`; `temperature` as is, but at least
//!   0.001 (TGI refuses 0, as MLflow maps it); `top_p` below 1 (TGI refuses
//!   1, which means no cut, so it is left out); `stop`, `seed`,
//!   `frequency_penalty`; `response_format` JSON → `grammar`; a
//!   completion's `echo` → `return_full_text`, `best_of` → `best_of`.
//!   Fields towergate does not model go into `parameters` as they came
//!   (`top_k`, `repetition_penalty`, `do_sample`, …).
//! - `details: true` always, for token counts: usage is the prompt's
//!   tokens (`prefill` with `decoder_input_details`, or a stream's
//!   `input_length`) and `generated_tokens`. `finish_reason` `length` stays,
//!   `eos_token` and `stop_sequence` become `stop`.
//! - A stream's tokens become chunks; special tokens (`</s>`) are left out.
//!
//! TGI has no tools, no embeddings and one choice per request: `tools`,
//! `n` above 1 and embeddings requests are refused with a 400 naming the
//! field. TGI's `{"error", "error_type"}` answers keep their status and
//! message.
//!
//! ```no_run
//! use tower::ServiceExt;
//! use towergate_core::{GatewayRequest, Operation, Payload};
//! use towergate_providers::{HttpClient, tgi::Tgi};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HttpClient::new()?;
//! let tgi = Tgi::builder("http://127.0.0.1:8080").model("llama-2-7b-chat").build(&client)?;
//!
//! let completion = serde_json::from_value(serde_json::json!({
//!     "prompt": "The capital of France is", "max_tokens": 5
//! }))?;
//! let request = GatewayRequest::new("complete", Operation::Completion(completion));
//! if let Payload::Completion(answer) = tgi.oneshot(request).await?.payload {
//!     println!("{} ({:?})", answer.choices[0].text, answer.usage);
//! }
//! # Ok(())
//! # }
//! ```

mod config;
mod decode;
mod encode;
mod prompt;
mod stream;

use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Payload, ResponseMeta};

pub use self::config::TgiBuilder;
use self::{
    config::Config,
    decode::Generated,
    encode::{Encoded, Kind},
    stream::TokenChunks,
};
use crate::{
    HttpClient, error,
    future::ResponseFuture,
    service::{Start, gateway_service},
    upstream,
};

/// The provider's name, as MLflow spells it.
pub const PROVIDER: &str = "huggingface-text-generation-inference";

/// A Text Generation Inference server; cheap to clone.
#[derive(Clone, Debug)]
pub struct Tgi {
    config: Arc<Config>,
    client: HttpClient,
}

impl Tgi {
    /// A builder for the server at `server_url` (MLflow's `hf_server_url`,
    /// such as `http://127.0.0.1:8080`).
    pub fn builder(server_url: impl Into<String>) -> TgiBuilder {
        TgiBuilder::new(server_url.into())
    }

    /// The model's name as given in answers.
    pub fn model(&self) -> &str {
        &self.config.upstream.model
    }
}

impl Start for Tgi {
    fn start(&self, request: GatewayRequest) -> ResponseFuture {
        ResponseFuture::after(encode::encode(request.operation), |encoded| {
            exchange(Arc::clone(&self.config), self.client.clone(), encoded)
        })
    }
}

gateway_service!(Tgi);

async fn exchange(
    config: Arc<Config>,
    client: HttpClient,
    encoded: Encoded,
) -> Result<GatewayResponse, GatewayError> {
    let up = &config.upstream;
    let (host, model) = (&up.host, &up.model);
    let uri = if encoded.stream {
        &config.stream
    } else {
        &config.generate
    };
    let sent = up
        .post(&client, uri, encoded.body, encoded.stream, read_error)
        .await?;
    let latency = sent.latency;
    let mut meta = ResponseMeta {
        model: Some(model.clone()),
        ..ResponseMeta::default()
    };
    let payload = match (encoded.kind, encoded.stream) {
        (Kind::Chat, true) => Payload::ChatStream(Box::pin(
            up.translated(sent.body, TokenChunks::<stream::Chat>::new(model)),
        )),
        (Kind::Completion, true) => Payload::CompletionStream(Box::pin(
            up.translated(sent.body, TokenChunks::<stream::Completion>::new(model)),
        )),
        (kind, false) => {
            let status = sent.status;
            let bytes = sent.bytes(host).await?;
            let generated: Generated = upstream::parse_json(&bytes, host, status, "a TGI answer")?;
            match kind {
                Kind::Chat => {
                    let chat = decode::chat(generated, model);
                    meta.usage = chat.usage.clone();
                    Payload::Chat(chat)
                }
                Kind::Completion => {
                    let completion = decode::completion(generated, model);
                    meta.usage = completion.usage.clone();
                    Payload::Completion(completion)
                }
            }
        }
    };
    Ok(up.stamp(GatewayResponse { payload, meta }, latency))
}

/// TGI's error body `{"error": "…", "error_type": "validation"}` keeps its
/// message, with the `error_type` as the code.
fn read_error(host: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GatewayError {
    let failure = error::from_status(host, status, headers, body);
    let kind = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("error_type")?.as_str().map(str::to_owned));
    match kind {
        Some(kind) => failure.with_code(kind),
        None => failure,
    }
}
