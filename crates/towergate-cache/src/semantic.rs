//! The semantic cache's embedder: [`Embed`], and [`EndpointEmbedder`]
//! over any embeddings service.
//!
//! A semantic lookup embeds the text of a request (a chat's last user
//! message, a completion's prompt) and looks for the cached prompt of the
//! same partition whose vector is nearest. See the
//! [crate docs](crate#semantic-cache) for when to use it and its risks.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use tower::ServiceExt;
use tower_service::Service;
use towergate_core::{
    GatewayError, GatewayRequest, GatewayResponse, Operation, Payload,
    embeddings::{EmbeddingInput, EmbeddingsRequest, Vector},
};

/// The future an embedder answers with.
pub type EmbedFuture = Pin<Box<dyn Future<Output = Result<Vec<f32>, GatewayError>> + Send>>;

/// Turns a text into a vector.
pub trait Embed: Send + Sync + 'static {
    /// The embedding of `text`.
    fn embed(&self, text: String) -> EmbedFuture;
}

/// Embeds through an embeddings service: the endpoint a config's
/// `embedding_endpoint` names, a provider adapter, or the local model.
///
/// ```
/// use towergate_cache::{Embed, EndpointEmbedder};
/// use towergate_testkit::MockProvider;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let embedder = EndpointEmbedder::new("embed", MockProvider::new());
/// let vector = embedder.embed("What is the capital of France?".into()).await.unwrap();
/// assert!(!vector.is_empty());
/// # }
/// ```
pub struct EndpointEmbedder<S> {
    endpoint: Arc<str>,
    service: S,
}

impl<S> EndpointEmbedder<S> {
    /// Embeds by calling `service` as the endpoint `endpoint`.
    pub fn new(endpoint: impl Into<Arc<str>>, service: S) -> Self {
        EndpointEmbedder {
            endpoint: endpoint.into(),
            service,
        }
    }
}

impl<S> fmt::Debug for EndpointEmbedder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointEmbedder")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl<S> Embed for EndpointEmbedder<S>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    fn embed(&self, text: String) -> EmbedFuture {
        let service = self.service.clone();
        let endpoint = Arc::clone(&self.endpoint);
        Box::pin(async move {
            let request = EmbeddingsRequest {
                model: Some(endpoint.to_string()),
                input: EmbeddingInput::Text(text),
                encoding_format: None,
                dimensions: None,
                user: None,
                extra: Default::default(),
            };
            let request = GatewayRequest::new(&*endpoint, Operation::Embeddings(request));
            let response = service.oneshot(request).await?;
            let Payload::Embeddings(embeddings) = response.payload else {
                return Err(GatewayError::internal(format!(
                    "embedding endpoint `{endpoint}` did not answer with embeddings"
                )));
            };
            let vector = embeddings
                .data
                .into_iter()
                .next()
                .and_then(|embedding| match embedding.embedding {
                    Vector::Float(vector) => Some(vector),
                    Vector::Base64(_) => None,
                })
                .ok_or_else(|| {
                    GatewayError::internal(format!(
                        "embedding endpoint `{endpoint}` answered with no float vector"
                    ))
                })?;
            Ok(vector)
        })
    }
}

/// `vector` scaled to length 1; `None` for a vector of length 0 or one
/// with a value that is not finite.
///
/// ```
/// let unit = towergate_cache::semantic::unit_vector(vec![3.0, 4.0]).unwrap();
/// assert_eq!(&*unit, &[0.6, 0.8]);
/// assert!(towergate_cache::semantic::unit_vector(vec![0.0, 0.0]).is_none());
/// ```
pub fn unit_vector(mut vector: Vec<f32>) -> Option<Arc<[f32]>> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return None;
    }
    for x in &mut vector {
        *x /= norm;
    }
    Some(vector.into())
}
