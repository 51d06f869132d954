//! Server-sent events from an upstream's body, shared by the streaming adapters.
//!
//! [`SseEvents`] reads the events of a body with an idle timeout: silence
//! longer than allowed, a broken connection or a malformed event stream end
//! it with an error item; the body's end ends it cleanly. Dropping it drops
//! the body, which closes the upstream connection and so cancels the
//! upstream's work.
//!
//! [`Translated`] feeds those events to a provider's [`Translate`] state
//! machine, which turns the provider's own events into towergate's chunks
//! and decides, when the body ends, whether the stream was complete.

use std::{
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
use tokio::time::{Instant, Sleep};
use towergate_core::GatewayError;

use crate::error;

/// The events of an SSE body `B`, each with non-empty data.
pub(crate) struct SseEvents<B> {
    /// `None` once the stream has ended; dropping it closes the connection.
    events: Option<Pin<Box<EventStream<DataFrames<B>>>>>,
    /// Set by [`DataFrames`] whenever bytes arrive, even ones that make no
    /// event yet (SSE comments used as keep-alives).
    activity: Arc<AtomicBool>,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    host: Arc<str>,
}

impl<B> SseEvents<B>
where
    B: Body<Data = Bytes>,
{
    /// Reads `body` from `host` (named in errors), failing after
    /// `idle_timeout` of silence.
    pub(crate) fn new(body: B, idle_timeout: Duration, host: Arc<str>) -> Self {
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
        }
    }

    /// The upstream's `host:port`, for error messages.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Stops reading: drops the body, which closes the connection unless it
    /// was read to its end.
    pub(crate) fn close(&mut self) {
        self.events = None;
    }

    fn fail(&mut self, error: GatewayError) -> Poll<Option<Result<Event, GatewayError>>> {
        self.close();
        Poll::Ready(Some(Err(error)))
    }

    fn failure<E: std::error::Error + 'static>(
        &self,
        failure: EventStreamError<E>,
    ) -> GatewayError {
        match failure {
            EventStreamError::Transport(transport) => error::broken_body(&self.host, &transport),
            EventStreamError::Utf8(utf8) => GatewayError::bad_gateway(format!(
                "upstream `{}` sent a stream that is not UTF-8: {utf8}",
                self.host
            )),
            EventStreamError::Parser(parser) => GatewayError::bad_gateway(format!(
                "upstream `{}` sent a malformed event stream: {parser}",
                self.host
            )),
        }
    }
}

impl<B> Stream for SseEvents<B>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Item = Result<Event, GatewayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(events) = this.events.as_mut() else {
                return Poll::Ready(None);
            };
            match events.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(event))) => {
                    this.idle.as_mut().reset(Instant::now() + this.idle_timeout);
                    if !event.data.trim().is_empty() {
                        return Poll::Ready(Some(Ok(event)));
                    }
                }
                Poll::Ready(Some(Err(failure))) => {
                    let error = this.failure(failure);
                    return this.fail(error);
                }
                Poll::Ready(None) => {
                    this.close();
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if this.activity.swap(false, Ordering::Relaxed) {
                        this.idle.as_mut().reset(Instant::now() + this.idle_timeout);
                    }
                    ready!(this.idle.as_mut().poll(cx));
                    let error = error::stream_idle(&this.host, this.idle_timeout);
                    return this.fail(error);
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

#[cfg(any(
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini",
    feature = "mistral",
    feature = "tgi"
))]
/// A provider's stream format: its events in, towergate's chunks out.
pub(crate) trait Translate {
    /// What the stream yields (a chat or a completion chunk).
    type Chunk;

    /// Reads one event from `host`, pushing the chunks it makes onto `out`.
    /// Returns `Ok(true)` when the event says the stream is over (the rest
    /// of the body is not read), and an error (the provider's own, or a
    /// malformed event) that ends the stream after the chunks pushed so far.
    fn event(
        &mut self,
        event: &Event,
        host: &str,
        out: &mut std::collections::VecDeque<Self::Chunk>,
    ) -> Result<bool, GatewayError>;

    /// The stream is over, by the body's end or an event: pushes the last
    /// chunks (finish, usage), or fails when the stream was cut short.
    fn end(
        &mut self,
        host: &str,
        out: &mut std::collections::VecDeque<Self::Chunk>,
    ) -> Result<(), GatewayError>;
}

#[cfg(any(
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini",
    feature = "mistral",
    feature = "tgi"
))]
/// The chunks a [`Translate`] makes of an SSE body.
pub(crate) struct Translated<B, X: Translate> {
    events: SseEvents<B>,
    translate: X,
    pending: std::collections::VecDeque<X::Chunk>,
    /// Yielded once the pending chunks are out.
    failure: Option<GatewayError>,
    ended: bool,
}

#[cfg(any(
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini",
    feature = "mistral",
    feature = "tgi"
))]
impl<B, X> Translated<B, X>
where
    B: Body<Data = Bytes>,
    X: Translate,
{
    /// Reads `body` from `host` through `translate`.
    pub(crate) fn new(body: B, idle_timeout: Duration, host: Arc<str>, translate: X) -> Self {
        Self {
            events: SseEvents::new(body, idle_timeout, host),
            translate,
            pending: std::collections::VecDeque::new(),
            failure: None,
            ended: false,
        }
    }

    fn finish(&mut self) {
        self.events.close();
        self.ended = true;
        let host = self.events.host.clone();
        if let Err(error) = self.translate.end(&host, &mut self.pending) {
            self.failure = Some(error);
        }
    }

    fn fail(&mut self, error: GatewayError) {
        self.events.close();
        self.ended = true;
        self.failure = Some(error);
    }
}

#[cfg(any(
    feature = "anthropic",
    feature = "cohere",
    feature = "gemini",
    feature = "mistral",
    feature = "tgi"
))]
impl<B, X> Stream for Translated<B, X>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
    X: Translate + Unpin,
    X::Chunk: Unpin,
{
    type Item = Result<X::Chunk, GatewayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(chunk) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if let Some(error) = this.failure.take() {
                return Poll::Ready(Some(Err(error)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.events).poll_next(cx)) {
                Some(Ok(event)) => {
                    let host = this.events.host.clone();
                    match this.translate.event(&event, &host, &mut this.pending) {
                        Ok(false) => {}
                        Ok(true) => this.finish(),
                        Err(error) => this.fail(error),
                    }
                }
                Some(Err(error)) => this.fail(error),
                None => this.finish(),
            }
        }
    }
}

/// Every item `translate` makes of the SSE `text` from `host`, for tests.
#[cfg(all(
    test,
    any(
        feature = "anthropic",
        feature = "cohere",
        feature = "gemini",
        feature = "mistral",
        feature = "tgi"
    )
))]
pub(crate) async fn translate_text<X>(
    text: &'static str,
    host: &str,
    translate: X,
) -> Vec<Result<X::Chunk, GatewayError>>
where
    X: Translate + Unpin,
    X::Chunk: Unpin,
{
    use futures_util::StreamExt;
    let body = http_body_util::Full::new(Bytes::from_static(text.as_bytes()));
    Translated::new(body, Duration::from_secs(60), host.into(), translate)
        .collect()
        .await
}

#[cfg(all(
    test,
    any(
        feature = "anthropic",
        feature = "cohere",
        feature = "gemini",
        feature = "mistral",
        feature = "tgi"
    )
))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Sums numbers; `end` fails unless a `"stop"` event came.
    #[derive(Default)]
    struct Sum {
        total: u32,
        stopped: bool,
    }

    impl Translate for Sum {
        type Chunk = u32;

        fn event(
            &mut self,
            event: &Event,
            _host: &str,
            out: &mut std::collections::VecDeque<u32>,
        ) -> Result<bool, GatewayError> {
            if event.data == "stop" {
                self.stopped = true;
                return Ok(true);
            }
            let n: u32 = event
                .data
                .parse()
                .map_err(|_| GatewayError::bad_gateway("not a number"))?;
            self.total += n;
            out.push_back(n);
            Ok(false)
        }

        fn end(
            &mut self,
            _host: &str,
            out: &mut std::collections::VecDeque<u32>,
        ) -> Result<(), GatewayError> {
            if !self.stopped {
                return Err(GatewayError::bad_gateway("cut short"));
            }
            out.push_back(self.total);
            Ok(())
        }
    }

    async fn run(text: &'static str) -> Vec<Result<u32, GatewayError>> {
        translate_text(text, "up:1", Sum::default()).await
    }

    #[tokio::test]
    async fn a_stop_event_ends_the_stream_with_the_last_chunks() {
        let items = run("data: 1\n\n: keep-alive\n\ndata: 2\n\ndata: stop\n\ndata: 9\n\n").await;
        let items: Vec<u32> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, [1, 2, 3]);
    }

    #[tokio::test]
    async fn the_translator_decides_whether_the_body_end_is_complete() {
        let items = run("data: 1\n\n").await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap(), &1);
        assert_eq!(items[1].as_ref().unwrap_err().message(), "cut short");
    }

    #[tokio::test]
    async fn a_bad_event_ends_the_stream_after_the_chunks_before_it() {
        let items = run("data: 4\n\ndata: x\n\ndata: 5\n\n").await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().message(), "not a number");
    }
}
