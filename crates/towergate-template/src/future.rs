//! The future a [`Templated`](crate::Templated) service answers with.

use http::HeaderValue;
use towergate_core::gate::{Answer, Leave, LeaveFuture};

use crate::PROMPT_HEADER;

/// The inner service's answer, with the `x-towergate-prompt` header when a
/// template was rendered; or the layer's own refusal.
pub type ResponseFuture<F> = LeaveFuture<F, PromptHeader>;

/// The `x-towergate-prompt` header an answer leaves with.
#[derive(Debug, Clone)]
pub struct PromptHeader(pub(crate) HeaderValue);

/// The header goes on the answer, and on an error alike.
impl Leave for PromptHeader {
    fn leave(self, answer: Answer) -> Answer {
        match answer {
            Ok(mut response) => {
                response.meta.headers.insert(PROMPT_HEADER, self.0);
                Ok(response)
            }
            Err(mut error) => {
                error.headers_mut().insert(PROMPT_HEADER, self.0);
                Err(error)
            }
        }
    }
}
