//! The future returned by [`OpenAi`](super::OpenAi): the one every adapter returns.

pub use crate::future::ResponseFuture;
