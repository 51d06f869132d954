//! Where usage records go: [`UsageSink`], [`JsonlSink`], [`MemorySink`].

use std::{
    fmt,
    fs::{File, OpenOptions},
    future::Future,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    pin::Pin,
    sync::{Arc, Mutex, PoisonError, mpsc},
    thread,
};

use tokio::sync::oneshot;

use super::UsageRecord;

/// A future a sink returns from [`UsageSink::flush`].
pub type FlushFuture<'a> = Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;

/// Takes every request's [`UsageRecord`].
///
/// [`record`](UsageSink::record) is called on the request path, from a
/// future's poll or a stream's `Drop`: it must not block and must not fail
/// (a sink that cannot write keeps the record and reports on flush).
/// [`flush`](UsageSink::flush) completes once every record handed over so
/// far is stored; the gateway awaits it when it drains on shutdown.
pub trait UsageSink: Send + Sync + 'static {
    /// Takes one record.
    fn record(&self, record: UsageRecord);

    /// Stores every record taken so far.
    fn flush(&self) -> FlushFuture<'_>;
}

/// Keeps records in memory; for tests and for callers that read them back.
///
/// ```
/// # use towergate_tokens::accounting::{MemorySink, UsageSink};
/// let sink = MemorySink::new();
/// assert!(sink.records().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    records: Arc<Mutex<Vec<UsageRecord>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records taken so far, oldest first.
    pub fn records(&self) -> Vec<UsageRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl UsageSink for MemorySink {
    fn record(&self, record: UsageRecord) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    fn flush(&self) -> FlushFuture<'_> {
        Box::pin(std::future::ready(Ok(())))
    }
}

// Records are nearly every message: boxing them would cost an allocation
// each to save a few bytes on the rare flush.
#[allow(clippy::large_enum_variant)]
enum Message {
    Record(UsageRecord),
    Flush(oneshot::Sender<io::Result<()>>),
}

/// Appends records to a file, one JSON object per line.
///
/// A writer thread of its own does the file I/O, so recording never
/// blocks the runtime. Each burst of records is written out as soon as the
/// thread has taken it (a crash loses at most the records in the
/// channel); [`flush`](UsageSink::flush) also syncs the file. Dropping the
/// last clone writes what is left and stops the thread.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use towergate_tokens::accounting::{JsonlSink, UsageSink};
/// let sink = JsonlSink::open("usage.jsonl")?;
/// // ... hand it to TokenAccountingLayer::sink, serve ...
/// sink.flush().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JsonlSink {
    path: Arc<PathBuf>,
    sender: mpsc::Sender<Message>,
}

impl fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlSink")
            .field("path", &self.path)
            .finish()
    }
}

impl JsonlSink {
    /// Opens `path` for appending (creating it) and starts the writer.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let (sender, receiver) = mpsc::channel();
        let name = path.display().to_string();
        thread::Builder::new()
            .name("towergate-usage".into())
            .spawn(move || write_records(file, &name, &receiver))?;
        Ok(Self {
            path: Arc::new(path),
            sender,
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl UsageSink for JsonlSink {
    fn record(&self, record: UsageRecord) {
        if self.sender.send(Message::Record(record)).is_err() {
            tracing::error!(path = %self.path.display(), "the usage writer has stopped: a record is lost");
        }
    }

    fn flush(&self) -> FlushFuture<'_> {
        let (done, wait) = oneshot::channel();
        let sent = self.sender.send(Message::Flush(done));
        Box::pin(async move {
            if sent.is_err() {
                return Err(io::Error::other("the usage writer has stopped"));
            }
            wait.await
                .unwrap_or_else(|_| Err(io::Error::other("the usage writer has stopped")))
        })
    }
}

/// The writer thread: takes records until every sender is gone.
fn write_records(file: File, name: &str, receiver: &mpsc::Receiver<Message>) {
    let mut out = BufWriter::new(file);
    let mut failed: Option<io::Error> = None;
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Record(record) => {
                    let written = serde_json::to_writer(&mut out, &record)
                        .map_err(io::Error::from)
                        .and_then(|()| out.write_all(b"\n"));
                    if let Err(error) = written {
                        tracing::error!(path = name, %error, "cannot write a usage record");
                        failed.get_or_insert(error);
                    }
                }
                Message::Flush(done) => {
                    let result = out.flush().and_then(|()| out.get_ref().sync_data());
                    let result = match (result, failed.take()) {
                        (Err(error), _) | (Ok(()), Some(error)) => Err(error),
                        (Ok(()), None) => Ok(()),
                    };
                    let _ = done.send(result);
                }
            }
            next = receiver.try_recv().ok();
        }
        if let Err(error) = out.flush() {
            tracing::error!(path = name, %error, "cannot write usage records");
            failed.get_or_insert(error);
        }
    }
    let _ = out.flush();
}
