//! A mock LLM upstream speaking OpenAI's wire, with faults on demand, and an
//! in-process mock provider.
//!
//! [`MockUpstream`] is a real HTTP server on a loopback port: point a
//! provider adapter's base URL at [`MockUpstream::base_url`] and it answers
//! chat, completion and embeddings requests as OpenAI would, with latency,
//! streaming cadence and faults chosen by a [`Behavior`], or per request by
//! an `x-mock-fault` header or a `"mock"` field in the JSON body.
//! [`MockProvider`] gives the same answers as a
//! `tower::Service<GatewayRequest>`, for testing layers without sockets.
//!
//! Answers are deterministic: the reply is `"echo: "` and the text of the
//! last user message (or the prompt), a token is a whitespace-separated
//! word, and an embedding is a unit vector derived from a hash of its input.
//!
//! The same server speaks other providers' wires on their own paths, each
//! in its own request, answer, stream and error shapes and as strict about
//! unknown fields as the provider is: Anthropic's `POST /v1/messages`
//! ([`MockUpstream::base_url`]), Mistral's chat and embeddings under
//! [`MockUpstream::mistral_base_url`], and Cohere's `POST /v2/chat` and
//! `POST /v2/embed` ([`MockUpstream::url`]). Where the provider refuses
//! extra body fields, only the `x-mock-fault` header carries per-request
//! settings.
//! Also Gemini's `models/{model}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:embedContent` and
//! `:batchEmbedContents` under [`MockUpstream::gemini_base_url`]; Text
//! Generation Inference's `POST /generate` and `POST /generate_stream`
//! (per-request settings in `parameters.mock`); and an MLflow model
//! server's `POST /invocations` (per-request settings in `params.mock`; a
//! path ending in `/embed/invocations` serves an embedding model), both at
//! [`MockUpstream::url`].
//!
//! ```
//! use std::time::Duration;
//! use towergate_testkit::{Behavior, Fault, MockUpstream};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let upstream = MockUpstream::start_with(
//!     Behavior::new()
//!         .latency(Duration::from_millis(5))
//!         .chunks(4)
//!         .chunk_interval(Duration::from_millis(10)),
//! )
//! .await;
//! // e.g. `openai_api_base: {upstream.base_url()}` in a gateway config.
//! assert_eq!(upstream.base_url(), format!("http://{}/v1", upstream.addr()));
//! assert_eq!(upstream.request_count(), 0);
//! upstream.set_behavior(Behavior::new().fault(Fault::Reset));
//! # }
//! ```

mod answer;
mod bedrock_signature;
pub mod behavior;
mod connection;
mod dialect;
mod pace;
pub mod provider;
pub mod redis;
pub mod server;
mod sse;
mod wire;
mod wire_anthropic;
mod wire_bedrock;
mod wire_cohere;
mod wire_gemini;
mod wire_mistral;
mod wire_mlflow_serving;
mod wire_tgi;

pub use bedrock_signature::{
    BEDROCK_ACCESS_KEY_ID, BEDROCK_SECRET_ACCESS_KEY, BEDROCK_SESSION_TOKEN,
};
pub use behavior::{Behavior, Fault, ParseFaultError};
pub use provider::MockProvider;
pub use server::{MockUpstream, RecordedRequest};
