//! The response future of [`TokenAccounting`](super::TokenAccounting).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use towergate_core::{GatewayError, GatewayResponse, Payload, Usage};

use super::{AccountedStream, Outcome, UsageSource, chunk::chat_answer_text, ledger::Ledger};

pin_project! {
    /// Completes with the inner answer, its usage and cost filled in.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        ledger: Option<Ledger>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, ledger: Option<Ledger>) -> Self {
        Self { inner, ledger }
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<GatewayResponse, GatewayError>>,
{
    type Output = Result<GatewayResponse, GatewayError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let Some(ledger) = this.ledger.take() else {
            return Poll::Ready(result);
        };
        Poll::Ready(match result {
            Ok(response) => Ok(account(response, ledger)),
            Err(error) => {
                ledger.fail(&error, Usage::default(), UsageSource::Counted);
                Err(error)
            }
        })
    }
}

/// Fills in `response`'s usage and cost and closes the ledger, or hands the
/// ledger to the stream.
fn account(mut response: GatewayResponse, mut ledger: Ledger) -> GatewayResponse {
    ledger.answered_by(&response.meta);
    let (usage, source) = match &mut response.payload {
        Payload::Chat(answer) => {
            let text = answer.usage.is_none().then(|| chat_answer_text(answer));
            fill(&mut answer.usage, || {
                ledger.count_usage(text.as_deref().unwrap_or_default())
            })
        }
        Payload::Completion(answer) => {
            let text = answer.usage.is_none().then(|| {
                answer
                    .choices
                    .iter()
                    .map(|c| c.text.as_str())
                    .collect::<String>()
            });
            fill(&mut answer.usage, || {
                ledger.count_usage(text.as_deref().unwrap_or_default())
            })
        }
        Payload::Embeddings(answer) => fill(&mut answer.usage, || ledger.count_usage("")),
        Payload::ChatStream(_) | Payload::CompletionStream(_) => {
            response.payload =
                match std::mem::replace(&mut response.payload, Payload::Endpoints(Vec::new())) {
                    Payload::ChatStream(chunks) => {
                        Payload::ChatStream(Box::pin(AccountedStream::new(chunks, ledger)))
                    }
                    Payload::CompletionStream(chunks) => {
                        Payload::CompletionStream(Box::pin(AccountedStream::new(chunks, ledger)))
                    }
                    other => other,
                };
            return response;
        }
        Payload::Endpoints(_) => return response,
    };
    response.meta.cost_usd = Some(ledger.cost(&usage));
    response.meta.usage = Some(usage.clone());
    ledger.close(usage, source, Outcome::Ok);
    response
}

/// The answer's own usage, or the counted one, which is also written into
/// the answer so that callers always see usage.
fn fill(slot: &mut Option<Usage>, count: impl FnOnce() -> Usage) -> (Usage, UsageSource) {
    match slot {
        Some(usage) => (usage.clone(), UsageSource::Upstream),
        None => {
            let usage = count();
            *slot = Some(usage.clone());
            (usage, UsageSource::Counted)
        }
    }
}
