//! Embeddings through `InvokeModel`: Titan takes one text per call, Cohere
//! a list.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use towergate_core::{
    Extra, GatewayError, GatewayResponse, Payload, ResponseMeta, Usage,
    embeddings::{Embedding, EmbeddingInput, EmbeddingsRequest, EmbeddingsResponse, Vector},
};

use super::{Config, PROVIDER, sign};
use crate::{HttpClient, error, upstream};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanAnswer {
    embedding: Vec<f32>,
    #[serde(default)]
    input_text_token_count: u64,
}

#[derive(Debug, Deserialize)]
struct CohereAnswer {
    embeddings: Vec<Vec<f32>>,
}

/// The embedding models Bedrock serves here.
enum Family {
    Titan,
    Cohere,
}

fn family(model: &str) -> Option<Family> {
    if model.contains("titan-embed") {
        Some(Family::Titan)
    } else if model.contains("cohere.embed") {
        Some(Family::Cohere)
    } else {
        None
    }
}

/// Embeds every input with the configured model.
pub(super) async fn embed(
    config: Arc<Config>,
    client: HttpClient,
    request: EmbeddingsRequest,
) -> Result<GatewayResponse, GatewayError> {
    let Some(family) = family(&config.upstream.model) else {
        return Err(GatewayError::invalid(format!(
            "provider bedrock embeds with Titan (`amazon.titan-embed-*`) or Cohere \
             (`cohere.embed-*`) models, not `{}`",
            config.upstream.model
        )));
    };
    let texts = match request.input {
        EmbeddingInput::Text(text) => vec![text],
        EmbeddingInput::Texts(texts) => texts,
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(
                GatewayError::invalid("provider bedrock embeds text only, not token ids")
                    .with_param("input"),
            );
        }
    };
    let base64 = request.encoding_format.as_deref() == Some("base64");
    let started = tokio::time::Instant::now();
    let (vectors, prompt_tokens) = match family {
        Family::Titan => {
            let mut vectors = Vec::with_capacity(texts.len());
            let mut tokens = 0;
            for text in texts {
                let mut body = json!({"inputText": text});
                if let Some(dimensions) = request.dimensions {
                    body["dimensions"] = json!(dimensions);
                }
                let answer: TitanAnswer = invoke(&config, &client, &body).await?;
                tokens += answer.input_text_token_count;
                vectors.push(answer.embedding);
            }
            (vectors, tokens)
        }
        Family::Cohere => {
            let body = json!({"texts": texts, "input_type": "search_document"});
            let answer: CohereAnswer = invoke(&config, &client, &body).await?;
            (answer.embeddings, 0)
        }
    };
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            embedding: if base64 {
                Vector::Base64(upstream::base64_floats(&vector))
            } else {
                Vector::Float(vector)
            },
        })
        .collect();
    let usage = Usage::new(prompt_tokens, 0);
    Ok(GatewayResponse {
        payload: Payload::Embeddings(EmbeddingsResponse {
            object: "list".to_owned(),
            data,
            model: config.upstream.model.clone(),
            usage: Some(usage.clone()),
            extra: Extra::new(),
        }),
        meta: ResponseMeta {
            provider: Some(PROVIDER.to_owned()),
            model: Some(config.upstream.model.clone()),
            usage: Some(usage),
            upstream_latency: Some(started.elapsed()),
            attempts: 1,
            ..ResponseMeta::default()
        },
    })
}

/// One signed `InvokeModel` call with the JSON `body`.
async fn invoke<T: serde::de::DeserializeOwned>(
    config: &Config,
    client: &HttpClient,
    body: &Value,
) -> Result<T, GatewayError> {
    let body = serde_json::to_vec(body).map_err(|failure| {
        GatewayError::internal(format!("cannot encode the request for Bedrock: {failure}"))
    })?;
    let request = sign::signed_request(config, &config.invoke, body.into(), "application/json")?;
    let host = &config.upstream.host;
    let sent = config
        .upstream
        .send(client, request, error::from_status)
        .await?;
    let status = sent.status;
    let bytes = sent.bytes(host).await?;
    upstream::parse_json(&bytes, host, status, "a Bedrock embedding answer")
}
