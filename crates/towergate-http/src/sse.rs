//! Server-sent events: a stream of chunks as `data: {json}` events ending in `data: [DONE]`.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use futures_core::Stream;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use serde::Serialize;
use towergate_core::{ChunkStream, GatewayError, chat::ChatChunk, completion::CompletionChunk};

/// A streamed chunk whose usage can be dropped when the caller did not ask for it.
pub trait StreamChunk: Serialize {
    /// Removes the chunk's usage; returns `true` if nothing else was left to send.
    fn strip_usage(&mut self) -> bool;
}

impl StreamChunk for ChatChunk {
    fn strip_usage(&mut self) -> bool {
        self.usage.take().is_some() && self.choices.is_empty()
    }
}

impl StreamChunk for CompletionChunk {
    fn strip_usage(&mut self) -> bool {
        self.usage.take().is_some() && self.choices.is_empty()
    }
}

/// How an error in the middle of a stream is written as an event.
pub type ErrorEvent = fn(&GatewayError) -> Vec<u8>;

pin_project! {
    /// An HTTP body that writes each chunk of a stream as an SSE event as it comes.
    ///
    /// Dropping the body (a client that went away) drops the stream, and so
    /// cancels the upstream call behind it.
    pub struct SseBody<T> {
        #[pin]
        chunks: ChunkStream<T>,
        include_usage: bool,
        error_event: ErrorEvent,
        done: bool,
    }
}

impl<T> SseBody<T> {
    /// Writes `chunks` as events; usage is kept only if `include_usage`.
    pub fn new(chunks: ChunkStream<T>, include_usage: bool, error_event: ErrorEvent) -> Self {
        Self {
            chunks,
            include_usage,
            error_event,
            done: false,
        }
    }
}

/// Events already waiting are written together, up to about this many bytes,
/// so that a burst of chunks from the upstream leaves in one write instead
/// of one each; nothing waits for more to come.
const COALESCE_BYTES: usize = 16 * 1024;

fn push_event(out: &mut Vec<u8>, json: &[u8]) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\n\n");
}

impl<T: StreamChunk> SseBody<T> {
    /// Appends the next item's event to `out`; whether the stream has ended.
    fn push_item(
        out: &mut Vec<u8>,
        item: Option<Result<T, GatewayError>>,
        include_usage: bool,
        error_event: ErrorEvent,
    ) -> bool {
        match item {
            Some(Ok(mut chunk)) => {
                if !include_usage && chunk.strip_usage() {
                    return false;
                }
                let mark = out.len();
                out.extend_from_slice(b"data: ");
                if let Err(error) = serde_json::to_writer(&mut *out, &chunk) {
                    out.truncate(mark);
                    let error =
                        GatewayError::internal(format!("could not encode a stream chunk: {error}"));
                    push_event(out, &error_event(&error));
                    return true;
                }
                out.extend_from_slice(b"\n\n");
                false
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "stream ended by an error");
                push_event(out, &error_event(&error));
                true
            }
            None => {
                out.extend_from_slice(b"data: [DONE]\n\n");
                true
            }
        }
    }
}

impl<T: StreamChunk> Body for SseBody<T> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        let mut out = Vec::new();
        while out.len() < COALESCE_BYTES {
            let item = match this.chunks.as_mut().poll_next(cx) {
                Poll::Ready(item) => item,
                Poll::Pending if out.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            };
            if Self::push_item(&mut out, item, *this.include_usage, *this.error_event) {
                *this.done = true;
                break;
            }
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use towergate_core::{
        Usage,
        chat::{ChatDelta, ChunkChoice},
    };

    fn chunk(content: Option<&str>, usage: Option<Usage>) -> ChatChunk {
        ChatChunk {
            id: "c".into(),
            object: "chat.completion.chunk".into(),
            created: 0,
            model: "m".into(),
            choices: content
                .map(|text| ChunkChoice {
                    index: 0,
                    delta: ChatDelta {
                        content: Some(text.into()),
                        ..ChatDelta::default()
                    },
                    finish_reason: None,
                    logprobs: None,
                })
                .into_iter()
                .collect(),
            usage,
            system_fingerprint: None,
            extra: Default::default(),
        }
    }

    async fn render(items: Vec<Result<ChatChunk, GatewayError>>, include_usage: bool) -> String {
        let stream: ChunkStream<ChatChunk> = Box::pin(futures_util::stream::iter(items));
        let body = SseBody::new(stream, include_usage, crate::error::openai_error_json);
        let bytes = body.collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn writes_events_and_done() {
        let text = render(
            vec![Ok(chunk(Some("Hel"), None)), Ok(chunk(Some("lo"), None))],
            false,
        )
        .await;
        let events: Vec<_> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 3);
        assert!(events[0].starts_with("data: {") && events[0].contains("\"Hel\""));
        assert_eq!(events[2], "data: [DONE]");
    }

    #[tokio::test]
    async fn usage_is_kept_only_when_asked_for() {
        let items = || {
            vec![
                Ok(chunk(Some("a"), None)),
                Ok(chunk(None, Some(Usage::new(3, 1)))),
            ]
        };
        let without = render(items(), false).await;
        assert!(!without.contains("usage"));
        assert_eq!(without.matches("data: ").count(), 2);
        let with = render(items(), true).await;
        assert!(with.contains("\"prompt_tokens\":3"));
        assert_eq!(with.matches("data: ").count(), 3);
    }

    #[tokio::test]
    async fn chunks_already_waiting_leave_in_one_frame_and_later_ones_as_they_come() {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let stream: ChunkStream<ChatChunk> = Box::pin(futures_util::stream::poll_fn(move |cx| {
            receiver.poll_recv(cx)
        }));
        for text in ["a", "b", "c"] {
            sender.send(Ok(chunk(Some(text), None))).unwrap();
        }
        let mut body = SseBody::new(stream, false, crate::error::openai_error_json);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(
            first
                .split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"data: "))
                .count(),
            3
        );

        sender.send(Ok(chunk(Some("d"), None))).unwrap();
        let second = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert!(std::str::from_utf8(&second).unwrap().contains("\"d\""));
        drop(sender);
        let last = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&last[..], b"data: [DONE]\n\n");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_without_done() {
        let text = render(
            vec![
                Ok(chunk(Some("a"), None)),
                Err(GatewayError::bad_gateway("upstream went away")),
            ],
            false,
        )
        .await;
        assert!(text.contains("upstream went away"));
        assert!(!text.contains("[DONE]"));
    }
}
