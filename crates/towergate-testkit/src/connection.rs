//! One accepted connection: its socket, and a way for a handler to reset it.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::Notify,
};

/// Lets a request handler ask for its connection to be reset.
#[derive(Debug, Default)]
pub(crate) struct ConnectionControl {
    reset: AtomicBool,
    requested: Notify,
}

impl ConnectionControl {
    /// Asks the connection's task to drop the socket with a TCP reset.
    pub(crate) fn request_reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
        self.requested.notify_one();
    }

    /// Completes once a reset was asked for.
    pub(crate) async fn reset_requested(&self) {
        self.requested.notified().await;
    }
}

/// The socket of a connection; closes with a reset (`SO_LINGER` 0) when
/// its [`ConnectionControl`] asked for one.
#[derive(Debug)]
pub(crate) struct ConnectionIo {
    stream: TcpStream,
    control: Arc<ConnectionControl>,
}

impl ConnectionIo {
    pub(crate) fn new(stream: TcpStream, control: Arc<ConnectionControl>) -> Self {
        Self { stream, control }
    }
}

impl Drop for ConnectionIo {
    fn drop(&mut self) {
        if self.control.reset.load(Ordering::SeqCst) {
            // A zero linger does not block on close; it makes close send RST.
            #[allow(deprecated)]
            let _ = self.stream.set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnectionIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnectionIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
