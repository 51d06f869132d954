//! [`AccountedStream`]: counts a streamed answer as its chunks pass.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use futures_core::Stream;
use towergate_core::{ChunkStream, GatewayError, Usage};

use super::{AccountedChunk, Outcome, UsageSource, ledger::Ledger};

/// A streamed answer whose usage is recorded when it ends, fails, or is
/// dropped by a client that went away.
///
/// Usage comes from the upstream's usage chunk when there is one; else the
/// gateway counts the prompt and the text that passed. A caller that asked
/// for `stream_options.include_usage` gets a last usage chunk even from an
/// upstream that sends none.
pub struct AccountedStream<T: AccountedChunk> {
    inner: ChunkStream<T>,
    ledger: Option<Ledger>,
    upstream_usage: Option<Usage>,
    text: String,
    /// The first chunk's shape, kept to make a usage chunk from.
    shape: Option<T>,
    wants_usage: bool,
    trailer: Option<T>,
}

impl<T: AccountedChunk> AccountedStream<T> {
    pub(crate) fn new(inner: ChunkStream<T>, ledger: Ledger) -> Self {
        Self {
            inner,
            wants_usage: ledger.wants_stream_usage(),
            ledger: Some(ledger),
            upstream_usage: None,
            text: String::new(),
            shape: None,
            trailer: None,
        }
    }

    /// Usage so far: the upstream's, else what the gateway counts.
    fn usage(&mut self, ledger: &Ledger) -> (Usage, UsageSource) {
        match self.upstream_usage.take() {
            Some(usage) => (usage, UsageSource::Upstream),
            None => (ledger.count_usage(&self.text), UsageSource::Counted),
        }
    }

    fn end(&mut self) {
        let Some(ledger) = self.ledger.take() else {
            return;
        };
        let upstream_had_usage = self.upstream_usage.is_some();
        let (usage, source) = self.usage(&ledger);
        if !upstream_had_usage
            && self.wants_usage
            && let Some(shape) = &self.shape
        {
            self.trailer = Some(shape.usage_chunk(usage.clone()));
        }
        ledger.close(usage, source, Outcome::Ok);
    }

    fn failed(&mut self, error: &GatewayError) {
        if let Some(ledger) = self.ledger.take() {
            let (usage, source) = self.usage(&ledger);
            ledger.fail(error, usage, source);
        }
    }
}

impl<T: AccountedChunk> Stream for AccountedStream<T> {
    type Item = Result<T, GatewayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ledger.is_none() {
            return Poll::Ready(this.trailer.take().map(Ok));
        }
        match ready!(this.inner.as_mut().poll_next(cx)) {
            Some(Ok(chunk)) => {
                if let Some(usage) = chunk.usage() {
                    this.upstream_usage = Some(usage.clone());
                }
                chunk.append_text(&mut this.text);
                if this.wants_usage && this.shape.is_none() {
                    this.shape = Some(chunk.usage_chunk(Usage::default()));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(error)) => {
                this.failed(&error);
                Poll::Ready(Some(Err(error)))
            }
            None => {
                this.end();
                Poll::Ready(this.trailer.take().map(Ok))
            }
        }
    }
}

impl<T: AccountedChunk> Drop for AccountedStream<T> {
    fn drop(&mut self) {
        if let Some(ledger) = self.ledger.take() {
            let (usage, source) = self.usage(&ledger);
            ledger.close(usage, source, Outcome::Dropped);
        }
    }
}
