//! The body of a streamed answer: server-sent events at a cadence, counted
//! as completed or cancelled.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::Arc,
    sync::atomic::{AtomicUsize, Ordering},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures_core::Stream;
use hyper::body::Frame;

use crate::pace::Paced;

/// How the server's streams ended.
#[derive(Debug, Default)]
pub(crate) struct StreamCounters {
    cancelled: AtomicUsize,
    completed: AtomicUsize,
}

impl StreamCounters {
    /// Streams dropped before their last event, because the client went away.
    pub(crate) fn cancelled(&self) -> usize {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Streams sent to the end, `data: [DONE]` included.
    pub(crate) fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }
}

/// Prepared events sent one at a time; counts itself cancelled if dropped
/// before the last one, completed if it ends and `complete` was set (a
/// truncated stream ends without counting as either).
#[derive(Debug)]
pub(crate) struct EventStream {
    events: Paced<Bytes>,
    complete: bool,
    ended: bool,
    counters: Arc<StreamCounters>,
}

impl EventStream {
    pub(crate) fn new(
        events: Vec<Bytes>,
        interval: Duration,
        complete: bool,
        counters: Arc<StreamCounters>,
    ) -> Self {
        Self {
            events: Paced::new(events, interval),
            complete,
            ended: false,
            counters,
        }
    }
}

impl Stream for EventStream {
    type Item = Result<Frame<Bytes>, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match Pin::new(&mut this.events).poll_next(cx) {
            Poll::Ready(Some(event)) => Poll::Ready(Some(Ok(Frame::data(event)))),
            Poll::Ready(None) => {
                if !this.ended {
                    this.ended = true;
                    if this.complete {
                        this.counters.completed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if !self.ended && !self.events.is_exhausted() {
            self.counters.cancelled.fetch_add(1, Ordering::SeqCst);
        } else if !self.ended && self.complete {
            // Every event went out but the body was dropped before its end was read.
            self.counters.completed.fetch_add(1, Ordering::SeqCst);
        }
    }
}
