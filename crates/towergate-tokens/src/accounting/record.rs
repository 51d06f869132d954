//! [`UsageRecord`]: one line of the usage log.

use serde::Serialize;

/// How a request ended, as far as its usage goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A complete answer, or a stream read to its end.
    Ok,
    /// The inner service or the stream failed.
    Error,
    /// The client went away before the stream ended.
    Dropped,
}

/// Where the token counts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// The upstream reported them.
    Upstream,
    /// The gateway counted them (the upstream reported none, or the stream
    /// ended before its usage chunk).
    Counted,
}

/// What one request used and cost: one JSON line of the usage log.
///
/// ```
/// use towergate_tokens::accounting::{Outcome, UsageRecord, UsageSource};
/// let record = UsageRecord {
///     request_id: "req-1".into(),
///     caller: Some("team-a".into()),
///     endpoint: "chat".into(),
///     requested: None,
///     provider: Some("openai".into()),
///     model: Some("gpt-4o-mini".into()),
///     prompt_tokens: 12,
///     completion_tokens: 30,
///     usage_source: UsageSource::Upstream,
///     cost_usd: 0.0000198,
///     latency_ms: 420,
///     cache: None,
///     prompt: Some("summarize@2".to_owned()),
///     stream: false,
///     outcome: Outcome::Ok,
///     status: 200,
///     error: None,
///     timestamp_ms: 1_795_000_000_000,
/// };
/// let line = serde_json::to_string(&record).unwrap();
/// assert!(line.starts_with(r#"{"request_id":"req-1","caller":"team-a","endpoint":"chat""#));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRecord {
    /// The request's id (`x-request-id`).
    pub request_id: String,
    /// The API key's name, when auth is on.
    pub caller: Option<String>,
    /// The endpoint that answered.
    pub endpoint: String,
    /// The name the caller asked for, when it differs from `endpoint` (a
    /// route that split traffic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The provider that answered.
    pub provider: Option<String>,
    /// The upstream model that answered.
    pub model: Option<String>,
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// Whether the upstream reported the counts or the gateway counted.
    pub usage_source: UsageSource,
    /// What the tokens cost, in US dollars; 0 for a cache hit or an unknown price.
    pub cost_usd: f64,
    /// From the request's arrival to its last byte (a stream's end).
    pub latency_ms: u64,
    /// `hit`, `miss` or `bypass`, when a cache was asked.
    pub cache: Option<&'static str>,
    /// The prompt template that rendered the request, `name@version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Whether the answer was streamed.
    pub stream: bool,
    /// How the request ended.
    pub outcome: Outcome,
    /// The HTTP status the caller got (for a stream that failed midway, the
    /// status of the error).
    pub status: u16,
    /// The error's type (`rate_limit_exceeded`, `upstream_error`, …).
    pub error: Option<&'static str>,
    /// When the record was made, in Unix milliseconds.
    pub timestamp_ms: u64,
}
