//! One error type for every layer, with a kind that fixes its HTTP status.

use std::{fmt, time::Duration};

use http::{HeaderMap, StatusCode};

/// What went wrong, which fixes the HTTP status a front answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or a field is wrong (400).
    InvalidRequest,
    /// No key, or an unknown key (401).
    Unauthenticated,
    /// The key may not use this endpoint (403).
    Forbidden,
    /// No such endpoint or route (404).
    NotFound,
    /// The path exists but not for this HTTP method (405).
    MethodNotAllowed,
    /// The body is larger than allowed (413).
    PayloadTooLarge,
    /// A rate limit refused the call (429).
    RateLimited,
    /// A budget refused the call (429).
    BudgetExceeded,
    /// The upstream answered with an error status; the status is kept.
    Upstream(StatusCode),
    /// The upstream could not be reached or answered garbage (502).
    BadGateway,
    /// The upstream did not answer in time (504).
    Timeout,
    /// The gateway cannot take the call now (503).
    Unavailable,
    /// A bug or an unexpected state in the gateway (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RateLimited | ErrorKind::BudgetExceeded => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Upstream(status) => status,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `type` of OpenAI's error body for this kind.
    pub fn type_name(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::NotFound
            | ErrorKind::MethodNotAllowed
            | ErrorKind::PayloadTooLarge => "invalid_request_error",
            ErrorKind::Unauthenticated => "authentication_error",
            ErrorKind::Forbidden => "permission_error",
            ErrorKind::RateLimited => "rate_limit_exceeded",
            ErrorKind::BudgetExceeded => "budget_exceeded",
            ErrorKind::Upstream(_) => "upstream_error",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal_error",
        }
    }
}

/// An error any layer can answer with instead of calling the next one.
///
/// ```
/// use towergate_core::{ErrorKind, GatewayError};
/// let error = GatewayError::invalid("`messages` must not be empty").with_param("messages");
/// assert_eq!(error.kind(), ErrorKind::InvalidRequest);
/// assert_eq!(error.status().as_u16(), 400);
/// assert_eq!(error.param(), Some("messages"));
/// ```
#[derive(Debug, Clone)]
pub struct GatewayError {
    kind: ErrorKind,
    message: String,
    param: Option<String>,
    code: Option<String>,
    retry_after: Option<Duration>,
    headers: Option<Box<HeaderMap>>,
}

impl GatewayError {
    /// An error of `kind` with a message that names the problem.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
            headers: None,
        }
    }

    /// A malformed request (400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// No such endpoint (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// An unreachable upstream or an unreadable answer (502).
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadGateway, message)
    }

    /// The upstream's own error answer, keeping its status.
    pub fn upstream(status: http::StatusCode, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream(status), message)
    }

    /// A gateway bug (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Names the request field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Sets a machine-readable code (OpenAI's `code`).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Says how long to wait before trying again.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status a front answers with.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// What went wrong, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request field at fault, if one is.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// The machine-readable code, if one is set.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// How long to wait before trying again, if waiting helps.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Headers the error's HTTP answer carries besides the front's own (a
    /// rate limit's `x-ratelimit-*`, say); `None` when there are none.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use towergate_core::{ErrorKind, GatewayError};
    ///
    /// let mut error = GatewayError::new(ErrorKind::RateLimited, "slow down");
    /// assert!(error.headers().is_none());
    /// error.headers_mut().insert("x-ratelimit-remaining-requests", HeaderValue::from(0));
    /// assert_eq!(error.headers().unwrap()["x-ratelimit-remaining-requests"], "0");
    /// ```
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.headers.as_deref()
    }

    /// The headers the error's HTTP answer carries, to add to.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers.get_or_insert_default()
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.type_name(),
            self.status(),
            self.message
        )
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_documented_status() {
        let cases = [
            (ErrorKind::InvalidRequest, 400),
            (ErrorKind::Unauthenticated, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::MethodNotAllowed, 405),
            (ErrorKind::PayloadTooLarge, 413),
            (ErrorKind::RateLimited, 429),
            (ErrorKind::BudgetExceeded, 429),
            (ErrorKind::Upstream(StatusCode::IM_A_TEAPOT), 418),
            (ErrorKind::BadGateway, 502),
            (ErrorKind::Timeout, 504),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Internal, 500),
        ];
        for (kind, status) in cases {
            assert_eq!(kind.status().as_u16(), status, "{kind:?}");
        }
    }
}
