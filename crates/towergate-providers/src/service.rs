//! The `tower::Service` side every adapter shares: always ready, and each
//! call started by the adapter's own `start`.
//!
//! An adapter type implements [`Start`] and gets its
//! `Service<GatewayRequest>` from [`gateway_service!`]. Adapters that send
//! text completions over their chat API read a request's operation with
//! [`Call::over_chat`].

use towergate_core::{GatewayError, GatewayRequest};

use crate::future::ResponseFuture;

/// Starts one call of an adapter: encodes the request (a refusal is a
/// failed [`ResponseFuture`]) and returns the future of its answer.
pub(crate) trait Start {
    /// The call for `request`.
    fn start(&self, request: GatewayRequest) -> ResponseFuture;
}

/// What no provider can answer: listing endpoints is the router's job.
pub(crate) fn cannot_list_endpoints() -> GatewayError {
    GatewayError::invalid("a provider cannot list endpoints; the router answers that")
}

/// `tower::Service<GatewayRequest>` for an adapter that implements
/// [`Start`]: always ready (the pooled client queues), each call started
/// by [`Start::start`].
///
/// A blanket impl over `Start` is not allowed for a foreign trait, hence
/// the macro.
macro_rules! gateway_service {
    ($adapter:ty) => {
        impl tower_service::Service<towergate_core::GatewayRequest> for $adapter {
            type Response = towergate_core::GatewayResponse;
            type Error = towergate_core::GatewayError;
            type Future = $crate::future::ResponseFuture;

            fn poll_ready(
                &mut self,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: towergate_core::GatewayRequest) -> Self::Future {
                $crate::service::Start::start(self, request)
            }
        }
    };
}

pub(crate) use gateway_service;

/// One call to an adapter that serves text completions over its chat API.
#[cfg(any(
    feature = "anthropic",
    feature = "bedrock",
    feature = "cohere",
    feature = "mistral"
))]
#[allow(
    clippy::large_enum_variant,
    reason = "lives only while one request is encoded, as the operation it comes from"
)]
pub(crate) enum Call {
    /// A chat request; `as_completion` when it came as a text completion,
    /// whose answer goes back as one.
    Chat {
        chat: towergate_core::chat::ChatRequest,
        as_completion: bool,
    },
    /// An embeddings request.
    Embeddings(towergate_core::embeddings::EmbeddingsRequest),
}

#[cfg(any(
    feature = "anthropic",
    feature = "bedrock",
    feature = "cohere",
    feature = "mistral"
))]
impl Call {
    /// Reads `operation`: a completion becomes a chat (the prompt as the
    /// one user message); listing endpoints is refused.
    pub(crate) fn over_chat(operation: towergate_core::Operation) -> Result<Self, GatewayError> {
        use towergate_core::Operation;
        match operation {
            Operation::Chat(chat) => Ok(Call::Chat {
                chat,
                as_completion: false,
            }),
            Operation::Completion(completion) => {
                crate::completions_over_chat::completion_to_chat(completion).map(|chat| {
                    Call::Chat {
                        chat,
                        as_completion: true,
                    }
                })
            }
            Operation::Embeddings(embeddings) => Ok(Call::Embeddings(embeddings)),
            Operation::ListEndpoints => Err(cannot_list_endpoints()),
        }
    }
}

/// The chat `response` as a text completion when `as_completion`, else as it is.
#[cfg(any(
    feature = "anthropic",
    feature = "bedrock",
    feature = "cohere",
    feature = "gemini",
    feature = "mistral"
))]
pub(crate) fn answer_as(
    as_completion: bool,
    response: towergate_core::GatewayResponse,
) -> Result<towergate_core::GatewayResponse, GatewayError> {
    if as_completion {
        crate::completions_over_chat::chat_answer_to_completion(response)
    } else {
        Ok(response)
    }
}
