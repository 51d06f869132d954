//! An upstream's server-sent events as a stream of typed chunks.
//!
//! Each `data:` event is one JSON chunk; `data: [DONE]` ends the stream.
//! Anything else ends it with an error item: an `{"error": …}` event (the
//! upstream's error), a chunk that does not parse, a broken connection, the
//! body ending before `[DONE]`, or silence longer than the idle timeout.
//! Dropping the stream drops the upstream body, which closes the upstream
//! connection and so cancels the upstream's work.

use std::{
    marker::PhantomData,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use serde::de::DeserializeOwned;
use towergate_core::GatewayError;

use crate::{error, sse::SseEvents};

/// Chunks of type `T` read from an SSE body `B`.
pub(crate) struct SseChunks<T, B> {
    events: SseEvents<B>,
    /// Set once the stream has ended, cleanly or with an error item.
    ended: bool,
    what: &'static str,
    _chunk: PhantomData<fn() -> T>,
}

impl<T, B> SseChunks<T, B>
where
    B: Body<Data = Bytes>,
{
    /// Reads `body`; `what` names a chunk in error messages ("a chat completion chunk").
    pub(crate) fn new(body: B, idle_timeout: Duration, host: Arc<str>, what: &'static str) -> Self {
        Self {
            events: SseEvents::new(body, idle_timeout, host),
            ended: false,
            what,
            _chunk: PhantomData,
        }
    }

    fn finish(&mut self, item: Option<GatewayError>) -> Poll<Option<Result<T, GatewayError>>> {
        self.events.close();
        self.ended = true;
        Poll::Ready(item.map(Err))
    }
}

impl<T, B> Stream for SseChunks<T, B>
where
    T: DeserializeOwned,
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Item = Result<T, GatewayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.events).poll_next(cx)) {
            Some(Ok(event)) => {
                let data = event.data.trim();
                if data == "[DONE]" {
                    return this.finish(None);
                }
                match serde_json::from_str::<T>(data) {
                    Ok(chunk) => Poll::Ready(Some(Ok(chunk))),
                    Err(parse) => {
                        let error = error::from_stream_event(data).unwrap_or_else(|| {
                            GatewayError::bad_gateway(format!(
                                "upstream `{}` sent a stream event that is not {}: {parse}",
                                this.events.host(),
                                this.what
                            ))
                        });
                        this.finish(Some(error))
                    }
                }
            }
            Some(Err(error)) => this.finish(Some(error)),
            None => {
                let error = GatewayError::bad_gateway(format!(
                    "upstream `{}` stream ended before [DONE]",
                    this.events.host()
                ));
                this.finish(Some(error))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Piece {
        n: u32,
    }

    fn chunks(text: &'static str) -> SseChunks<Piece, Full<Bytes>> {
        SseChunks::new(
            Full::new(Bytes::from_static(text.as_bytes())),
            Duration::from_secs(60),
            "up:1".into(),
            "a piece",
        )
    }

    #[tokio::test]
    async fn chunks_then_done_end_cleanly() {
        let items: Vec<_> =
            chunks("data: {\"n\":1}\n\n: keep-alive\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n")
                .collect()
                .await;
        let items: Vec<_> = items.into_iter().map(|item| item.unwrap()).collect();
        assert_eq!(items, vec![Piece { n: 1 }, Piece { n: 2 }]);
    }

    #[tokio::test]
    async fn end_without_done_is_an_error_item() {
        let items: Vec<_> = chunks("data: {\"n\":1}\n\n").collect().await;
        assert_eq!(items.len(), 2);
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
        assert!(
            error.message().contains("ended before [DONE]"),
            "{}",
            error.message()
        );
    }

    #[tokio::test]
    async fn malformed_chunk_ends_with_bad_gateway() {
        let items: Vec<_> = chunks("data: {\"n\":\n\ndata: {\"n\":2}\n\n")
            .collect()
            .await;
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.status().as_u16(), 502);
        assert!(
            error.message().contains("not a piece"),
            "{}",
            error.message()
        );
    }

    #[tokio::test]
    async fn error_event_is_an_upstream_error() {
        let items: Vec<_> = chunks("data: {\"error\":{\"message\":\"model overloaded\"}}\n\n")
            .collect()
            .await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap_err().message(), "model overloaded");
    }

    #[tokio::test(start_paused = true)]
    async fn silence_past_the_idle_timeout_ends_with_a_timeout() {
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
        let body = StreamBody::new(tokio_stream_from(receiver));
        let mut stream: SseChunks<Piece, _> =
            SseChunks::new(body, Duration::from_secs(5), "up:1".into(), "a piece");
        sender
            .send(Ok(Frame::data(Bytes::from_static(b"data: {\"n\":1}\n\n"))))
            .await
            .unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), Piece { n: 1 });
        let error = stream.next().await.unwrap().unwrap_err();
        assert_eq!(error.status().as_u16(), 504);
        assert!(stream.next().await.is_none());
        drop(sender);
    }

    fn tokio_stream_from<T>(mut receiver: tokio::sync::mpsc::Receiver<T>) -> impl Stream<Item = T> {
        futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
    }
}
