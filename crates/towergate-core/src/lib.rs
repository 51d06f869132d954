//! The types that flow through towergate.
//!
//! Every HTTP front decodes its wire into a [`GatewayRequest`]; every layer
//! works on that typed value; every provider adapter answers with a
//! [`GatewayResponse`] or a [`GatewayError`]. The request and response
//! bodies follow OpenAI's schema, the lingua franca of LLM APIs. Fields
//! towergate does not model are kept in an `extra` map on each type and sent
//! on to the upstream unchanged.
//!
//! ```
//! use towergate_core::{GatewayRequest, Operation, chat::ChatRequest};
//!
//! let chat: ChatRequest = serde_json::from_str(
//!     r#"{"model":"chat","messages":[{"role":"user","content":"Hi"}],"vendor_knob":7}"#,
//! ).unwrap();
//! assert_eq!(chat.extra["vendor_knob"], 7);
//! let request = GatewayRequest::new("chat", Operation::Chat(chat));
//! assert_eq!(request.endpoint, "chat");
//! ```

pub mod assemble;
pub mod caller;
pub mod chat;
pub mod completion;
pub mod embeddings;
pub mod endpoint;
pub mod error;
pub mod gate;
pub mod prompt;
pub mod request;
pub mod response;
pub mod settle;
pub mod usage;

pub use caller::Caller;
pub use endpoint::{EndpointInfo, EndpointKind, EndpointType, RateLimitInfo};
pub use error::{ErrorKind, GatewayError};
pub use prompt::PromptChoice;
pub use request::{GatewayRequest, Operation, RequestId};
pub use response::{CacheVerdict, ChunkStream, GatewayResponse, Payload, ResponseMeta};
pub use usage::Usage;

/// A JSON object of fields towergate does not model, kept as they came.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The boxed error type used where a layer must carry any error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
