//! [`Recording`]: a streamed answer, kept chunk by chunk as it passes and
//! stored once it has finished.

use std::{
    collections::BTreeMap,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use futures_core::{Future, Stream};
use towergate_core::{
    ChunkStream, GatewayError, ResponseMeta, Usage, chat::ChatChunk, completion::CompletionChunk,
};

use crate::{
    CachedAnswer, CachedBody,
    inflight::{Leader, Outcome},
    layer::Storing,
};

/// A chunk type the cache can keep.
pub trait CachedChunk: Clone + Send + Unpin + 'static {
    /// Calls `visit` with the index of each choice this chunk carries and
    /// whether the chunk ends it.
    fn visit_choices(&self, visit: &mut dyn FnMut(u32, bool));
    /// The usage this chunk carries, if any.
    fn usage(&self) -> Option<&Usage>;
    /// The cached body of a finished stream of these chunks.
    fn into_body(chunks: Vec<Self>) -> CachedBody;
}

/// Chat and completion chunks keep their choices and usage alike.
macro_rules! cached_chunk {
    ($($chunk:ty => $body:ident),+) => {$(
        impl CachedChunk for $chunk {
            fn visit_choices(&self, visit: &mut dyn FnMut(u32, bool)) {
                for choice in &self.choices {
                    visit(choice.index, choice.finish_reason.is_some());
                }
            }

            fn usage(&self) -> Option<&Usage> {
                self.usage.as_ref()
            }

            fn into_body(chunks: Vec<Self>) -> CachedBody {
                CachedBody::$body(chunks)
            }
        }
    )+};
}

cached_chunk!(ChatChunk => ChatStream, CompletionChunk => CompletionStream);

type PutFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A stream that passes its chunks on unchanged and keeps a copy. When it
/// ends cleanly, with every choice it started finished, the copy is
/// stored (before the end is passed on, so a caller that saw the end will
/// find the answer cached) and handed to the misses that waited for it. A
/// stream that fails or is dropped before its end stores nothing, and the
/// misses that waited call the upstream themselves.
pub struct Recording<T: CachedChunk> {
    inner: ChunkStream<T>,
    chunks: Vec<T>,
    /// The choices seen, and whether each has finished.
    choices: BTreeMap<u32, bool>,
    ended: bool,
    storing: Option<Storing>,
    leader: Option<Leader>,
    /// Who answered, to be kept with the chunks.
    shell: Option<CachedAnswer>,
    put: Option<PutFuture>,
}

impl<T: CachedChunk> Recording<T> {
    pub(crate) fn new(
        inner: ChunkStream<T>,
        storing: Storing,
        leader: Option<Leader>,
        meta: &ResponseMeta,
    ) -> Self {
        Recording {
            inner,
            chunks: Vec::new(),
            choices: BTreeMap::new(),
            ended: false,
            storing: Some(storing),
            leader,
            shell: Some(CachedAnswer::with_meta(T::into_body(Vec::new()), meta)),
            put: None,
        }
    }

    /// Stops recording: nothing will be stored, and the followers call
    /// the upstream on their own.
    fn abandon(&mut self) {
        if let Some(leader) = self.leader.take() {
            leader.finish(Outcome::Uncacheable);
        }
        self.storing = None;
        self.chunks = Vec::new();
    }

    /// The answer the stream made, if it finished.
    fn answer(&mut self) -> Option<CachedAnswer> {
        let finished = !self.choices.is_empty() && self.choices.values().all(|done| *done);
        if !finished {
            return None;
        }
        let mut answer = self.shell.take()?;
        answer.usage = self.chunks.iter().rev().find_map(|c| c.usage()).cloned();
        answer.body = T::into_body(std::mem::take(&mut self.chunks));
        Some(answer)
    }

    /// Starts storing the finished answer; `false` when there is none.
    fn start_put(&mut self) -> bool {
        let Some(storing) = self.storing.take() else {
            return false;
        };
        let Some(answer) = self.answer() else {
            self.abandon();
            return false;
        };
        let answer = Arc::new(answer);
        if let Some(leader) = &self.leader {
            leader.finish(Outcome::Answer(Arc::clone(&answer)));
        }
        self.put = Some(Box::pin(storing.put(answer)));
        true
    }
}

impl<T: CachedChunk> Stream for Recording<T> {
    type Item = Result<T, GatewayError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if let Some(put) = &mut this.put {
            ready!(put.as_mut().poll(cx));
            this.put = None;
            this.leader = None;
            this.ended = true;
            return Poll::Ready(None);
        }
        match ready!(this.inner.as_mut().poll_next(cx)) {
            Some(Ok(chunk)) => {
                if this.storing.is_some() {
                    let choices = &mut this.choices;
                    chunk.visit_choices(&mut |index, ends| {
                        *choices.entry(index).or_default() |= ends;
                    });
                    this.chunks.push(chunk.clone());
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(error)) => {
                this.abandon();
                Poll::Ready(Some(Err(error)))
            }
            None => {
                if this.start_put() {
                    // Polls the store write; the end follows once it is done.
                    Pin::new(this).poll_next(cx)
                } else {
                    this.abandon();
                    this.ended = true;
                    Poll::Ready(None)
                }
            }
        }
    }
}
