//! The chunk streams of a streamed answer, fed by the generation thread.

use futures_util::stream;
use tokio::sync::mpsc;
use towergate_core::{
    ChunkStream, GatewayError, Usage,
    chat::{ChatChunk, ChatDelta, Role},
    completion::CompletionChunk,
};

use super::{
    respond::{self, Header},
    worker::Event,
};

/// Where a stream is.
enum Phase {
    /// The role chunk is next (chat only).
    Start,
    /// Text chunks, until the generation ends.
    Body,
    /// The usage chunk is next.
    Usage(Usage),
    /// Nothing more.
    End,
}

struct State {
    events: mpsc::Receiver<Event>,
    header: Header,
    include_usage: bool,
    phase: Phase,
}

fn lost() -> GatewayError {
    GatewayError::internal("the local generation ended without finishing")
}

/// Chat chunks: the role, then one chunk per text piece, the finish reason,
/// and usage when asked for.
pub(crate) fn chat(
    events: mpsc::Receiver<Event>,
    header: Header,
    include_usage: bool,
) -> ChunkStream<ChatChunk> {
    let state = State {
        events,
        header,
        include_usage,
        phase: Phase::Start,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        let item = match std::mem::replace(&mut state.phase, Phase::End) {
            Phase::End => return None,
            Phase::Start => {
                state.phase = Phase::Body;
                let delta = ChatDelta {
                    role: Some(Role::Assistant),
                    content: Some(String::new()),
                    ..ChatDelta::default()
                };
                Ok(respond::chat_chunk(&state.header, Some(delta), None, None))
            }
            Phase::Usage(usage) => Ok(respond::chat_chunk(&state.header, None, None, Some(usage))),
            Phase::Body => match state.events.recv().await {
                Some(Event::Piece(piece)) => {
                    state.phase = Phase::Body;
                    let delta = respond::content_delta(piece);
                    Ok(respond::chat_chunk(&state.header, Some(delta), None, None))
                }
                Some(Event::Done(finish)) => {
                    if state.include_usage {
                        state.phase = Phase::Usage(respond::usage(&finish));
                    }
                    let reason = Some(finish.reason.as_str());
                    Ok(respond::chat_chunk(
                        &state.header,
                        Some(ChatDelta::default()),
                        reason,
                        None,
                    ))
                }
                Some(Event::Failed(message)) => Err(GatewayError::internal(message)),
                None => Err(lost()),
            },
        };
        Some((item, state))
    }))
}

/// Completion chunks: one per text piece, the finish reason, and usage
/// when asked for.
pub(crate) fn completion(
    events: mpsc::Receiver<Event>,
    header: Header,
    include_usage: bool,
) -> ChunkStream<CompletionChunk> {
    let state = State {
        events,
        header,
        include_usage,
        phase: Phase::Body,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        let item = match std::mem::replace(&mut state.phase, Phase::End) {
            Phase::End | Phase::Start => return None,
            Phase::Usage(usage) => Ok(respond::completion(&state.header, None, None, Some(usage))),
            Phase::Body => match state.events.recv().await {
                Some(Event::Piece(piece)) => {
                    state.phase = Phase::Body;
                    Ok(respond::completion(&state.header, Some(piece), None, None))
                }
                Some(Event::Done(finish)) => {
                    if state.include_usage {
                        state.phase = Phase::Usage(respond::usage(&finish));
                    }
                    let reason = Some(finish.reason.as_str());
                    Ok(respond::completion(
                        &state.header,
                        Some(String::new()),
                        reason,
                        None,
                    ))
                }
                Some(Event::Failed(message)) => Err(GatewayError::internal(message)),
                None => Err(lost()),
            },
        };
        Some((item, state))
    }))
}
