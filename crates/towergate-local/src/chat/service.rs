//! [`LocalChat`]: the tower service that answers from the local model.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tower_service::Service;
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, Payload, ResponseMeta,
    chat::{ChatMessage, Role},
};

use super::{
    LocalError,
    future::ResponseFuture,
    job::{self, Job, Shape},
    model::LoadedModel,
    respond::{self, Header},
    stream,
    worker::{self, Sink},
};

/// The provider name reported in [`ResponseMeta::provider`].
pub const PROVIDER: &str = "local";
/// How long a refused caller is told to wait before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Text pieces buffered between the generation thread and a slow reader.
const STREAM_BUFFER: usize = 32;

/// Answers chat and completion requests from a GGUF llama model run in
/// process on the CPU.
///
/// Cloning is cheap: clones share the weights and the concurrency limits.
#[derive(Clone)]
pub struct LocalChat {
    shared: Arc<Shared>,
}

struct Shared {
    model: Arc<LoadedModel>,
    /// Permits for generations running or waiting; none left means 503.
    admitted: Arc<Semaphore>,
    /// Permits for generations running.
    running: Arc<Semaphore>,
    next_id: AtomicU64,
    /// Put first in chats that bring no system message.
    system_prompt: Option<ChatMessage>,
}

impl std::fmt::Debug for LocalChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChat")
            .field("model", &self.shared.model.name)
            .finish_non_exhaustive()
    }
}

/// Builds a [`LocalChat`]; see [`LocalChat::builder`].
#[derive(Debug, Clone)]
pub struct LocalChatBuilder {
    path: PathBuf,
    max_concurrent: usize,
    max_queue: usize,
    system_prompt: Option<String>,
}

impl LocalChat {
    /// A builder for the model in the GGUF file at `model_path`.
    ///
    /// By default one generation runs at a time and 64 more may wait.
    pub fn builder(model_path: impl Into<PathBuf>) -> LocalChatBuilder {
        LocalChatBuilder {
            path: model_path.into(),
            max_concurrent: 1,
            max_queue: 64,
            system_prompt: None,
        }
    }

    /// The model's name: its file's stem.
    pub fn model_name(&self) -> &str {
        &self.shared.model.name
    }

    /// The number of tokens `text` encodes to, special tokens such as
    /// `<|im_start|>` included.
    pub fn count_tokens(&self, text: &str) -> Result<usize, GatewayError> {
        self.shared
            .model
            .tokenizer
            .tokenizer
            .encode(text, false)
            .map(|encoding| encoding.len())
            .map_err(|e| GatewayError::internal(format!("cannot tokenize: {e}")))
    }
}

impl LocalChatBuilder {
    /// Most generations that run at once (at least 1).
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n;
        self
    }

    /// Most requests that wait for a free generation slot; past that,
    /// requests are refused with 503 and `Retry-After`.
    pub fn max_queue(mut self, n: usize) -> Self {
        self.max_queue = n;
        self
    }

    /// The system message for chats that bring none. Without it, the
    /// model's own chat template decides (SmolLM2's adds "You are a helpful
    /// AI assistant named SmolLM, trained by Hugging Face").
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Loads the model (this reads the whole file: call it off the async
    /// runtime, or before it starts).
    pub fn build(self) -> Result<LocalChat, LocalError> {
        if self.max_concurrent == 0 {
            return Err(LocalError::Config(
                "`max_concurrent` must be at least 1".into(),
            ));
        }
        let admitted = self
            .max_concurrent
            .checked_add(self.max_queue)
            .filter(|n| *n <= Semaphore::MAX_PERMITS)
            .ok_or_else(|| LocalError::Config("`max_queue` is too large".into()))?;
        let model = LoadedModel::load(&self.path)?;
        Ok(LocalChat {
            shared: Arc::new(Shared {
                model: Arc::new(model),
                admitted: Arc::new(Semaphore::new(admitted)),
                running: Arc::new(Semaphore::new(self.max_concurrent)),
                next_id: AtomicU64::new(0),
                system_prompt: self
                    .system_prompt
                    .map(|prompt| ChatMessage::text(Role::System, prompt)),
            }),
        })
    }
}

impl Service<GatewayRequest> for LocalChat {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let job = match job::job(&shared.model, &request, shared.system_prompt.as_ref()) {
            Ok(job) => job,
            Err(error) => return ResponseFuture::ready(Err(error)),
        };
        let admission = match Arc::clone(&shared.admitted).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                return ResponseFuture::ready(Err(GatewayError::new(
                    towergate_core::ErrorKind::Unavailable,
                    format!(
                        "local model `{}` is busy and its queue is full",
                        shared.model.name
                    ),
                )
                .with_retry_after(RETRY_AFTER)));
            }
        };
        ResponseFuture::new(Box::pin(async move {
            let started = Instant::now();
            let running = Arc::clone(&shared.running)
                .acquire_owned()
                .await
                .map_err(|_| GatewayError::internal("the local model was shut down"))?;
            let permits = vec![admission, running];
            let serial = shared.next_id.fetch_add(1, Ordering::Relaxed);
            let prefix = match job.shape {
                Shape::Chat => "chatcmpl",
                Shape::Completion => "cmpl",
            };
            let header = Header::new(format!("{prefix}-local-{serial}"), &shared.model.name);
            let mut response = if job.stream {
                answer_stream(&shared, job, header, permits)?
            } else {
                answer_whole(&shared, job, header, permits).await?
            };
            response.meta.upstream_latency = Some(started.elapsed());
            Ok(response)
        }))
    }
}

fn meta(shared: &Shared) -> ResponseMeta {
    ResponseMeta {
        provider: Some(PROVIDER.into()),
        model: Some(shared.model.name.clone()),
        attempts: 1,
        ..ResponseMeta::default()
    }
}

fn spawn_failed(error: std::io::Error) -> GatewayError {
    GatewayError::new(
        towergate_core::ErrorKind::Unavailable,
        format!("cannot start a generation thread: {error}"),
    )
    .with_retry_after(RETRY_AFTER)
}

async fn answer_whole(
    shared: &Shared,
    job: Job,
    header: Header,
    permits: Vec<tokio::sync::OwnedSemaphorePermit>,
) -> Result<GatewayResponse, GatewayError> {
    let shape = job.shape;
    let (reply, result) = oneshot::channel();
    worker::spawn(Arc::clone(&shared.model), job, Sink::Whole(reply), permits)
        .map_err(spawn_failed)?;
    let (text, finish) = result
        .await
        .map_err(|_| GatewayError::internal("the local generation stopped unexpectedly"))?
        .map_err(|message| GatewayError::internal(format!("local generation failed: {message}")))?;
    let usage = respond::usage(&finish);
    let payload = match shape {
        Shape::Chat => Payload::Chat(respond::chat(&header, text, &finish)),
        Shape::Completion => Payload::Completion(respond::completion(
            &header,
            Some(text),
            Some(finish.reason.as_str()),
            Some(usage.clone()),
        )),
    };
    let mut meta = meta(shared);
    meta.usage = Some(usage);
    Ok(GatewayResponse { payload, meta })
}

fn answer_stream(
    shared: &Shared,
    job: Job,
    header: Header,
    permits: Vec<tokio::sync::OwnedSemaphorePermit>,
) -> Result<GatewayResponse, GatewayError> {
    let (shape, include_usage) = (job.shape, job.include_usage);
    let (events, receiver) = mpsc::channel(STREAM_BUFFER);
    worker::spawn(
        Arc::clone(&shared.model),
        job,
        Sink::Stream(events),
        permits,
    )
    .map_err(spawn_failed)?;
    let payload = match shape {
        Shape::Chat => Payload::ChatStream(stream::chat(receiver, header, include_usage)),
        Shape::Completion => {
            Payload::CompletionStream(stream::completion(receiver, header, include_usage))
        }
    };
    Ok(GatewayResponse {
        payload,
        meta: meta(shared),
    })
}
