//! Text completions served by a chat API, as MLflow's gateway does for OpenAI.
//!
//! Most current models only have a chat API. [`CompletionsOverChat`] turns a
//! completion request into a chat request with the prompt as the one user
//! message, and the chat answer (complete or streamed) back into a
//! completion answer. Chat and embeddings requests pass through untouched.
//!
//! ```
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload};
//! use towergate_core::chat::{ChatChoice, ChatMessage, ChatResponse, Role};
//! use towergate_providers::completions_over_chat::CompletionsOverChatLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let chat_only = service_fn(|request: GatewayRequest| async move {
//!     let Operation::Chat(chat) = request.operation else {
//!         return Err(GatewayError::invalid("chat only"));
//!     };
//!     let prompt = chat.messages[0].text_content().unwrap_or_default();
//!     Ok(GatewayResponse::new(Payload::Chat(ChatResponse {
//!         id: "chatcmpl-1".into(),
//!         object: "chat.completion".into(),
//!         created: 0,
//!         model: "m".into(),
//!         choices: vec![ChatChoice {
//!             index: 0,
//!             message: ChatMessage::text(Role::Assistant, format!("{prompt}!")),
//!             finish_reason: Some("stop".into()),
//!             logprobs: None,
//!         }],
//!         usage: None,
//!         system_fingerprint: None,
//!         extra: Default::default(),
//!     })))
//! });
//! let service = CompletionsOverChatLayer::new().layer(chat_only);
//! let completion = serde_json::from_str(r#"{"prompt": "hello"}"#).unwrap();
//! let response = service
//!     .oneshot(GatewayRequest::new("c", Operation::Completion(completion)))
//!     .await
//!     .unwrap();
//! let Payload::Completion(answer) = response.payload else { panic!() };
//! assert_eq!(answer.object, "text_completion");
//! assert_eq!(answer.choices[0].text, "hello!");
//! # }
//! ```

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use futures_util::StreamExt;
use pin_project_lite::pin_project;
use tower::Layer;
use tower_service::Service;
use towergate_core::{
    ChunkStream, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    chat::{ChatChunk, ChatMessage, ChatRequest, ChatResponse, Role},
    completion::{
        CompletionChoice, CompletionChunk, CompletionRequest, CompletionResponse, Prompt,
    },
};

/// Wraps a chat-only provider in [`CompletionsOverChat`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CompletionsOverChatLayer;

impl CompletionsOverChatLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for CompletionsOverChatLayer {
    type Service = CompletionsOverChat<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CompletionsOverChat { inner }
    }
}

/// Serves completion requests with the inner service's chat API.
#[derive(Debug, Clone)]
pub struct CompletionsOverChat<S> {
    inner: S,
}

impl<S> Service<GatewayRequest> for CompletionsOverChat<S>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>,
{
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: GatewayRequest) -> Self::Future {
        let Operation::Completion(_) = request.operation else {
            return ResponseFuture::passed(self.inner.call(request));
        };
        let Operation::Completion(completion) =
            std::mem::replace(&mut request.operation, Operation::ListEndpoints)
        else {
            return ResponseFuture::refused(GatewayError::internal("completion vanished"));
        };
        match completion_to_chat(completion) {
            Ok(chat) => {
                request.operation = Operation::Chat(chat);
                ResponseFuture::translated(self.inner.call(request))
            }
            Err(error) => ResponseFuture::refused(error),
        }
    }
}

pin_project! {
    /// The future of [`CompletionsOverChat`].
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Passed { #[pin] inner: F },
        Translated { #[pin] inner: F },
        Refused { error: Option<GatewayError> },
    }
}

impl<F> ResponseFuture<F> {
    fn passed(inner: F) -> Self {
        Self {
            state: State::Passed { inner },
        }
    }

    fn translated(inner: F) -> Self {
        Self {
            state: State::Translated { inner },
        }
    }

    fn refused(error: GatewayError) -> Self {
        Self {
            state: State::Refused { error: Some(error) },
        }
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<GatewayResponse, GatewayError>>,
{
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Passed { inner } => inner.poll(cx),
            StateProj::Translated { inner } => {
                let response = ready!(inner.poll(cx))?;
                Poll::Ready(chat_answer_to_completion(response))
            }
            StateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| GatewayError::internal("future polled twice")))),
        }
    }
}

fn unsupported(field: &str) -> GatewayError {
    GatewayError::invalid(format!(
        "`{field}` is not supported: this endpoint serves completions through a chat API"
    ))
    .with_param(field)
}

/// The prompt as the one user message; what a chat API cannot do is refused.
pub(crate) fn completion_to_chat(
    completion: CompletionRequest,
) -> Result<ChatRequest, GatewayError> {
    let prompt = match completion.prompt {
        Prompt::Text(text) => text,
        Prompt::Texts(mut texts) if texts.len() == 1 => texts.remove(0),
        Prompt::Texts(_) | Prompt::TokenBatches(_) => {
            return Err(GatewayError::invalid(
                "`prompt` must be a single text: this endpoint serves completions through a chat API",
            )
            .with_param("prompt"));
        }
        Prompt::Tokens(_) => return Err(unsupported("prompt")),
    };
    if completion.suffix.is_some() {
        return Err(unsupported("suffix"));
    }
    if completion.echo == Some(true) {
        return Err(unsupported("echo"));
    }
    if completion.best_of.is_some_and(|best| best > 1) {
        return Err(unsupported("best_of"));
    }
    if completion.logprobs.is_some() {
        return Err(unsupported("logprobs"));
    }
    Ok(ChatRequest {
        model: completion.model,
        messages: vec![ChatMessage::text(Role::User, prompt)],
        temperature: completion.temperature,
        top_p: completion.top_p,
        n: completion.n,
        stream: completion.stream,
        stream_options: completion.stream_options,
        stop: completion.stop,
        max_tokens: completion.max_tokens,
        presence_penalty: completion.presence_penalty,
        frequency_penalty: completion.frequency_penalty,
        logit_bias: completion.logit_bias,
        user: completion.user,
        seed: completion.seed,
        extra: completion.extra,
        ..ChatRequest::default()
    })
}

pub(crate) fn chat_answer_to_completion(
    response: GatewayResponse,
) -> Result<GatewayResponse, GatewayError> {
    let GatewayResponse { payload, meta } = response;
    let payload = match payload {
        Payload::Chat(chat) => Payload::Completion(chat_to_completion(chat)),
        Payload::ChatStream(chunks) => Payload::CompletionStream(chunks_to_completion(chunks)),
        other => other,
    };
    Ok(GatewayResponse { payload, meta })
}

fn chat_to_completion(chat: ChatResponse) -> CompletionResponse {
    CompletionResponse {
        id: chat.id,
        object: "text_completion".to_owned(),
        created: chat.created,
        model: chat.model,
        choices: chat
            .choices
            .into_iter()
            .map(|choice| CompletionChoice {
                text: choice.message.text_content().unwrap_or_default(),
                index: choice.index,
                logprobs: None,
                finish_reason: choice.finish_reason,
            })
            .collect(),
        usage: chat.usage,
        system_fingerprint: chat.system_fingerprint,
        extra: chat.extra,
    }
}

/// Chat chunks as completion chunks; chunks that carry nothing a completion
/// has (the role-only first chunk) are left out.
fn chunks_to_completion(chunks: ChunkStream<ChatChunk>) -> ChunkStream<CompletionChunk> {
    Box::pin(chunks.filter_map(|item| async move {
        match item {
            Ok(chunk) => {
                let carries = chunk.usage.is_some()
                    || chunk
                        .choices
                        .iter()
                        .any(|c| c.delta.content.is_some() || c.finish_reason.is_some());
                carries.then(|| Ok(chunk_to_completion(chunk)))
            }
            Err(error) => Some(Err(error)),
        }
    }))
}

fn chunk_to_completion(chunk: ChatChunk) -> CompletionChunk {
    CompletionChunk {
        id: chunk.id,
        object: "text_completion".to_owned(),
        created: chunk.created,
        model: chunk.model,
        choices: chunk
            .choices
            .into_iter()
            .map(|choice| CompletionChoice {
                text: choice.delta.content.unwrap_or_default(),
                index: choice.index,
                logprobs: None,
                finish_reason: choice.finish_reason,
            })
            .collect(),
        usage: chunk.usage,
        system_fingerprint: chunk.system_fingerprint,
        extra: chunk.extra,
    }
}
