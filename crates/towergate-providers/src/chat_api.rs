//! One call to an upstream whose chat API takes a JSON body and answers
//! JSON, or server-sent events for a stream; text completions go over the
//! chat API and embeddings, where the provider has them, to their own URL.
//!
//! What differs from provider to provider (the URLs, the bodies, the
//! answers, the stream's events) is its [`ChatApi`]; [`start`] does the
//! rest the same way for each.

use std::sync::Arc;

use bytes::Bytes;
use http::{StatusCode, Uri};
use towergate_core::{
    EndpointType, GatewayError, GatewayRequest, GatewayResponse, chat::ChatChunk,
    chat::ChatRequest, embeddings::EmbeddingsRequest,
};

use crate::{
    HttpClient, error,
    future::ResponseFuture,
    service::{Call, answer_as},
    sse::Translate,
    upstream::Upstream,
};

/// A provider's chat (and embeddings) wire: its configuration, shared by
/// every call behind an `Arc`.
pub(crate) trait ChatApi: Send + Sync + 'static {
    /// Turns the provider's stream events into chat chunks.
    type Stream: Translate<Chunk = ChatChunk> + Send + Unpin + 'static;
    /// What reading an embeddings answer needs to know of its request.
    type Embed: Send + 'static;

    /// The host, headers, timeouts and model every call shares.
    fn upstream(&self) -> &Upstream;

    /// Where chat requests go.
    fn chat_uri(&self) -> &Uri;

    /// The provider's chat body for `chat`.
    fn encode_chat(&self, chat: ChatRequest) -> Result<Bytes, GatewayError>;

    /// Reads a complete chat answer.
    fn decode_chat(&self, status: StatusCode, body: &[u8])
    -> Result<GatewayResponse, GatewayError>;

    /// A fresh translator for one streamed answer.
    fn stream(&self) -> Self::Stream;

    /// Where the embeddings request goes, its body, and what reading its
    /// answer needs; by default the provider has no embeddings (400).
    fn encode_embeddings(
        &self,
        request: EmbeddingsRequest,
    ) -> Result<(Uri, Bytes, Self::Embed), GatewayError> {
        drop(request);
        Err(error::not_served(
            self.upstream().provider,
            EndpointType::Embeddings,
        ))
    }

    /// Reads an embeddings answer.
    fn decode_embeddings(
        &self,
        status: StatusCode,
        body: &[u8],
        embed: Self::Embed,
    ) -> Result<GatewayResponse, GatewayError>;
}

/// What one call sends, encoded before any I/O.
enum Encoded<E> {
    Chat {
        body: Bytes,
        stream: bool,
        as_completion: bool,
    },
    Embeddings {
        /// Boxed: a `Uri` is several times larger than the chat variant.
        uri: Box<Uri>,
        body: Bytes,
        embed: E,
    },
}

/// Starts one call of the adapter configured by `api` over `client`.
pub(crate) fn start<A: ChatApi>(
    api: &Arc<A>,
    client: &HttpClient,
    request: GatewayRequest,
) -> ResponseFuture {
    let encoded = Call::over_chat(request.operation).and_then(|call| match call {
        Call::Chat {
            chat,
            as_completion,
        } => {
            let stream = chat.is_stream();
            api.encode_chat(chat).map(|body| Encoded::Chat {
                body,
                stream,
                as_completion,
            })
        }
        Call::Embeddings(request) => {
            api.encode_embeddings(request)
                .map(|(uri, body, embed)| Encoded::Embeddings {
                    uri: Box::new(uri),
                    body,
                    embed,
                })
        }
    });
    match encoded {
        Ok(encoded) => ResponseFuture::new(exchange(Arc::clone(api), client.clone(), encoded)),
        Err(error) => ResponseFuture::failed(error),
    }
}

async fn exchange<A: ChatApi>(
    api: Arc<A>,
    client: HttpClient,
    encoded: Encoded<A::Embed>,
) -> Result<GatewayResponse, GatewayError> {
    let upstream = api.upstream();
    let host = &upstream.host;
    match encoded {
        Encoded::Chat {
            body,
            stream,
            as_completion,
        } => {
            let sent = upstream
                .post(&client, api.chat_uri(), body, stream, error::from_status)
                .await?;
            let latency = sent.latency;
            let response = if stream {
                upstream.chat_stream(upstream.translated(sent.body, api.stream()))
            } else {
                let status = sent.status;
                let bytes = sent.bytes(host).await?;
                api.decode_chat(status, &bytes)?
            };
            answer_as(as_completion, upstream.stamp(response, latency))
        }
        Encoded::Embeddings { uri, body, embed } => {
            let sent = upstream
                .post(&client, &uri, body, false, error::from_status)
                .await?;
            let latency = sent.latency;
            let status = sent.status;
            let bytes = sent.bytes(host).await?;
            let response = api.decode_embeddings(status, &bytes, embed)?;
            Ok(upstream.stamp(response, latency))
        }
    }
}
