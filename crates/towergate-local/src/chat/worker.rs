//! Generations on dedicated OS threads, never on the async runtime.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::{
    generate::{self, Finish},
    job::Job,
    model::LoadedModel,
};

/// What a streamed generation sends as it goes.
#[derive(Debug)]
pub(crate) enum Event {
    /// Text generated, whole UTF-8.
    Piece(String),
    /// The generation ended.
    Done(Finish),
    /// The generation failed.
    Failed(String),
}

/// Where a generation's output goes.
pub(crate) enum Sink {
    /// All at once, when it ends.
    Whole(oneshot::Sender<Result<(String, Finish), String>>),
    /// Piece by piece.
    Stream(mpsc::Sender<Event>),
}

/// Starts `job` on a new thread; the permits are held until it ends.
pub(crate) fn spawn(
    model: Arc<LoadedModel>,
    job: Job,
    sink: Sink,
    permits: Vec<OwnedSemaphorePermit>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("towergate-local-chat".into())
        .spawn(move || {
            let _permits = permits;
            run(&model, &job, sink);
        })
        .map(drop)
}

fn run(model: &LoadedModel, job: &Job, sink: Sink) {
    match sink {
        Sink::Whole(reply) => {
            let mut text = String::new();
            let result = generate::generate(model, &job.prompt, &job.params, &mut |piece| {
                text.push_str(&piece);
                !reply.is_closed()
            });
            // The caller may be gone; then there is nobody to tell.
            let _ = reply.send(result.map(|finish| (text, finish)));
        }
        Sink::Stream(events) => {
            let result = generate::generate(model, &job.prompt, &job.params, &mut |piece| {
                events.blocking_send(Event::Piece(piece)).is_ok()
            });
            let last = match result {
                Ok(finish) => Event::Done(finish),
                Err(message) => Event::Failed(message),
            };
            // A closed channel means the client left; nothing more to do.
            let _ = events.blocking_send(last);
        }
    }
}
