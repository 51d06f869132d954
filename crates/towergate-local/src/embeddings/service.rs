//! The tower service that answers embeddings requests with the local model.

use std::{
    fmt,
    path::Path,
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::future::try_join_all;
use tokio::sync::Semaphore;
use tower_service::Service;
use towergate_core::{
    ErrorKind, GatewayError, GatewayRequest, GatewayResponse, Payload, Usage,
    embeddings::{Embedding, EmbeddingsResponse},
};

use super::{
    MODEL_NAME, PROVIDER_NAME, builder::LocalEmbeddingsBuilder, encoder::SentenceEncoder,
    future::ResponseFuture, request::EmbeddingsJob,
};

/// What every clone of a [`LocalEmbeddings`] shares.
pub(crate) struct Shared {
    pub(crate) encoder: SentenceEncoder,
    /// One permit per batch that may compute at once.
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) max_batch: usize,
    pub(crate) max_inputs: usize,
}

/// Sentence embeddings from all-MiniLM-L6-v2, computed in process on the CPU.
///
/// Answers [`Operation::Embeddings`](towergate_core::Operation::Embeddings)
/// with 384-dimensional unit vectors (BERT, mean pooling over the attention
/// mask, L2 normalisation). Texts are split into batches of
/// [`max_batch`](LocalEmbeddingsBuilder::max_batch); each batch runs on
/// Tokio's blocking pool (`spawn_blocking`) once it holds one of
/// [`max_concurrent_batches`](LocalEmbeddingsBuilder::max_concurrent_batches)
/// semaphore permits, so the async workers never compute. Needs a Tokio
/// runtime. Cloning is cheap: the model is shared.
#[derive(Clone)]
pub struct LocalEmbeddings {
    shared: Arc<Shared>,
}

impl fmt::Debug for LocalEmbeddings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEmbeddings")
            .field("model", &MODEL_NAME)
            .field("dimensions", &self.shared.encoder.dimensions())
            .field("max_batch", &self.shared.max_batch)
            .field("max_inputs", &self.shared.max_inputs)
            .finish_non_exhaustive()
    }
}

impl LocalEmbeddings {
    /// A builder for the model in `model_dir` (`config.json`,
    /// `model.safetensors` and `tokenizer.json`; each may be pointed
    /// elsewhere on the builder).
    pub fn builder(model_dir: impl AsRef<Path>) -> LocalEmbeddingsBuilder {
        LocalEmbeddingsBuilder::new(model_dir.as_ref())
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The length of the vectors the model makes.
    pub fn dimensions(&self) -> usize {
        self.shared.encoder.dimensions()
    }
}

impl Service<GatewayRequest> for LocalEmbeddings {
    type Response = GatewayResponse;
    type Error = GatewayError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Back-pressure is per batch, inside the call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: GatewayRequest) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        match EmbeddingsJob::from_request(request, shared.encoder.dimensions(), shared.max_inputs) {
            Ok(job) => ResponseFuture::new(embed(shared, job)),
            Err(error) => ResponseFuture::failed(error),
        }
    }
}

/// Runs every batch of `job` and assembles the answer.
async fn embed(shared: Arc<Shared>, job: EmbeddingsJob) -> Result<GatewayResponse, GatewayError> {
    let batches = job.batches(shared.max_batch);
    let runs = batches
        .into_iter()
        .map(|indices| run_batch(Arc::clone(&shared), Arc::clone(&job.texts), indices));
    let done = try_join_all(runs).await?;

    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; job.texts.len()];
    let mut tokens = 0u64;
    for (indices, batch) in done {
        tokens += batch.tokens;
        for (index, vector) in indices.into_iter().zip(batch.vectors) {
            vectors[index] = Some(vector);
        }
    }
    let mut data = Vec::with_capacity(vectors.len());
    for (index, vector) in vectors.into_iter().enumerate() {
        let vector = vector
            .ok_or_else(|| GatewayError::internal(format!("input {index} was not embedded")))?;
        data.push(Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            embedding: job.shape(vector),
        });
    }
    let usage = Usage::new(tokens, 0);
    let mut response = GatewayResponse::new(Payload::Embeddings(EmbeddingsResponse {
        object: "list".to_owned(),
        data,
        model: MODEL_NAME.to_owned(),
        usage: Some(usage.clone()),
        extra: Default::default(),
    }));
    response.meta.provider = Some(PROVIDER_NAME.to_owned());
    response.meta.model = Some(MODEL_NAME.to_owned());
    response.meta.usage = Some(usage);
    Ok(response)
}

/// Waits for a permit, then embeds the texts at `indices` on the blocking pool.
async fn run_batch(
    shared: Arc<Shared>,
    texts: Arc<[String]>,
    indices: Vec<usize>,
) -> Result<(Vec<usize>, super::encoder::EncodedBatch), GatewayError> {
    let permit = Arc::clone(&shared.permits)
        .acquire_owned()
        .await
        .map_err(|_| GatewayError::new(ErrorKind::Unavailable, "the embedding model is closed"))?;
    let indices_for_task = indices.clone();
    let batch = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let batch: Vec<&str> = indices_for_task
            .iter()
            .map(|&index| texts[index].as_str())
            .collect();
        shared.encoder.encode(&batch)
    })
    .await
    .map_err(|error| GatewayError::internal(format!("embedding task failed: {error}")))??;
    Ok((indices, batch))
}
