//! An in-process provider that answers like the mock upstream, with no sockets.
//!
//! ```
//! use tower_service::Service;
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::ChatRequest};
//! use towergate_testkit::MockProvider;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut provider = MockProvider::new().reply("hello there");
//! let chat: ChatRequest = serde_json::from_value(serde_json::json!({
//!     "model": "gpt-4o-mini",
//!     "messages": [{"role": "user", "content": "Hi"}]
//! })).unwrap();
//! let response = provider
//!     .call(GatewayRequest::new("chat", Operation::Chat(chat)))
//!     .await
//!     .unwrap();
//! let Payload::Chat(answer) = response.payload else { panic!("not a chat answer") };
//! assert_eq!(answer.choices[0].message.text_content().as_deref(), Some("hello there"));
//! assert_eq!(response.meta.usage.map(|u| u.completion_tokens), Some(2));
//! assert_eq!(provider.calls(), 1);
//! # }
//! ```

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures_util::StreamExt;
use towergate_core::{
    ChunkStream, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, ResponseMeta,
    Usage,
};

use crate::{
    answer::{self, AnswerSettings},
    pace::Paced,
};

/// A `Service<GatewayRequest>` that answers chat, completion and embeddings
/// requests as the mock upstream does, in process.
///
/// Clones share the call counter.
#[derive(Clone, Debug, Default)]
pub struct MockProvider {
    settings: Arc<Settings>,
    calls: Arc<AtomicUsize>,
    next_id: Arc<AtomicU64>,
}

#[derive(Clone, Debug, Default)]
struct Settings {
    model: Option<String>,
    reply: Option<String>,
    chunks: Option<usize>,
    chunk_interval: Duration,
    latency: Duration,
    fail_with: Option<GatewayError>,
}

impl MockProvider {
    /// Echoes the last user message, at once, one chunk per word.
    pub fn new() -> Self {
        Self::default()
    }

    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.settings)
    }

    /// Answers as this upstream model, as a real provider replaces the
    /// request's `model` (an endpoint name) with its configured model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.settings_mut().model = Some(model.into());
        self
    }

    /// Answers with this text instead of echoing the last user message.
    pub fn reply(mut self, reply: impl Into<String>) -> Self {
        self.settings_mut().reply = Some(reply.into());
        self
    }

    /// Splits a streamed reply into this many content chunks (at least 1).
    pub fn chunks(mut self, chunks: usize) -> Self {
        self.settings_mut().chunks = Some(chunks.max(1));
        self
    }

    /// Waits this long between two streamed chunks.
    pub fn chunk_interval(mut self, interval: Duration) -> Self {
        self.settings_mut().chunk_interval = interval;
        self
    }

    /// Waits this long before answering.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.settings_mut().latency = latency;
        self
    }

    /// Answers every call with this error (after the latency).
    pub fn fail_with(mut self, error: GatewayError) -> Self {
        self.settings_mut().fail_with = Some(error);
        self
    }

    /// How many times the provider was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl tower_service::Service<GatewayRequest> for MockProvider {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), GatewayError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> ResponseFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let settings = Arc::clone(&self.settings);
        ResponseFuture(Box::pin(async move {
            if !settings.latency.is_zero() {
                tokio::time::sleep(settings.latency).await;
            }
            if let Some(error) = &settings.fail_with {
                return Err(error.clone());
            }
            let mut operation = request.operation;
            if let Some(model) = &settings.model {
                set_model(&mut operation, model);
            }
            respond(&settings, operation, id)
        }))
    }
}

fn respond(
    settings: &Settings,
    operation: Operation,
    id: u64,
) -> Result<GatewayResponse, GatewayError> {
    let shape = AnswerSettings {
        reply: settings.reply.as_deref(),
        chunks: settings.chunks,
    };
    let (payload, model, usage) = match operation {
        Operation::Chat(chat) if chat.is_stream() => {
            let plan = answer::chat_stream(&chat, shape, id)?;
            let model = answer::model_name(chat.model.as_ref());
            let stream = paced(plan.into_chunks(), settings.chunk_interval);
            (Payload::ChatStream(stream), model, None)
        }
        Operation::Chat(chat) => {
            let response = answer::chat_response(&chat, shape, id)?;
            let (model, usage) = (response.model.clone(), response.usage.clone());
            (Payload::Chat(response), model, usage)
        }
        Operation::Completion(completion) if completion.is_stream() => {
            let plan = answer::completion_stream(&completion, shape, id)?;
            let model = answer::model_name(completion.model.as_ref());
            let stream = paced(plan.into_chunks(), settings.chunk_interval);
            (Payload::CompletionStream(stream), model, None)
        }
        Operation::Completion(completion) => {
            let response = answer::completion_response(&completion, shape, id)?;
            let (model, usage) = (response.model.clone(), response.usage.clone());
            (Payload::Completion(response), model, usage)
        }
        Operation::Embeddings(embeddings) => {
            let response = answer::embeddings_response(&embeddings)?;
            let (model, usage) = (response.model.clone(), response.usage.clone());
            (Payload::Embeddings(response), model, usage)
        }
        Operation::ListEndpoints => {
            return Err(GatewayError::invalid(
                "the mock provider does not list endpoints; the router answers listings",
            ));
        }
    };
    Ok(GatewayResponse {
        payload,
        meta: meta(model, usage),
    })
}

fn set_model(operation: &mut Operation, model: &str) {
    let slot = match operation {
        Operation::Chat(chat) => &mut chat.model,
        Operation::Completion(completion) => &mut completion.model,
        Operation::Embeddings(embeddings) => &mut embeddings.model,
        Operation::ListEndpoints => return,
    };
    *slot = Some(model.to_owned());
}

/// `chunks` as a stream, one every `interval`.
fn paced<T: Unpin + Send + 'static>(chunks: Vec<T>, interval: Duration) -> ChunkStream<T> {
    Box::pin(Paced::new(chunks, interval).map(Ok))
}

fn meta(model: String, usage: Option<Usage>) -> ResponseMeta {
    ResponseMeta {
        provider: Some("mock".to_owned()),
        model: Some(model),
        usage,
        ..ResponseMeta::default()
    }
}

/// The future of a [`MockProvider`] call.
pub struct ResponseFuture(
    Pin<Box<dyn Future<Output = Result<GatewayResponse, GatewayError>> + Send + 'static>>,
);

impl Future for ResponseFuture {
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture(..)")
    }
}
