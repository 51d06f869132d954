//! Versioned prompt templates for towergate, rendered with minijinja.
//!
//! Prompt engineers keep prompts in the config file's `prompts:` section,
//! as versions of message lists, and change or compare them without
//! touching application code. Applications send only their variables, as
//! `"prompt_variables": {...}` in the chat request's body.
//!
//! - [`PromptLibrary`] compiles every template once, from [`PromptSpec`]s
//!   (the `prompts:` YAML deserializes straight into them); syntax errors
//!   name the template, version and message.
//! - [`PromptSelection`] is an endpoint's `prompt:` key: a pinned version,
//!   the latest, or a weighted split between versions, per request or
//!   sticky per caller.
//! - [`TemplateLayer`] renders the chosen version for each chat request,
//!   puts its messages before the caller's own, takes `prompt_variables`
//!   out of the body (it never reaches a provider), records the
//!   [`PromptChoice`](towergate_core::PromptChoice) in the request's
//!   extensions for usage records, and names it in the
//!   [`x-towergate-prompt`](PROMPT_HEADER) header of the answer, errors
//!   included.
//!
//! **Rendering.** Each message's content is rendered on its own, in a
//! minijinja environment with strict undefined values, a fuel limit per
//! message ([`DEFAULT_FUEL`] instructions unless set), no auto-escaping and
//! no loader. Values are data: a value holding `{{ ... }}` stays that text,
//! and one holding JSON cannot add a message, because messages are built
//! as typed values, never as text. A content with no template syntax
//! renders to itself, trailing newline included. Values print as in
//! Jinja (`true` as `True`; `{{ x | tojson }}` prints JSON). All errors are 400s that
//! name the template as `name@version`:
//!
//! - a variable the template needs and the caller did not send is named,
//!   with param `prompt_variables.<name>`; `{{ x | default("...") }}` and
//!   `{% if x is defined %}` make a variable optional, but a bare
//!   `{% if x %}` needs it;
//! - a variable the chosen version does not use is refused and named (a
//!   typo, most often), so a caller sends exactly the variables the version
//!   uses: [`TemplateVersion::variables`] lists them;
//! - `prompt_variables` that is not a JSON object is refused;
//! - a template that runs out of fuel is refused.
//!
//! A chat request without `prompt_variables` is rendered with no
//! variables: a template without variables applies as is, one that needs
//! some answers 400 naming the first missing. Completion and embeddings
//! requests pass untouched, unless they carry `prompt_variables`: then they
//! are refused, as templates apply to chat endpoints.
//!
//! **Reload.** A library never changes once built. On a config reload,
//! build a new library and new layers from the new file; a sticky split
//! keeps each caller's version as long as its weights are unchanged.
//!
//! ```
//! use tower::{Layer, ServiceExt, service_fn};
//! use towergate_core::{GatewayError, GatewayRequest, GatewayResponse, Operation, Payload, PromptChoice};
//! use towergate_template::{PROMPT_HEADER, PromptLibrary, PromptSelection, PromptSpec, TemplateLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let prompts: Vec<PromptSpec> = serde_yaml_ng::from_str(r#"
//! - name: summarize
//!   versions:
//!     - version: 1
//!       messages:
//!         - {role: system, content: "You summarize."}
//!         - {role: user, content: "Summarize in {{ words }} words: {{ text }}"}
//! "#).unwrap();
//! let library = PromptLibrary::new(prompts).unwrap();
//! let layer = TemplateLayer::new(library, PromptSelection::latest("summarize")).unwrap();
//!
//! // The provider: checks what reaches it.
//! let provider = service_fn(|request: GatewayRequest| async move {
//!     let chat = request.chat()?;
//!     assert_eq!(chat.messages.len(), 2);
//!     assert_eq!(
//!         chat.messages[1].text_content().as_deref(),
//!         Some("Summarize in 20 words: The cat sat.")
//!     );
//!     assert!(!chat.extra.contains_key("prompt_variables"));
//!     assert_eq!(request.extensions.get(), Some(&PromptChoice::new("summarize", 1)));
//!     Ok::<_, GatewayError>(GatewayResponse::new(Payload::Endpoints(Vec::new())))
//! });
//! let chat = serde_json::from_value(serde_json::json!({
//!     "messages": [],
//!     "prompt_variables": {"words": 20, "text": "The cat sat."}
//! })).unwrap();
//! let answer = layer
//!     .layer(provider)
//!     .oneshot(GatewayRequest::new("chat", Operation::Chat(chat)))
//!     .await
//!     .unwrap();
//! assert_eq!(answer.meta.headers[PROMPT_HEADER], "summarize@1");
//! # }
//! ```

mod error;
pub mod future;
mod layer;
mod library;
mod listing;
mod pick;
mod render;
mod selection;
mod spec;

pub use error::{LibraryError, SelectionError};
pub use layer::{PROMPT_HEADER, TemplateLayer, Templated, VARIABLES_FIELD};
pub use library::{DEFAULT_FUEL, PromptLibrary, PromptTemplate, TemplateVersion};
pub use listing::{PromptInfo, VersionInfo};
pub use selection::PromptSelection;
pub use spec::{MessageSpec, PromptSpec, VersionSpec};
