//! `POST /generate_stream` token events to chat or completion chunks.
//!
//! Each event carries one generated token; special tokens (`</s>`) are left
//! out of the text. The last event carries `details`: the finish reason and
//! the token counts, after which the stream is over (a finish chunk, then
//! a usage chunk when TGI reports the prompt's length). A body that ends
//! before it was cut short.

use std::{collections::VecDeque, marker::PhantomData};

use eventsource_stream::Event;
use towergate_core::{
    GatewayError, Usage,
    chat::ChatChunk,
    completion::{CompletionChoice, CompletionChunk},
};

use super::decode::{StreamEvent, finish_reason, fresh_id};
use crate::{chunks::ChunkMaker, error, sse::Translate, upstream::unix_now};

/// What the stream has seen, and how its chunks look.
pub(super) struct TokenChunks<K> {
    /// The id, model and creation time every chunk repeats.
    maker: ChunkMaker,
    started: bool,
    finished: bool,
    _kind: PhantomData<fn() -> K>,
}

/// Chat chunks (a role chunk first) or completion chunks.
pub(super) trait ChunkKind {
    type Chunk;
    fn id_prefix() -> &'static str;
    fn start(chunks: &TokenChunks<Self>) -> Option<Self::Chunk>
    where
        Self: Sized;
    fn text(chunks: &TokenChunks<Self>, text: String) -> Self::Chunk
    where
        Self: Sized;
    fn finish(chunks: &TokenChunks<Self>, reason: &str) -> Self::Chunk
    where
        Self: Sized;
    fn usage(chunks: &TokenChunks<Self>, usage: Usage) -> Self::Chunk
    where
        Self: Sized;
}

impl<K: ChunkKind> TokenChunks<K> {
    pub(super) fn new(model: &str) -> Self {
        Self {
            maker: ChunkMaker::new(fresh_id(K::id_prefix()), model, unix_now()),
            started: false,
            finished: false,
            _kind: PhantomData,
        }
    }
}

impl<K: ChunkKind> Translate for TokenChunks<K> {
    type Chunk = K::Chunk;

    fn event(
        &mut self,
        event: &Event,
        host: &str,
        out: &mut VecDeque<K::Chunk>,
    ) -> Result<bool, GatewayError> {
        let data = event.data.trim();
        if let Some(error) = error::from_stream_event(data) {
            return Err(error);
        }
        let token: StreamEvent = serde_json::from_str(data).map_err(|parse| {
            GatewayError::bad_gateway(format!(
                "upstream `{host}` sent a stream event that is not a TGI token: {parse}"
            ))
        })?;
        if !self.started {
            self.started = true;
            out.extend(K::start(self));
        }
        if !token.token.special && !token.token.text.is_empty() {
            out.push_back(K::text(self, token.token.text));
        }
        let Some(details) = token.details else {
            return Ok(false);
        };
        self.finished = true;
        out.push_back(K::finish(self, finish_reason(&details.finish_reason)));
        // TGI before 2.1 does not say how long the prompt was: usage unknown.
        if let Some(prompt) = details.input_length {
            out.push_back(K::usage(self, Usage::new(prompt, details.generated_tokens)));
        }
        Ok(true)
    }

    fn end(&mut self, host: &str, _out: &mut VecDeque<K::Chunk>) -> Result<(), GatewayError> {
        if self.finished {
            Ok(())
        } else {
            Err(GatewayError::bad_gateway(format!(
                "upstream `{host}` stream ended before its last token"
            )))
        }
    }
}

/// Chat chunks.
pub(super) struct Chat;

impl ChunkKind for Chat {
    type Chunk = ChatChunk;

    fn id_prefix() -> &'static str {
        "chatcmpl-"
    }

    fn start(chunks: &TokenChunks<Self>) -> Option<ChatChunk> {
        Some(chunks.maker.role())
    }

    fn text(chunks: &TokenChunks<Self>, text: String) -> ChatChunk {
        chunks.maker.content(text)
    }

    fn finish(chunks: &TokenChunks<Self>, reason: &str) -> ChatChunk {
        chunks.maker.finish(reason)
    }

    fn usage(chunks: &TokenChunks<Self>, usage: Usage) -> ChatChunk {
        chunks.maker.usage(usage)
    }
}

/// Completion chunks.
pub(super) struct Completion;

fn completion_chunk(
    chunks: &TokenChunks<Completion>,
    choices: Vec<CompletionChoice>,
    usage: Option<Usage>,
) -> CompletionChunk {
    CompletionChunk {
        id: chunks.maker.id.clone(),
        object: "text_completion".to_owned(),
        created: chunks.maker.created,
        model: chunks.maker.model.clone(),
        choices,
        usage,
        system_fingerprint: None,
        extra: Default::default(),
    }
}

fn completion_choice(text: String, finish: Option<&str>) -> Vec<CompletionChoice> {
    vec![CompletionChoice {
        text,
        index: 0,
        logprobs: None,
        finish_reason: finish.map(str::to_owned),
    }]
}

impl ChunkKind for Completion {
    type Chunk = CompletionChunk;

    fn id_prefix() -> &'static str {
        "cmpl-"
    }

    fn start(_chunks: &TokenChunks<Self>) -> Option<CompletionChunk> {
        None
    }

    fn text(chunks: &TokenChunks<Self>, text: String) -> CompletionChunk {
        completion_chunk(chunks, completion_choice(text, None), None)
    }

    fn finish(chunks: &TokenChunks<Self>, reason: &str) -> CompletionChunk {
        completion_chunk(chunks, completion_choice(String::new(), Some(reason)), None)
    }

    fn usage(chunks: &TokenChunks<Self>, usage: Usage) -> CompletionChunk {
        completion_chunk(chunks, Vec::new(), Some(usage))
    }
}
