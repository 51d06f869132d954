//! A stream that hands out prepared items at a fixed cadence.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use futures_core::Stream;
use tokio::time::Sleep;

/// Yields its items in order, waiting `interval` between two of them (not
/// before the first, nor after the last).
#[derive(Debug)]
pub(crate) struct Paced<T> {
    items: std::vec::IntoIter<T>,
    interval: Duration,
    wait: Option<Pin<Box<Sleep>>>,
    started: bool,
}

impl<T> Paced<T> {
    /// Paces `items` at `interval`.
    pub(crate) fn new(items: Vec<T>, interval: Duration) -> Self {
        Self {
            items: items.into_iter(),
            interval,
            wait: None,
            started: false,
        }
    }

    /// Whether every item was handed out.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.items.len() == 0
    }
}

impl<T: Unpin> Stream for Paced<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.items.len() == 0 {
            return Poll::Ready(None);
        }
        if this.started && !this.interval.is_zero() {
            let interval = this.interval;
            let wait = this
                .wait
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
            ready!(wait.as_mut().poll(cx));
            this.wait = None;
        }
        this.started = true;
        Poll::Ready(this.items.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn yields_every_item_in_order() {
        let paced = Paced::new(vec![1, 2, 3], Duration::from_millis(1));
        assert_eq!(paced.collect::<Vec<_>>().await, [1, 2, 3]);
        let mut empty = Paced::<u8>::new(Vec::new(), Duration::ZERO);
        assert!(empty.is_exhausted());
        assert_eq!(empty.next().await, None);
    }
}
