//! How the mock upstream answers: latency, streaming cadence, reply text and faults.
//!
//! A [`Behavior`] is set on the server as a whole
//! ([`MockUpstream::start_with`](crate::MockUpstream::start_with),
//! [`MockUpstream::set_behavior`](crate::MockUpstream::set_behavior)); one
//! request can override it with an `x-mock-fault` header or a `"mock"` field
//! in its JSON body:
//!
//! ```json
//! {"mock": {"fault": "truncate:2", "chunks": 5, "chunk_interval_ms": 20, "latency_ms": 10, "reply": "text"}}
//! ```
//!
//! ```
//! use std::time::Duration;
//! use towergate_testkit::{Behavior, Fault};
//!
//! let behavior = Behavior::new()
//!     .latency(Duration::from_millis(5))
//!     .chunks(3)
//!     .reply("one two three")
//!     .fault(Fault::TruncatedStream { after_chunks: 1 });
//! assert_ne!(behavior, Behavior::default());
//! assert_eq!("status:503".parse::<Fault>(), Ok(Fault::Status(503)));
//! ```

use std::{fmt, str::FromStr, time::Duration};

use serde_json::Value;

/// How the mock upstream answers the requests that follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behavior {
    pub(crate) latency: Duration,
    pub(crate) chunks: Option<usize>,
    pub(crate) chunk_interval: Duration,
    pub(crate) reply: Option<String>,
    pub(crate) fault: Option<Fault>,
}

impl Behavior {
    /// Answers at once, one chunk per word, with the echo reply and no fault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits this long before sending the response headers.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Splits a streamed reply into this many content chunks (at least 1).
    ///
    /// By default a stream sends one content chunk per word of the reply.
    pub fn chunks(mut self, chunks: usize) -> Self {
        self.chunks = Some(chunks.max(1));
        self
    }

    /// Waits this long between two streamed events.
    pub fn chunk_interval(mut self, interval: Duration) -> Self {
        self.chunk_interval = interval;
        self
    }

    /// Answers with this text instead of echoing the last user message.
    pub fn reply(mut self, reply: impl Into<String>) -> Self {
        self.reply = Some(reply.into());
        self
    }

    /// Fails every request this way.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// This behavior with a request's own settings applied over it.
    pub(crate) fn overridden_by(mut self, overrides: Overrides) -> Self {
        if let Some(latency) = overrides.latency {
            self.latency = latency;
        }
        if let Some(chunks) = overrides.chunks {
            self.chunks = Some(chunks.max(1));
        }
        if let Some(interval) = overrides.chunk_interval {
            self.chunk_interval = interval;
        }
        if let Some(reply) = overrides.reply {
            self.reply = Some(reply);
        }
        if let Some(fault) = overrides.fault {
            self.fault = fault;
        }
        self
    }
}

/// A way for the mock upstream to fail.
///
/// Each fault has a text form, used by the `x-mock-fault` header and the
/// `"mock": {"fault": ..}` body field: `status:503`, `reset`, `stall`,
/// `truncate:2`, `malformed`. The text `none` there clears a fault set on the
/// server.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this status and OpenAI's error body.
    Status(u16),
    /// Read the request, then drop the connection with a TCP reset.
    Reset,
    /// Read the request and never answer (until the server shuts down).
    Stall,
    /// Streams: send the role chunk and this many content chunks, then end
    /// the body (with `connection: close`) without a finish chunk or
    /// `data: [DONE]`. Complete answers: send the first half of the JSON body.
    TruncatedStream {
        /// Content chunks sent before the stream ends.
        after_chunks: usize,
    },
    /// Answer 200 with a body that is not JSON; streams send the role chunk,
    /// then a `data: {not json` event, then `data: [DONE]`.
    MalformedJson,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status(status) => write!(f, "status:{status}"),
            Fault::Reset => f.write_str("reset"),
            Fault::Stall => f.write_str("stall"),
            Fault::TruncatedStream { after_chunks } => write!(f, "truncate:{after_chunks}"),
            Fault::MalformedJson => f.write_str("malformed"),
        }
    }
}

/// A fault's text form could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFaultError(String);

impl fmt::Display for ParseFaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown mock fault `{}`: expected status:CODE, reset, stall, truncate:N, malformed or none",
            self.0
        )
    }
}

impl std::error::Error for ParseFaultError {}

impl FromStr for Fault {
    type Err = ParseFaultError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParseFaultError(text.to_owned());
        let text = text.trim();
        let (name, argument) = match text.split_once(':') {
            Some((name, argument)) => (name, Some(argument.trim())),
            None => (text, None),
        };
        match (name.to_ascii_lowercase().as_str(), argument) {
            ("status", Some(code)) => match code.parse::<u16>() {
                Ok(code) if (200..=599).contains(&code) => Ok(Fault::Status(code)),
                _ => Err(error()),
            },
            ("truncate", Some(count)) => count
                .parse()
                .map(|after_chunks| Fault::TruncatedStream { after_chunks })
                .map_err(|_| error()),
            ("reset", None) => Ok(Fault::Reset),
            ("stall", None) => Ok(Fault::Stall),
            ("malformed", None) => Ok(Fault::MalformedJson),
            _ => Err(error()),
        }
    }
}

/// One request's own settings, read from its header and body.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    latency: Option<Duration>,
    chunks: Option<usize>,
    chunk_interval: Option<Duration>,
    reply: Option<String>,
    /// `Some(None)` clears the server's fault.
    fault: Option<Option<Fault>>,
}

impl Overrides {
    /// Reads the `x-mock-fault` header value.
    pub(crate) fn from_header(value: &str) -> Result<Self, String> {
        Ok(Self {
            fault: Some(parse_fault_setting(value)?),
            ..Self::default()
        })
    }

    /// Reads the body's `"mock"` object.
    pub(crate) fn from_json(value: &Value) -> Result<Self, String> {
        let Some(fields) = value.as_object() else {
            return Err("`mock` must be an object".to_owned());
        };
        let mut overrides = Self::default();
        for (key, value) in fields {
            let wrong = |expected: &str| format!("`mock.{key}` must be {expected}");
            match key.as_str() {
                "fault" => {
                    let text = value.as_str().ok_or_else(|| wrong("a string"))?;
                    overrides.fault = Some(parse_fault_setting(text)?);
                }
                "chunks" => {
                    let chunks = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| wrong("a non-negative integer"))?;
                    overrides.chunks = Some(chunks);
                }
                "chunk_interval_ms" => {
                    let millis = value
                        .as_u64()
                        .ok_or_else(|| wrong("a non-negative integer"))?;
                    overrides.chunk_interval = Some(Duration::from_millis(millis));
                }
                "latency_ms" => {
                    let millis = value
                        .as_u64()
                        .ok_or_else(|| wrong("a non-negative integer"))?;
                    overrides.latency = Some(Duration::from_millis(millis));
                }
                "reply" => {
                    let reply = value.as_str().ok_or_else(|| wrong("a string"))?;
                    overrides.reply = Some(reply.to_owned());
                }
                _ => {
                    return Err(format!(
                        "unknown field `mock.{key}`: expected fault, chunks, chunk_interval_ms, latency_ms or reply"
                    ));
                }
            }
        }
        Ok(overrides)
    }

    /// Applies `later` over these settings: what `later` sets wins.
    pub(crate) fn then(self, later: Overrides) -> Self {
        Self {
            latency: later.latency.or(self.latency),
            chunks: later.chunks.or(self.chunks),
            chunk_interval: later.chunk_interval.or(self.chunk_interval),
            reply: later.reply.or(self.reply),
            fault: later.fault.or(self.fault),
        }
    }
}

/// A fault's text form, or `none`.
fn parse_fault_setting(text: &str) -> Result<Option<Fault>, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e: ParseFaultError| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fault_text_round_trips() {
        for fault in [
            Fault::Status(503),
            Fault::Reset,
            Fault::Stall,
            Fault::TruncatedStream { after_chunks: 2 },
            Fault::MalformedJson,
        ] {
            assert_eq!(fault.to_string().parse::<Fault>(), Ok(fault));
        }
        assert!("status:99".parse::<Fault>().is_err());
        assert!("status".parse::<Fault>().is_err());
        assert!("truncate:x".parse::<Fault>().is_err());
        assert!("explode".parse::<Fault>().is_err());
    }

    #[test]
    fn body_settings_win_over_the_header_and_the_server() {
        let header = Overrides::from_header("reset").unwrap();
        let body =
            Overrides::from_json(&json!({"fault": "none", "chunks": 4, "reply": "hi"})).unwrap();
        let behavior = Behavior::new()
            .fault(Fault::Stall)
            .chunk_interval(Duration::from_millis(3))
            .overridden_by(header.then(body));
        assert_eq!(behavior.fault, None);
        assert_eq!(behavior.chunks, Some(4));
        assert_eq!(behavior.reply.as_deref(), Some("hi"));
        assert_eq!(behavior.chunk_interval, Duration::from_millis(3));
    }

    #[test]
    fn bad_body_settings_name_the_field() {
        let error = Overrides::from_json(&json!({"chunks": "many"})).unwrap_err();
        assert!(error.contains("mock.chunks"), "{error}");
        let error = Overrides::from_json(&json!({"colour": 1})).unwrap_err();
        assert!(error.contains("mock.colour"), "{error}");
    }
}
