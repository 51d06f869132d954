//! The request every layer sees.

use std::{fmt, sync::Arc};

use http::{Extensions, HeaderMap};

use crate::{
    EndpointType, GatewayError, chat::ChatRequest, completion::CompletionRequest,
    embeddings::EmbeddingsRequest,
};

/// What the caller asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// A chat completion.
    Chat(ChatRequest),
    /// A text completion.
    Completion(CompletionRequest),
    /// Embeddings.
    Embeddings(EmbeddingsRequest),
    /// The endpoints the caller may use (`GET /v1/models`,
    /// `GET /api/2.0/endpoints/`); answered by the router. When the
    /// request's `endpoint` is not empty, only that one is listed (or none).
    ListEndpoints,
}

impl Operation {
    /// The endpoint type that serves this operation, if it is a model call.
    pub fn endpoint_type(&self) -> Option<EndpointType> {
        match self {
            Operation::Chat(_) => Some(EndpointType::Chat),
            Operation::Completion(_) => Some(EndpointType::Completions),
            Operation::Embeddings(_) => Some(EndpointType::Embeddings),
            Operation::ListEndpoints => None,
        }
    }

    /// Whether the caller asked for a streamed answer.
    pub fn is_stream(&self) -> bool {
        match self {
            Operation::Chat(chat) => chat.is_stream(),
            Operation::Completion(completion) => completion.is_stream(),
            Operation::Embeddings(_) | Operation::ListEndpoints => false,
        }
    }
}

/// The id of one request: the caller's `x-request-id`, or a fresh one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// An id from the caller.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decoded call to the gateway.
///
/// ```
/// use towergate_core::{Caller, GatewayRequest, Operation};
/// let mut request = GatewayRequest::new("embed", Operation::ListEndpoints);
/// request.extensions.insert(Caller::new("team-a"));
/// assert_eq!(request.caller().map(Caller::name), Some("team-a"));
/// ```
pub struct GatewayRequest {
    /// The endpoint or route name the caller asked for.
    pub endpoint: String,
    /// What is asked.
    pub operation: Operation,
    /// The request id, echoed in `x-request-id`.
    pub request_id: RequestId,
    /// The caller's HTTP headers (auth and cache control read them).
    pub headers: HeaderMap,
    /// Facts layers hand to each other: the [`Caller`](crate::Caller), and more.
    pub extensions: Extensions,
}

/// Headers whose values are credentials, never shown by `Debug`.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
];

/// A request's headers with credentials hidden.
struct Redacted<'a>(&'a HeaderMap);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if value.is_sensitive() || SECRET_HEADERS.contains(&name.as_str()) {
                map.entry(&name, &"<redacted>");
            } else {
                map.entry(&name, value);
            }
        }
        map.finish()
    }
}

impl fmt::Debug for GatewayRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayRequest")
            .field("endpoint", &self.endpoint)
            .field("operation", &self.operation)
            .field("request_id", &self.request_id)
            .field("headers", &Redacted(&self.headers))
            .field("extensions", &self.extensions)
            .finish()
    }
}

impl GatewayRequest {
    /// A request for `endpoint` with no headers and a fresh id.
    pub fn new(endpoint: impl Into<String>, operation: Operation) -> Self {
        Self {
            endpoint: endpoint.into(),
            operation,
            request_id: RequestId::new(""),
            headers: HeaderMap::new(),
            extensions: Extensions::new(),
        }
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, id: RequestId) -> Self {
        self.request_id = id;
        self
    }

    /// The authenticated caller, if auth ran.
    pub fn caller(&self) -> Option<&crate::Caller> {
        self.extensions.get()
    }

    /// The chat request, or an error naming the operation that came instead.
    pub fn chat(&self) -> Result<&ChatRequest, GatewayError> {
        match &self.operation {
            Operation::Chat(chat) => Ok(chat),
            _ => Err(self.wrong_operation(EndpointType::Chat)),
        }
    }

    fn wrong_operation(&self, expected: EndpointType) -> GatewayError {
        GatewayError::invalid(format!(
            "endpoint `{}` serves {} but the request is {}",
            self.endpoint,
            expected.as_str(),
            self.operation
                .endpoint_type()
                .map_or("a listing", EndpointType::as_str)
        ))
    }

    /// An error saying this endpoint, of type `served`, cannot answer this operation.
    pub fn unsupported_by(&self, served: EndpointType) -> GatewayError {
        self.wrong_operation(served)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_credential() {
        let mut request = GatewayRequest::new("chat", Operation::ListEndpoints);
        for (name, value) in [
            ("authorization", "Bearer sk-secret-1"),
            ("x-api-key", "sk-secret-2"),
            ("api-key", "sk-secret-3"),
            ("x-request-id", "visible-id"),
        ] {
            request.headers.insert(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            );
        }
        let shown = format!("{request:?}");
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(shown.contains("visible-id"), "{shown}");
        assert!(shown.contains("authorization"), "{shown}");
    }
}
