//! A throwaway `redis-server` on a loopback port, for tests of shared state.
//!
//! [`RedisServer::start`] runs the `redis-server` found on `PATH` with no
//! persistence, waits until it answers `PING`, and kills it when dropped.
//! When `redis-server` is missing it panics with a message saying so: a
//! test that needs Redis fails rather than passing without it.
//!
//! ```no_run
//! use towergate_testkit::redis::RedisServer;
//!
//! let server = RedisServer::start();
//! assert!(server.url().starts_with("redis://127.0.0.1:"));
//! ```

use std::{
    fmt,
    io::{self, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

/// How long a fresh server may take to answer its first `PING`.
const STARTUP_DEADLINE: Duration = Duration::from_secs(15);

/// How many free ports to try when another process takes the first one.
const PORT_ATTEMPTS: usize = 5;

/// A running `redis-server` on `127.0.0.1`, killed on drop.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not on `PATH` or does not come up; the message
    /// says which, so a test that needs Redis fails loudly.
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(server) => server,
            Err(error) => panic!(
                "this test needs a real redis-server (install it, e.g. `apt-get install redis-server`): {error}"
            ),
        }
    }

    /// Starts a server like [`start`](Self::start), or says why it could not.
    ///
    /// # Errors
    ///
    /// `redis-server` is not on `PATH`, exits early, or does not answer
    /// `PING` in time.
    pub fn try_start() -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            match spawn_on(port) {
                Ok(child) => {
                    return Ok(Self {
                        port,
                        child: Some(child),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(error),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// The server's URL, `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server now (a crash, for tests of an unreachable Redis).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    ///
    /// # Errors
    ///
    /// The server cannot be started again (the port was taken meanwhile, say).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.child = Some(spawn_on(self.port)?);
        Ok(())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn spawn_on(port: u16) -> io::Result<Child> {
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .args(["--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            if error.kind() == io::ErrorKind::NotFound {
                io::Error::new(io::ErrorKind::NotFound, "`redis-server` is not on PATH")
            } else {
                error
            }
        })?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        if answers_ping(address) {
            // Nobody reads the pipes from now on; a server that logs a lot
            // must not block on a full pipe.
            drop(child.stdout.take());
            drop(child.stderr.take());
            return Ok(child);
        }
        if let Some(status) = child.try_wait()? {
            let mut output = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                let _ = stdout.read_to_string(&mut output);
            }
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut output);
            }
            return Err(io::Error::other(format!(
                "redis-server on port {port} exited with {status}: {}",
                output.trim()
            )));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("redis-server on port {port} did not answer PING in {STARTUP_DEADLINE:?}"),
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn answers_ping(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0_u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_stops() {
        let mut server = RedisServer::start();
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port()));
        assert!(answers_ping(address));
        server.stop();
        assert!(!answers_ping(address));
        server.restart().unwrap();
        assert!(answers_ping(address));
    }
}
