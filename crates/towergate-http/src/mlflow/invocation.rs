//! `POST /endpoints/{name}/invocations`: the body read by the endpoint's type,
//! checked with MLflow's rules, and sent to the gateway stack.

use http::{HeaderMap, Response};
use http_body::Body;
use serde::de::DeserializeOwned;
use tower::ServiceExt;
use tower_service::Service;
use towergate_core::{
    BoxError, EndpointType, GatewayError, GatewayRequest, GatewayResponse, Operation, RequestId,
    chat::{ChatRequest, StreamOptions},
    completion::CompletionRequest,
    embeddings::EmbeddingsRequest,
};

use super::{
    Refusal, respond,
    validation::{Issues, Sampling},
};
use crate::{body::ResponseBody, decode, listing, reply};

/// What MLflow says when a body names a model: the endpoint already has one.
const MODEL_NOT_PERMITTED: &str = "The parameter 'model' is not permitted to be \
    passed. The route being queried already defines a model instance.";

/// Calls endpoint or route `name` with `body`.
///
/// The endpoint's type comes from the stack's own listing, so that the body
/// is read as MLflow reads it. A name the listing lacks (unknown, or hidden
/// from this caller's key) is still sent on when its body reads as some
/// model call, so the stack answers 404 or 403 as it does on every front.
pub(super) async fn invoke<S, B>(
    inner: S,
    name: &str,
    headers: HeaderMap,
    body: B,
    request_id: &RequestId,
    limit: usize,
) -> Result<Response<ResponseBody>, Refusal>
where
    S: Service<GatewayRequest, Response = GatewayResponse, Error = GatewayError> + Clone,
    B: Body,
    B::Error: Into<BoxError>,
{
    // The body is read first, even for a call the stack will refuse: an
    // answer sent before its request body is read leaves the connection
    // unusable, and a client that reuses it from its pool (as MLflow's
    // client does) fails with a dropped connection instead of the answer.
    let bytes = decode::read_body(&headers, body, limit).await?;
    let served = listing::fetch(inner.clone(), headers.clone(), request_id, Some(name))
        .await?
        .into_iter()
        .find(|info| info.name == name)
        .map(|info| info.endpoint_type);
    let operation = match served {
        Some(endpoint_type) => decode_for(endpoint_type, &bytes)?,
        None => guess(&bytes)
            .ok_or_else(|| GatewayError::not_found(format!("endpoint `{name}` does not exist")))?,
    };
    let include_usage = reply::wants_stream_usage(&operation);
    let request = GatewayRequest {
        endpoint: name.to_owned(),
        operation,
        request_id: request_id.clone(),
        headers,
        extensions: Default::default(),
    };
    let response = inner.oneshot(request).await?;
    Ok(respond::answer(response, include_usage)?)
}

/// Reads `bytes` as a call to an endpoint of `endpoint_type`, with MLflow's checks.
fn decode_for(endpoint_type: EndpointType, bytes: &[u8]) -> Result<Operation, Refusal> {
    let mut issues = Issues::default();
    let (mut operation, model) = match endpoint_type {
        EndpointType::Chat => {
            let chat: ChatRequest = parse(bytes)?;
            // A templated endpoint's messages may all come from the
            // template, given its `prompt_variables`.
            if chat.messages.is_empty() && !chat.extra.contains_key("prompt_variables") {
                issues.too_short("messages");
            }
            issues.sampling(&Sampling {
                temperature: chat.temperature,
                top_p: chat.top_p,
                presence_penalty: chat.presence_penalty,
                frequency_penalty: chat.frequency_penalty,
                n: chat.n,
                max_tokens: chat.max_tokens,
                max_completion_tokens: chat.max_completion_tokens,
                stop: chat.stop.as_ref(),
            });
            let model = chat.model.is_some();
            (Operation::Chat(chat), model)
        }
        EndpointType::Completions => {
            let completion: CompletionRequest = parse(bytes)?;
            issues.sampling(&Sampling {
                temperature: completion.temperature,
                top_p: completion.top_p,
                presence_penalty: completion.presence_penalty,
                frequency_penalty: completion.frequency_penalty,
                n: completion.n,
                max_tokens: completion.max_tokens,
                max_completion_tokens: None,
                stop: completion.stop.as_ref(),
            });
            let model = completion.model.is_some();
            (Operation::Completion(completion), model)
        }
        EndpointType::Embeddings => {
            let embeddings: EmbeddingsRequest = parse(bytes)?;
            let model = embeddings.model.is_some();
            (Operation::Embeddings(embeddings), model)
        }
    };
    issues.into_result()?;
    if model {
        return Err(Refusal::unprocessable(MODEL_NOT_PERMITTED));
    }
    ask_stream_usage(&mut operation);
    Ok(operation)
}

/// As MLflow does, asks a stream for its usage chunk unless the caller
/// said otherwise in `stream_options.include_usage`.
fn ask_stream_usage(operation: &mut Operation) {
    let options = match operation {
        Operation::Chat(chat) if chat.is_stream() => &mut chat.stream_options,
        Operation::Completion(completion) if completion.is_stream() => {
            &mut completion.stream_options
        }
        _ => return,
    };
    options
        .get_or_insert_with(StreamOptions::default)
        .include_usage
        .get_or_insert(true);
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    decode::decode_json(bytes).map_err(|error| Issues::decode(&error).into_refusal())
}

/// The model call a body reads as, judged by its fields, for a name the listing lacks.
fn guess(bytes: &[u8]) -> Option<Operation> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let object = value.as_object()?;
    if object.contains_key("messages") {
        serde_json::from_value(value).ok().map(Operation::Chat)
    } else if object.contains_key("prompt") {
        serde_json::from_value(value)
            .ok()
            .map(Operation::Completion)
    } else if object.contains_key("input") {
        serde_json::from_value(value)
            .ok()
            .map(Operation::Embeddings)
    } else {
        None
    }
}
