//! What an embeddings request asks for, checked before the model runs, and
//! how its vectors are shaped into the answer.

use std::sync::Arc;

use base64::Engine as _;
use towergate_core::{
    EndpointType, GatewayError, GatewayRequest, Operation,
    embeddings::{EmbeddingInput, Vector},
};

/// How the vectors go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Float,
    Base64,
}

/// A checked embeddings request.
#[derive(Debug)]
pub(crate) struct EmbeddingsJob {
    /// The texts, in the caller's order.
    pub(crate) texts: Arc<[String]>,
    /// Cut the vectors to this length and renormalise.
    pub(crate) dimensions: Option<usize>,
    pub(crate) encoding: Encoding,
}

impl EmbeddingsJob {
    /// Checks `request` against a model of `model_dimensions` taking at most
    /// `max_inputs` texts.
    pub(crate) fn from_request(
        request: GatewayRequest,
        model_dimensions: usize,
        max_inputs: usize,
    ) -> Result<Self, GatewayError> {
        let embeddings = match request.operation {
            Operation::Embeddings(embeddings) => embeddings,
            _ => return Err(request.unsupported_by(EndpointType::Embeddings)),
        };
        let texts: Vec<String> = match embeddings.input {
            EmbeddingInput::Text(text) => vec![text],
            EmbeddingInput::Texts(texts) => texts,
            EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
                return Err(GatewayError::invalid(
                    "`input` must be text or a list of texts: this model does not take token ids",
                )
                .with_param("input"));
            }
        };
        if texts.is_empty() {
            return Err(GatewayError::invalid("`input` must not be empty").with_param("input"));
        }
        if texts.len() > max_inputs {
            return Err(GatewayError::invalid(format!(
                "`input` holds {} texts; at most {max_inputs} are allowed",
                texts.len()
            ))
            .with_param("input"));
        }
        let dimensions = match embeddings.dimensions {
            None => None,
            Some(asked) => {
                let asked = usize::try_from(asked).unwrap_or(usize::MAX);
                if asked == 0 || asked > model_dimensions {
                    return Err(GatewayError::invalid(format!(
                        "`dimensions` must be between 1 and {model_dimensions}"
                    ))
                    .with_param("dimensions"));
                }
                (asked < model_dimensions).then_some(asked)
            }
        };
        let encoding = match embeddings.encoding_format.as_deref() {
            None | Some("float") => Encoding::Float,
            Some("base64") => Encoding::Base64,
            Some(other) => {
                return Err(GatewayError::invalid(format!(
                    "`encoding_format` must be `float` or `base64`, not `{other}`"
                ))
                .with_param("encoding_format"));
            }
        };
        Ok(Self {
            texts: texts.into(),
            dimensions,
            encoding,
        })
    }

    /// The texts' indices split into batches of at most `max_batch`, texts
    /// of like length together so that little padding is computed.
    pub(crate) fn batches(&self, max_batch: usize) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.texts.len()).collect();
        order.sort_by_key(|&index| self.texts[index].len());
        order
            .chunks(max_batch.max(1))
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// A unit vector from the model, cut to the asked length and put in the
    /// asked encoding.
    pub(crate) fn shape(&self, mut vector: Vec<f32>) -> Vector {
        if let Some(dimensions) = self.dimensions {
            vector.truncate(dimensions);
            normalise(&mut vector);
        }
        match self.encoding {
            Encoding::Float => Vector::Float(vector),
            Encoding::Base64 => {
                let bytes: Vec<u8> = vector
                    .iter()
                    .flat_map(|value| value.to_le_bytes())
                    .collect();
                Vector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        }
    }
}

/// Scales `vector` to unit length (a zero vector stays zero).
fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if norm > 1e-12 {
        for value in vector {
            *value /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use towergate_core::{ErrorKind, embeddings::EmbeddingsRequest};

    use super::*;

    fn request(body: serde_json::Value) -> GatewayRequest {
        let embeddings: EmbeddingsRequest = serde_json::from_value(body).unwrap();
        GatewayRequest::new("embed", Operation::Embeddings(embeddings))
    }

    fn refused(body: serde_json::Value) -> GatewayError {
        EmbeddingsJob::from_request(request(body), 384, 4).unwrap_err()
    }

    #[test]
    fn one_text_or_many_are_taken() {
        let one =
            EmbeddingsJob::from_request(request(serde_json::json!({"input": "hello"})), 384, 4)
                .unwrap();
        assert_eq!(&*one.texts, ["hello".to_owned()]);
        let many =
            EmbeddingsJob::from_request(request(serde_json::json!({"input": ["a", "b"]})), 384, 4)
                .unwrap();
        assert_eq!(&*many.texts, ["a".to_owned(), "b".to_owned()]);
        assert_eq!(many.encoding, Encoding::Float);
        assert_eq!(many.dimensions, None);
    }

    #[test]
    fn token_ids_are_refused_naming_input() {
        for input in [
            serde_json::json!([1, 2, 3]),
            serde_json::json!([[1, 2], [3]]),
        ] {
            let error = refused(serde_json::json!({ "input": input }));
            assert_eq!(error.kind(), ErrorKind::InvalidRequest);
            assert_eq!(error.param(), Some("input"));
        }
    }

    #[test]
    fn empty_or_oversized_input_is_refused() {
        let error = refused(serde_json::json!({"input": []}));
        assert_eq!(error.param(), Some("input"));
        let error = refused(serde_json::json!({"input": ["a", "b", "c", "d", "e"]}));
        assert_eq!(error.param(), Some("input"));
        assert!(error.message().contains("at most 4"), "{}", error.message());
    }

    #[test]
    fn other_operations_are_refused() {
        let chat = serde_json::from_value(serde_json::json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}]
        }))
        .unwrap();
        let error = EmbeddingsJob::from_request(
            GatewayRequest::new("embed", Operation::Chat(chat)),
            384,
            4,
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        let error = EmbeddingsJob::from_request(
            GatewayRequest::new("embed", Operation::ListEndpoints),
            384,
            4,
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn dimensions_must_fit_the_model() {
        for dimensions in [0, 385, u32::MAX] {
            let error = refused(serde_json::json!({"input": "a", "dimensions": dimensions}));
            assert_eq!(error.param(), Some("dimensions"), "{dimensions}");
        }
        let full = EmbeddingsJob::from_request(
            request(serde_json::json!({"input": "a", "dimensions": 384})),
            384,
            4,
        )
        .unwrap();
        assert_eq!(full.dimensions, None);
    }

    #[test]
    fn unknown_encoding_is_refused() {
        let error = refused(serde_json::json!({"input": "a", "encoding_format": "int8"}));
        assert_eq!(error.param(), Some("encoding_format"));
    }

    #[test]
    fn cut_vectors_are_renormalised() {
        let job = EmbeddingsJob::from_request(
            request(serde_json::json!({"input": "a", "dimensions": 2})),
            4,
            4,
        )
        .unwrap();
        let Vector::Float(vector) = job.shape(vec![0.6, 0.0, 0.8, 0.0]) else {
            panic!("floats were asked for");
        };
        assert_eq!(vector.len(), 2);
        assert!((vector[0] - 1.0).abs() < 1e-6, "{vector:?}");
        assert!(vector[1].abs() < 1e-6, "{vector:?}");
    }

    #[test]
    fn base64_holds_little_endian_floats() {
        let job = EmbeddingsJob::from_request(
            request(serde_json::json!({"input": "a", "encoding_format": "base64"})),
            2,
            4,
        )
        .unwrap();
        let Vector::Base64(text) = job.shape(vec![0.6, -0.8]) else {
            panic!("base64 was asked for");
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
            .collect();
        assert_eq!(floats, [0.6, -0.8]);
    }

    #[test]
    fn batches_cover_every_text_once_and_respect_the_size() {
        let job = EmbeddingsJob::from_request(
            request(serde_json::json!({"input": ["ccc", "a", "bb", "dddd"]})),
            384,
            4,
        )
        .unwrap();
        let batches = job.batches(3);
        assert!(batches.iter().all(|batch| batch.len() <= 3));
        assert_eq!(batches, [vec![1, 2, 0], vec![3]]);
    }
}
