//! Rate buckets in Redis: [`RedisQuotaStore`] is a [`RateStore`] too.

use std::time::UNIX_EPOCH;

use crate::{
    rate::{Rate, RateDecision, RateState},
    rate_store::RateStore,
    redis_store::RedisQuotaStore,
    store::{StoreError, StoreFuture},
};

/// How long a bucket outlives the moment it drains, in ms, so instances
/// whose clocks differ a little still find it.
const EXPIRY_GRACE_MS: u64 = 10_000;

/// One step on one bucket, the same arithmetic as [`Rate`]'s.
///
/// KEYS[1]: the bucket, a hash of `level` (scaled units) and `at` (ms).
/// ARGV: limit, period in ms, now in ms (empty: the server's clock),
/// `acquire` or `adjust`, the cost or signed delta, expiry grace in ms.
/// Answers `{admitted (0 or 1), level before, level after}`.
pub(crate) const RATE: &str = r"
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local capacity = limit * period
local bucket = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(bucket[1]) or 0
local at = tonumber(bucket[2]) or now
local elapsed = math.min(math.max(now - at, 0), period)
level = math.max(level - elapsed * limit, 0)
local amount = tonumber(ARGV[5])
local after
if ARGV[4] == 'acquire' then
  local need = amount * period
  if need > capacity - level or (amount == 0 and level >= capacity) then
    return {0, level, level}
  end
  after = level + need
else
  after = math.min(math.max(level + amount * period, 0), capacity)
end
if after > 0 then
  redis.call('HSET', KEYS[1], 'level', string.format('%.0f', after), 'at', string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(after / limit) + tonumber(ARGV[6]))
else
  redis.call('DEL', KEYS[1])
end
return {1, level, after}
";

/// The two ways to change a bucket.
#[derive(Clone, Copy)]
enum Step {
    Acquire(u64),
    Adjust(i64),
}

impl RedisQuotaStore {
    fn bucket_key(&self, key: &str, rate: Rate) -> String {
        format!(
            "{}:rate:{}/{}ms:{key}",
            self.inner.prefix,
            rate.limit(),
            rate.period_ms()
        )
    }

    /// Runs the script; answers whether it admitted, and the levels before
    /// and after.
    async fn step(
        &self,
        key: &str,
        rate: Rate,
        step: Step,
    ) -> Result<(bool, u64, u64), StoreError> {
        let bucket = self.bucket_key(key, rate);
        let now = match &self.inner.rate_clock {
            Some(clock) => clock
                .now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                .to_string(),
            None => String::new(),
        };
        let mut invocation = self.inner.rate.key(&bucket);
        invocation.arg(rate.limit()).arg(rate.period_ms()).arg(now);
        match step {
            Step::Acquire(cost) => invocation.arg("acquire").arg(cost),
            Step::Adjust(delta) => invocation.arg("adjust").arg(delta),
        };
        invocation.arg(EXPIRY_GRACE_MS);
        let mut connection = self.inner.connection.clone();
        let (admitted, before, after): (i64, i64, i64) = self
            .bounded(invocation.invoke_async(&mut connection))
            .await?;
        let before = self.count(before, &bucket)?;
        let after = self.count(after, &bucket)?;
        Ok((admitted == 1, before, after))
    }

    async fn acquire_in(
        &self,
        key: &str,
        rate: Rate,
        cost: u64,
    ) -> Result<RateDecision, StoreError> {
        let (admitted, before, after) = self.step(key, rate, Step::Acquire(cost)).await?;
        Ok(rate.decision(before, cost, admitted.then_some(after)))
    }

    async fn adjust_in_rate(
        &self,
        key: &str,
        rate: Rate,
        delta: i64,
    ) -> Result<RateState, StoreError> {
        let (_, _, after) = self.step(key, rate, Step::Adjust(delta)).await?;
        Ok(rate.state(after))
    }
}

impl RateStore for RedisQuotaStore {
    fn acquire<'a>(&'a self, key: &'a str, rate: Rate, cost: u64) -> StoreFuture<'a, RateDecision> {
        Box::pin(self.acquire_in(key, rate, cost))
    }

    fn adjust<'a>(&'a self, key: &'a str, rate: Rate, delta: i64) -> StoreFuture<'a, RateState> {
        Box::pin(self.adjust_in_rate(key, rate, delta))
    }
}
