//! What the gateway tells clients about its endpoints.

use serde::{Deserialize, Serialize};

/// The task an endpoint serves (MLflow's `endpoint_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndpointType {
    /// `llm/v1/chat`.
    #[serde(rename = "llm/v1/chat")]
    Chat,
    /// `llm/v1/completions`.
    #[serde(rename = "llm/v1/completions")]
    Completions,
    /// `llm/v1/embeddings`.
    #[serde(rename = "llm/v1/embeddings")]
    Embeddings,
}

impl EndpointType {
    /// MLflow's name for the type.
    ///
    /// ```
    /// use towergate_core::EndpointType;
    /// assert_eq!(EndpointType::Chat.as_str(), "llm/v1/chat");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Chat => "llm/v1/chat",
            EndpointType::Completions => "llm/v1/completions",
            EndpointType::Embeddings => "llm/v1/embeddings",
        }
    }
}

/// Whether a name is an endpoint or a route over endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    /// One provider and model.
    Endpoint,
    /// A traffic split over endpoints.
    Route,
}

/// MLflow's `limit` of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitInfo {
    /// `second`, `minute`, `hour` or `day`.
    pub renewal_period: String,
    /// Calls per period.
    pub calls: u64,
}

/// A name clients can call, and what is behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointInfo {
    /// The name clients use.
    pub name: String,
    /// Endpoint or route.
    pub kind: EndpointKind,
    /// The task it serves.
    pub endpoint_type: EndpointType,
    /// The provider (MLflow's name), for an endpoint.
    pub provider: Option<String>,
    /// The upstream model, for an endpoint.
    pub model: Option<String>,
    /// Its `limit`, if one is set.
    pub limit: Option<RateLimitInfo>,
}
