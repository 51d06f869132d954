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
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use eventsource_stream::{Event, EventStream, EventStreamError, Eventsource};
use futures_core::Stream;
use http_body::Body;
use serde::de::DeserializeOwned;
use tokio::time::{Instant, Sleep};
use towergate_core::GatewayError;

use crate::error;

/// Chunks of type `T` read from an SSE body `B`.
pub(crate) struct SseChunks<T, B> {
    /// `None` once the stream has ended; dropping it closes the connection.
    events: Option<Pin<Box<EventStream<DataFrames<B>>>>>,
    /// Set by [`DataFrames`] whenever bytes arrive, even ones that make no
    /// event yet (SSE comments used as keep-alives).
    activity: Arc<AtomicBool>,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    host: Arc<str>,
    what: &'static str,
    _chunk: PhantomData<fn() -> T>,
}

impl<T, B> SseChunks<T, B>
where
    B: Body<Data = Bytes>,
{
    /// Reads `body`; `what` names a chunk in error messages ("a chat completion chunk").
    pub(crate) fn new(body: B, idle_timeout: Duration, host: Arc<str>, what: &'static str) -> Self {
        let activity = Arc::new(AtomicBool::new(false));
        let frames = DataFrames {
            body,
            activity: Arc::clone(&activity),
        };
        Self {
            events: Some(Box::pin(frames.eventsource())),
            activity,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_timeout,
            host,
            what,
            _chunk: PhantomData,
        }
    }

    fn finish(&mut self, item: Option<GatewayError>) -> Poll<Option<Result<T, GatewayError>>> {
        self.events = None;
        Poll::Ready(item.map(Err))
    }

    fn rearm(&mut self) {
        self.idle.as_mut().reset(Instant::now() + self.idle_timeout);
    }
}

impl<T, B> SseChunks<T, B>
where
    T: DeserializeOwned,
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    fn on_event(&mut self, event: &Event) -> Option<Poll<Option<Result<T, GatewayError>>>> {
        let data = event.data.trim();
        if data.is_empty() {
            return None;
        }
        if data == "[DONE]" {
            return Some(self.finish(None));
        }
        match serde_json::from_str::<T>(data) {
            Ok(chunk) => Some(Poll::Ready(Some(Ok(chunk)))),
            Err(parse) => {
                let error = error::from_stream_event(data).unwrap_or_else(|| {
                    GatewayError::bad_gateway(format!(
                        "upstream `{}` sent a stream event that is not {}: {parse}",
                        self.host, self.what
                    ))
                });
                Some(self.finish(Some(error)))
            }
        }
    }

    fn on_failure(
        &mut self,
        failure: EventStreamError<B::Error>,
    ) -> Poll<Option<Result<T, GatewayError>>> {
        let error = match failure {
            EventStreamError::Transport(transport) => error::broken_body(&self.host, &transport),
            EventStreamError::Utf8(utf8) => GatewayError::bad_gateway(format!(
                "upstream `{}` sent a stream that is not UTF-8: {utf8}",
                self.host
            )),
            EventStreamError::Parser(parser) => GatewayError::bad_gateway(format!(
                "upstream `{}` sent a malformed event stream: {parser}",
                self.host
            )),
        };
        self.finish(Some(error))
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
        loop {
            let Some(events) = this.events.as_mut() else {
                return Poll::Ready(None);
            };
            match events.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(event))) => {
                    this.rearm();
                    if let Some(poll) = this.on_event(&event) {
                        return poll;
                    }
                }
                Poll::Ready(Some(Err(failure))) => return this.on_failure(failure),
                Poll::Ready(None) => {
                    let error = GatewayError::bad_gateway(format!(
                        "upstream `{}` stream ended before [DONE]",
                        this.host
                    ));
                    return this.finish(Some(error));
                }
                Poll::Pending => {
                    if this.activity.swap(false, Ordering::Relaxed) {
                        this.rearm();
                    }
                    ready!(this.idle.as_mut().poll(cx));
                    let error = error::stream_idle(&this.host, this.idle_timeout);
                    return this.finish(Some(error));
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The data frames of a body, noting that bytes arrived.
    struct DataFrames<B> {
        #[pin]
        body: B,
        activity: Arc<AtomicBool>,
    }
}

impl<B> Stream for DataFrames<B>
where
    B: Body<Data = Bytes>,
{
    type Item = Result<Bytes, B::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.activity.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
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
