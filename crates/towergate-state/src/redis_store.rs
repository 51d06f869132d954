//! Quota counters in Redis, shared by every gateway instance that uses the same server.
//!
//! Each counter is one Redis key, `{prefix}:{key}:{span id}` (say
//! `towergate:budget:team-a:2026-11`), that expires a little after its span
//! ends. A reservation is one Lua script, so it is atomic across every
//! process that talks to the server: two instances together admit exactly
//! the limit. Every call is bounded by a timeout; a server that is down or
//! slow makes calls fail with [`StoreError::Unavailable`], never hang.
//! Counts are exact up to 2^53 (Lua's numbers are doubles).

use std::{
    fmt,
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime},
};

use ::redis::{
    Client, ErrorKind, RedisError, Script, ServerErrorKind,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::{
    clock::{Clock, SystemClock},
    store::{Decision, QuotaStore, Refusal, Reservation, StoreError, StoreFuture},
    window::{Span, Window},
};

/// How long a call may take before it fails as unavailable, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// The key prefix, by default.
pub const DEFAULT_PREFIX: &str = "towergate";

/// How long a counter outlives its span, so instances whose clocks differ
/// a little still find it.
const EXPIRY_GRACE: Duration = Duration::from_secs(10);

/// KEYS[1]: the counter. ARGV: amount, limit, expiry in ms (0 = never).
/// Answers `{admitted (0 or 1), used}`.
const RESERVE: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if used >= limit or amount > limit - used then
  return {0, used}
end
if amount > 0 then
  used = redis.call('INCRBY', KEYS[1], ARGV[1])
  if tonumber(ARGV[3]) > 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
  end
end
return {1, used}
";

/// KEYS[1]: the counter. ARGV: delta, expiry in ms (0 = never).
/// Answers the counter after the change, never below zero.
const ADJUST: &str = r"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) <= 0 then
  if used > 0 then
    redis.call('SET', KEYS[1], '0', 'KEEPTTL')
  end
  return 0
end
local after = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return after
";

/// A [`QuotaStore`] in Redis, shared by several gateway instances.
///
/// Cheap to clone: clones share one connection, which reconnects by itself
/// after the server drops it.
///
/// ```no_run
/// use std::time::Duration;
/// use towergate_state::{QuotaStore, RedisQuotaStore, Window};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), towergate_state::StoreError> {
/// let store = RedisQuotaStore::builder("redis://127.0.0.1:6379")
///     .timeout(Duration::from_millis(200))
///     .build()?;
/// let decision = store.reserve("budget:team-a", Window::Month, 500, 25_000_000).await?;
/// assert!(decision.is_admitted());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisQuotaStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) connection: ConnectionManager,
    pub(crate) address: String,
    pub(crate) prefix: String,
    timeout: Duration,
    /// `None` when no clock was set: rates then read Redis' own clock.
    pub(crate) rate_clock: Option<Arc<dyn Clock>>,
    clock: Arc<dyn Clock>,
    reserve: Script,
    adjust: Script,
    pub(crate) rate: Script,
}

/// Builds a [`RedisQuotaStore`]; see [`RedisQuotaStore::builder`].
#[derive(Debug)]
pub struct RedisQuotaStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    clock: Option<Arc<dyn Clock>>,
}

impl RedisQuotaStore {
    /// A store on the server at `url` with the default settings.
    ///
    /// # Errors
    ///
    /// See [`RedisQuotaStoreBuilder::build`].
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).build()
    }

    /// A builder for a store on the server at `url` (`redis://host:port/db`,
    /// `rediss://` is not supported).
    pub fn builder(url: impl Into<String>) -> RedisQuotaStoreBuilder {
        RedisQuotaStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            clock: None,
        }
    }

    /// Checks that the server answers, within the timeout.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.inner.connection.clone();
        self.bounded(async move {
            ::redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .map(drop)
    }

    fn counter_key(&self, key: &str, span: Span) -> String {
        format!("{}:{key}:{}", self.inner.prefix, span.id())
    }

    /// Runs one Redis call, failing as unavailable when it takes too long.
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.store_error(&error)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Redis at {} did not answer within {:?}",
                self.inner.address, self.inner.timeout
            ))),
        }
    }

    fn store_error(&self, error: &RedisError) -> StoreError {
        let address = &self.inner.address;
        match error.kind() {
            ErrorKind::Parse
            | ErrorKind::UnexpectedReturnType
            | ErrorKind::Extension
            | ErrorKind::Server(ServerErrorKind::ResponseError) => {
                StoreError::Corrupt(format!("Redis at {address}: {error}"))
            }
            ErrorKind::AuthenticationFailed
            | ErrorKind::InvalidClientConfig
            | ErrorKind::Server(ServerErrorKind::NoPerm) => {
                StoreError::Config(format!("Redis at {address}: {error}"))
            }
            _ => StoreError::Unavailable(format!("Redis at {address}: {error}")),
        }
    }

    async fn reserve_in(
        &self,
        key: &str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> Result<Decision, StoreError> {
        let now = self.inner.clock.now();
        let span = window.span_at(now);
        let counter = self.counter_key(key, span);
        let mut connection = self.inner.connection.clone();
        let mut invocation = self.inner.reserve.key(&counter);
        invocation
            .arg(amount)
            .arg(limit)
            .arg(expiry_millis(span, now));
        let (admitted, used): (i64, i64) = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        let used = self.count(used, &counter)?;
        Ok(if admitted == 1 {
            Decision::Admitted(Reservation { span, amount, used })
        } else {
            Decision::Refused(Refusal {
                span,
                used,
                retry_after: span.remaining(now),
            })
        })
    }

    async fn adjust_in(&self, key: &str, span: Span, delta: i64) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        if span.has_ended(now) {
            return Ok(0);
        }
        let counter = self.counter_key(key, span);
        let mut connection = self.inner.connection.clone();
        let mut invocation = self.inner.adjust.key(&counter);
        invocation.arg(delta).arg(expiry_millis(span, now));
        let used: i64 = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        self.count(used, &counter)
    }

    async fn used_in(&self, key: &str, window: Window) -> Result<u64, StoreError> {
        let span = window.span_at(self.inner.clock.now());
        let counter = self.counter_key(key, span);
        let mut connection = self.inner.connection.clone();
        let used: Option<i64> = self
            .bounded(async {
                ::redis::cmd("GET")
                    .arg(&counter)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        self.count(used.unwrap_or(0), &counter)
    }

    pub(crate) fn count(&self, value: i64, counter: &str) -> Result<u64, StoreError> {
        u64::try_from(value).map_err(|_| {
            StoreError::Corrupt(format!(
                "Redis at {} holds {value} in `{counter}`, not a count",
                self.inner.address
            ))
        })
    }
}

/// How long the counter of `span` should live from `now`, in ms; 0 = forever.
fn expiry_millis(span: Span, now: SystemTime) -> u64 {
    span.remaining(now).map_or(0, |remaining| {
        u64::try_from((remaining + EXPIRY_GRACE).as_millis()).unwrap_or(u64::MAX)
    })
}

impl RedisQuotaStoreBuilder {
    /// Prefixes every key with `prefix:` (default `towergate`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bounds every call, connecting included (default 500 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads the time from `clock`. By default quota windows read the
    /// system's clock and rate buckets read the Redis server's, so that
    /// instances whose clocks differ still share one rate exactly.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the store. It connects on first use, so an unreachable
    /// server makes calls fail, not the build; nothing here waits.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] when the URL is malformed or when called
    /// outside a Tokio runtime (the connection lives on one).
    pub fn build(self) -> Result<RedisQuotaStore, StoreError> {
        let (connection, address) = connect_lazily(&self.url, self.timeout)?;
        Ok(RedisQuotaStore {
            inner: Arc::new(Inner {
                connection,
                address,
                prefix: self.prefix,
                timeout: self.timeout,
                rate_clock: self.clock.clone(),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                reserve: Script::new(RESERVE),
                adjust: Script::new(ADJUST),
                rate: Script::new(crate::redis_rate::RATE),
            }),
        })
    }
}

/// A connection to the Redis server at `url` that connects on first use
/// and reconnects by itself, with `timeout` on connecting and on each
/// answer; and the server's address, for messages. Other crates' Redis
/// stores (the response cache's) connect the same way.
///
/// # Errors
///
/// [`StoreError::Config`] outside a Tokio runtime or for a URL that is not
/// a Redis URL.
pub fn connect_lazily(
    url: &str,
    timeout: Duration,
) -> Result<(ConnectionManager, String), StoreError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(StoreError::Config(
            "a Redis store must be built inside a Tokio runtime".to_owned(),
        ));
    }
    let client = Client::open(url).map_err(|error| {
        StoreError::Config(format!("`{}` is not a Redis URL: {error}", redact(url)))
    })?;
    let address = client.get_connection_info().addr().to_string();
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(timeout);
    let connection = ConnectionManager::new_lazy_with_config(client, config)
        .map_err(|error| StoreError::Config(format!("Redis at {address}: {error}")))?;
    Ok((connection, address))
}

/// `url` with any password replaced, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://<redacted>@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for RedisQuotaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQuotaStore")
            .field("address", &self.inner.address)
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .field("clock", &self.inner.clock)
            .finish()
    }
}

impl QuotaStore for RedisQuotaStore {
    fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    fn reserve<'a>(
        &'a self,
        key: &'a str,
        window: Window,
        amount: u64,
        limit: u64,
    ) -> StoreFuture<'a, Decision> {
        Box::pin(self.reserve_in(key, window, amount, limit))
    }

    fn adjust<'a>(&'a self, key: &'a str, span: Span, delta: i64) -> StoreFuture<'a, u64> {
        Box::pin(self.adjust_in(key, span, delta))
    }

    fn used<'a>(&'a self, key: &'a str, window: Window) -> StoreFuture<'a, u64> {
        Box::pin(self.used_in(key, window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("redis://user:secret@10.0.0.1:6379/0"),
            "redis://<redacted>@10.0.0.1:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn counters_expire_after_their_span() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(90);
        let minute = Window::every(Duration::from_secs(60)).unwrap();
        assert_eq!(expiry_millis(minute.span_at(now), now), 30_000 + 10_000);
        assert_eq!(expiry_millis(Window::Total.span_at(now), now), 0);
    }

    #[tokio::test]
    async fn a_malformed_url_is_a_config_error() {
        let error = RedisQuotaStore::open("http://:pw@nowhere").unwrap_err();
        assert!(matches!(error, StoreError::Config(_)), "{error}");
        assert!(!error.to_string().contains("pw"), "{error}");
    }

    #[test]
    fn building_outside_a_runtime_is_a_config_error() {
        let error = RedisQuotaStore::open("redis://127.0.0.1:1").unwrap_err();
        assert!(matches!(error, StoreError::Config(_)), "{error}");
    }
}
