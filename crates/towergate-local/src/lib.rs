//! Models run inside the gateway's own process with candle, so it answers
//! with no network and no provider account.
//!
//! - [`chat::LocalChat`]: chat and completions from a GGUF model of the
//!   llama architecture (SmolLM2-135M-Instruct by default), with the chat
//!   template and tokenizer taken from the GGUF's own metadata; sampling
//!   with `temperature`, `top_p`, `seed`, `max_tokens` and `stop`;
//!   streaming token by token; generations on their own threads, a bound
//!   on how many run at once and on how many wait (beyond that, 503 with
//!   `Retry-After`).
//! - [`embeddings::LocalEmbeddings`]: sentence embeddings from a BERT model
//!   (all-MiniLM-L6-v2 by default): mean pooling, L2-normalised, batched.
//!
//! Both are `tower::Service<GatewayRequest>`s like every provider. The
//! model files come from PyPI packages that ship them (`scripts/fetch-models`);
//! nothing is downloaded from a model hub at run time.

pub mod chat;
pub mod embeddings;
