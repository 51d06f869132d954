//! What the template tests share: a library, requests, and a provider that
//! keeps what reached it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tower::{ServiceExt, service_fn, util::BoxCloneService};
use towergate_core::{
    Caller, GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, PromptChoice,
    RequestId, chat::ChatRequest,
};
use towergate_template::{PromptLibrary, PromptSpec};

pub(crate) const PROMPTS: &str = r#"
- name: summarize
  versions:
    - version: 1
      messages:
        - {role: system, content: "You summarize."}
        - {role: user, content: "Summarize in {{ words }} words: {{ text }}"}
    - version: 2
      messages:
        - {role: system, content: "You are a careful editor."}
        - {role: user, content: "At most {{ words }} words: {{ text }}"}
- name: plain
  versions:
    - version: 1
      messages:
        - {role: system, content: "Answer in French."}
"#;

pub(crate) fn specs() -> Vec<PromptSpec> {
    serde_yaml_ng::from_str(PROMPTS).unwrap()
}

pub(crate) fn library() -> PromptLibrary {
    PromptLibrary::new(specs()).unwrap()
}

/// A chat request to endpoint `chat` with this body.
pub(crate) fn chat(body: serde_json::Value) -> GatewayRequest {
    GatewayRequest::new(
        "chat",
        Operation::Chat(serde_json::from_value(body).unwrap()),
    )
}

/// A chat request with an id, a caller if given, and these variables.
pub(crate) fn chat_from(
    id: &str,
    caller: Option<&str>,
    variables: serde_json::Value,
) -> GatewayRequest {
    let mut request = chat(serde_json::json!({
        "messages": [{"role": "user", "content": "Thanks."}],
        "prompt_variables": variables
    }))
    .with_request_id(RequestId::new(id));
    if let Some(caller) = caller {
        request.extensions.insert(Caller::new(caller));
    }
    request
}

/// What reached the provider: the chat body and the prompt choice.
pub(crate) type Seen = Arc<Mutex<Vec<(ChatRequest, Option<PromptChoice>)>>>;

pub(crate) type Provider = BoxCloneService<GatewayRequest, GatewayResponse, GatewayError>;

/// A provider that keeps every chat request it gets, and answers with an
/// empty listing.
pub(crate) fn capturing() -> (Provider, Seen) {
    let seen: Seen = Arc::default();
    let keep = Arc::clone(&seen);
    let provider = service_fn(move |request: GatewayRequest| {
        let keep = Arc::clone(&keep);
        async move {
            if let Operation::Chat(chat) = &request.operation {
                keep.lock().unwrap().push((
                    chat.clone(),
                    request.extensions.get::<PromptChoice>().cloned(),
                ));
            }
            Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
        }
    });
    (provider.boxed_clone(), seen)
}
