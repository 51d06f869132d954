//! ConverseStream's binary event stream as chat chunks.
//!
//! The body is a sequence of AWS event-stream messages (prelude, headers,
//! JSON payload, CRCs), decoded with `aws-smithy-eventstream`. Events
//! (`:message-type: event`) are named by `:event-type`; an exception
//! (`:message-type: exception`) ends the stream with an error carrying its
//! message.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::Message;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::StatusCode;
use http_body::Body;
use serde::Deserialize;
use tokio::time::{Instant, Sleep};
use towergate_core::{GatewayError, chat::ChatChunk};

use super::decode::{BedrockUsage, answer_id, finish_reason};
use crate::{chunks::ChunkMaker, error, upstream::unix_now};

/// The chat chunks of a ConverseStream body `B`.
pub(super) struct EventStreamChunks<B> {
    /// `None` once the stream has ended; dropping it closes the connection.
    body: Option<Pin<Box<B>>>,
    buffer: BytesMut,
    decoder: MessageFrameDecoder,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    host: Arc<str>,
    translator: Translator,
    pending: VecDeque<Result<ChatChunk, GatewayError>>,
}

impl<B> EventStreamChunks<B>
where
    B: Body<Data = Bytes>,
{
    /// Reads `body` from `host` for `model`, failing after `idle_timeout` of silence.
    pub(super) fn new(body: B, idle_timeout: Duration, host: Arc<str>, model: String) -> Self {
        Self {
            body: Some(Box::pin(body)),
            buffer: BytesMut::new(),
            decoder: MessageFrameDecoder::new(),
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_timeout,
            host,
            translator: Translator::new(model),
            pending: VecDeque::new(),
        }
    }

    fn fail(&mut self, error: GatewayError) {
        self.body = None;
        self.pending.push_back(Err(error));
    }

    /// Translates every complete message in the buffer.
    fn drain(&mut self) {
        while self.body.is_some() {
            match self.decoder.decode_frame(&mut self.buffer) {
                Ok(DecodedFrame::Incomplete) => return,
                Ok(DecodedFrame::Complete(message)) => {
                    let mut out = VecDeque::new();
                    let result = self.translator.message(&message, &self.host, &mut out);
                    self.pending.extend(out.into_iter().map(Ok));
                    if let Err(error) = result {
                        self.fail(error);
                    }
                }
                Err(failure) => {
                    let error = GatewayError::bad_gateway(format!(
                        "upstream `{}` sent a malformed event stream: {failure}",
                        self.host
                    ));
                    self.fail(error);
                }
            }
        }
    }

    fn end(&mut self) {
        self.body = None;
        if !self.buffer.is_empty() || !self.translator.stopped {
            self.pending
                .push_back(Err(GatewayError::bad_gateway(format!(
                    "upstream `{}` ended its stream before messageStop",
                    self.host
                ))));
        }
    }
}

impl<B> Stream for EventStreamChunks<B>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Item = Result<ChatChunk, GatewayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            let Some(body) = this.body.as_mut() else {
                return Poll::Ready(None);
            };
            match body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.idle.as_mut().reset(Instant::now() + this.idle_timeout);
                        this.buffer.extend_from_slice(&data);
                        this.drain();
                    }
                }
                Poll::Ready(Some(Err(failure))) => {
                    let error = error::broken_body(&this.host, &failure);
                    this.fail(error);
                }
                Poll::Ready(None) => this.end(),
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let error = error::stream_idle(&this.host, this.idle_timeout);
                    this.fail(error);
                }
            }
        }
    }
}

/// The state of one streamed answer.
struct Translator {
    maker: ChunkMaker,
    started: bool,
    stopped: bool,
    /// Content block index → tool call index, for the tool blocks so far.
    tool_blocks: Vec<(u64, u32)>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default)]
    start: Option<StartBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    #[serde(default)]
    tool_use: Option<ToolStart>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolStart {
    tool_use_id: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    content_block_index: u64,
    delta: DeltaBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolDelta>,
}

#[derive(Debug, Deserialize)]
struct ToolDelta {
    #[serde(default)]
    input: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: Option<BedrockUsage>,
}

#[derive(Debug, Deserialize)]
struct ExceptionBody {
    #[serde(default)]
    message: Option<String>,
}

fn header<'m>(message: &'m Message, name: &str) -> Option<&'m str> {
    message
        .headers()
        .iter()
        .find(|header| header.name().as_str() == name)
        .and_then(|header| header.value().as_string().ok())
        .map(|value| value.as_str())
}

/// The status an exception of `kind` stands for.
fn exception_status(kind: &str) -> StatusCode {
    match kind {
        "throttlingException" => StatusCode::TOO_MANY_REQUESTS,
        "validationException" => StatusCode::BAD_REQUEST,
        "accessDeniedException" => StatusCode::FORBIDDEN,
        "modelTimeoutException" => StatusCode::GATEWAY_TIMEOUT,
        "serviceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
        "internalServerException" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl Translator {
    fn new(model: String) -> Self {
        Self {
            maker: ChunkMaker::new(answer_id(), model, unix_now()),
            started: false,
            stopped: false,
            tool_blocks: Vec::new(),
        }
    }

    fn start(&mut self, out: &mut VecDeque<ChatChunk>) {
        if !self.started {
            self.started = true;
            out.push_back(self.maker.role());
        }
    }

    fn message(
        &mut self,
        message: &Message,
        host: &str,
        out: &mut VecDeque<ChatChunk>,
    ) -> Result<(), GatewayError> {
        let payload = message.payload().as_ref();
        match header(message, ":message-type") {
            Some("exception") => {
                let kind = header(message, ":exception-type").unwrap_or("exception");
                let text = serde_json::from_slice::<ExceptionBody>(payload)
                    .ok()
                    .and_then(|body| body.message)
                    .unwrap_or_else(|| kind.to_owned());
                return Err(GatewayError::upstream(exception_status(kind), text));
            }
            Some("error") => {
                let text = header(message, ":error-message")
                    .or_else(|| header(message, ":error-code"))
                    .unwrap_or("the upstream's stream failed");
                return Err(GatewayError::upstream(StatusCode::BAD_GATEWAY, text));
            }
            _ => {}
        }
        let parse = |what: &str| {
            GatewayError::bad_gateway(format!(
                "upstream `{host}` sent a {what} event that is not Bedrock's shape"
            ))
        };
        match header(message, ":event-type") {
            Some("messageStart") => self.start(out),
            Some("contentBlockStart") => {
                let start: BlockStart =
                    serde_json::from_slice(payload).map_err(|_| parse("contentBlockStart"))?;
                self.start(out);
                if let Some(tool) = start.start.and_then(|start| start.tool_use) {
                    let index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((start.content_block_index, index));
                    out.push_back(self.maker.tool_call_start(
                        index,
                        tool.tool_use_id,
                        tool.name,
                        "",
                    ));
                }
            }
            Some("contentBlockDelta") => {
                let delta: BlockDelta =
                    serde_json::from_slice(payload).map_err(|_| parse("contentBlockDelta"))?;
                self.start(out);
                if let Some(text) = delta.delta.text {
                    out.push_back(self.maker.content(text));
                }
                if let Some(tool) = delta.delta.tool_use {
                    let index = self
                        .tool_blocks
                        .iter()
                        .find(|(block, _)| *block == delta.content_block_index)
                        .map(|(_, index)| *index)
                        .ok_or_else(|| parse("toolUse delta without its contentBlockStart"))?;
                    out.push_back(self.maker.tool_call_arguments(index, tool.input));
                }
            }
            Some("messageStop") => {
                let stop: MessageStop =
                    serde_json::from_slice(payload).map_err(|_| parse("messageStop"))?;
                self.start(out);
                self.stopped = true;
                out.push_back(
                    self.maker
                        .finish(finish_reason(stop.stop_reason.as_deref())),
                );
            }
            Some("metadata") => {
                let metadata: Metadata =
                    serde_json::from_slice(payload).map_err(|_| parse("metadata"))?;
                if let Some(usage) = metadata.usage {
                    out.push_back(self.maker.usage(usage.to_usage()));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue};
    use futures_util::StreamExt;
    use http_body_util::Full;
    use serde_json::{Value, json};

    use super::*;

    fn frame(kind: (&'static str, &'static str), name: &str, payload: &Value) -> Vec<u8> {
        let text = |value: &str| HeaderValue::String(value.to_owned().into());
        let message = Message::new(serde_json::to_vec(payload).unwrap())
            .add_header(Header::new(":message-type", text(kind.0)))
            .add_header(Header::new(kind.1, text(name)));
        let mut out = Vec::new();
        write_message_to(&message, &mut out).unwrap();
        out
    }

    fn event(name: &str, payload: Value) -> Vec<u8> {
        frame(("event", ":event-type"), name, &payload)
    }

    async fn translate(frames: Vec<Vec<u8>>) -> Vec<Result<ChatChunk, GatewayError>> {
        let body = Full::new(Bytes::from(frames.concat()));
        EventStreamChunks::new(body, Duration::from_secs(60), "h".into(), "m".into())
            .collect()
            .await
    }

    #[tokio::test]
    async fn two_tool_calls_get_their_own_indexes() {
        let items = translate(vec![
            event("messageStart", json!({"role": "assistant"})),
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
            ),
            event(
                "contentBlockStart",
                json!({"contentBlockIndex": 1,
                "start": {"toolUse": {"toolUseId": "t1", "name": "a"}}}),
            ),
            event(
                "contentBlockStart",
                json!({"contentBlockIndex": 2,
                "start": {"toolUse": {"toolUseId": "t2", "name": "b"}}}),
            ),
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 2,
                "delta": {"toolUse": {"input": "{}"}}}),
            ),
            event("messageStop", json!({"stopReason": "tool_use"})),
            event(
                "metadata",
                json!({"usage": {"inputTokens": 4, "outputTokens": 6, "totalTokens": 10}}),
            ),
        ])
        .await;
        let chunks: Vec<ChatChunk> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(chunks.len(), 7);
        let call = |at: usize| chunks[at].choices[0].delta.tool_calls.as_ref().unwrap()[0].clone();
        assert_eq!((call(2).index, call(2).id.as_deref()), (0, Some("t1")));
        assert_eq!((call(3).index, call(3).id.as_deref()), (1, Some("t2")));
        assert_eq!(call(4).index, 1);
        assert_eq!(
            chunks[5].choices[0].finish_reason.as_deref(),
            Some("tool_calls")
        );
        assert_eq!(chunks[6].usage.as_ref().unwrap().total_tokens, 10);
    }

    #[tokio::test]
    async fn an_exception_keeps_its_message_and_the_status_of_its_type() {
        let items = translate(vec![
            event("messageStart", json!({"role": "assistant"})),
            frame(
                ("exception", ":exception-type"),
                "validationException",
                &json!({"message": "bad input"}),
            ),
        ])
        .await;
        assert_eq!(items.len(), 2);
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.message()),
            (400, "bad input")
        );
    }
}
