//! The shared state in Redis: one GCRA TAT per client and scope, updated by one
//! Lua script, and what an outage of Redis means.
//!
//! The script ([`GCRA_SCRIPT`]) records the requests an instance let in on its
//! own, and optionally decides one more, atomically, with Redis's clock, so the
//! instances' clocks never have to agree. It runs by `EVALSHA`: the redis crate
//! sends the script's hash, and loads the script once when a server answers
//! `NOSCRIPT` (a new or restarted server). Each key holds its client's scope
//! and address in a hash tag (`{general:203.0.113.9}`), so every call touches a
//! single key in a single slot, as a Redis Cluster requires: there the call
//! goes to the node that owns that slot, and a `NOSCRIPT` loads the script on
//! every node.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::gcra::Policy;
use super::key::ClientKey;
use super::{Scope, Unavailable};
use crate::error::BoxError;
use crate::redis_client::{
    REDIS_CONNECT_TIMEOUT, REDIS_RESPONSE_TIMEOUT, RedisConnection, RedisUrl,
};

/// How long Redis is left alone after a failure: requests meanwhile are decided
/// without it at once, instead of each waiting for a timeout.
pub const OUTAGE_BACKOFF: Duration = Duration::from_secs(1);

/// Records `ARGV[3]` requests let in elsewhere, then, when `ARGV[4]` is `1`,
/// decides one more: GCRA with interval `ARGV[1]` and tolerance `ARGV[2]`
/// (microseconds), on Redis's clock. Returns whether that request is let in
/// and how far the TAT is ahead of now, in microseconds. The key expires when
/// its TAT passes: a client with a whole allowance needs no key.
pub const GCRA_SCRIPT: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
tat = tat + tonumber(ARGV[3]) * interval
local allowed = 0
if ARGV[4] == '1' and tat - now <= tonumber(ARGV[2]) then
  tat = tat + interval
  allowed = 1
end
if tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
end
return {allowed, tat - now}
";

/// What Redis answered for one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Whether the request asked about is let in (false when none was asked).
    pub allowed: bool,
    /// How far the shared TAT is ahead of now, in microseconds.
    pub ahead: u64,
}

/// The Redis side of the limiter.
pub struct RedisStore {
    connection: RedisConnection,
    script: redis::Script,
    prefix: String,
    outage: Outage,
}

impl RedisStore {
    /// A store under `prefix` in the Redis server at `url`, connected on first
    /// use.
    pub fn new(url: &RedisUrl, prefix: &str) -> Self {
        Self {
            connection: url.connect_lazy(),
            script: redis::Script::new(GCRA_SCRIPT),
            prefix: prefix.to_owned(),
            outage: Outage::default(),
        }
    }

    /// The Redis key of `client`'s TAT in `scope`.
    pub fn key(&self, scope: Scope, client: ClientKey) -> String {
        format!("{}:rate-limit:{{{}:{client}}}", self.prefix, scope.label())
    }

    /// Whether Redis failed less than [`OUTAGE_BACKOFF`] ago.
    pub fn down(&self) -> bool {
        self.outage.ongoing()
    }

    /// Runs [`GCRA_SCRIPT`] for `client` in `scope`: records `recorded`
    /// requests, and decides one more when `decide`.
    pub async fn run(
        &self,
        scope: Scope,
        client: ClientKey,
        policy: &Policy,
        recorded: u32,
        decide: bool,
    ) -> Result<Reply, Unavailable> {
        if self.outage.ongoing() {
            return Err(Unavailable);
        }
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(self.key(scope, client));
        invocation
            .arg(policy.interval)
            .arg(policy.tolerance)
            .arg(recorded)
            .arg(u8::from(decide));
        let run = invocation.invoke_async::<(u8, i64)>(&mut connection);
        // The connection's own timeouts bound each step; this bounds them together.
        let result = tokio::time::timeout(REDIS_CONNECT_TIMEOUT + REDIS_RESPONSE_TIMEOUT * 3, run)
            .await
            .map_err(|_| "no answer in time".to_owned())
            .and_then(|result| result.map_err(|err| err.to_string()));
        match result {
            Ok((allowed, ahead)) => {
                self.outage.end();
                Ok(Reply {
                    allowed: allowed == 1,
                    ahead: u64::try_from(ahead).unwrap_or(0),
                })
            }
            Err(cause) => {
                self.outage.begin(&cause);
                Err(Unavailable)
            }
        }
    }

    /// Whether Redis answers `PING`: the readiness check.
    pub fn ping(&self) -> impl Future<Output = Result<(), BoxError>> + Send + use<> {
        let mut connection = self.connection.clone();
        async move {
            redis::cmd("PING")
                .query_async::<()>(&mut connection)
                .await
                .map_err(Into::into)
        }
    }
}

/// The state of a Redis outage, shared by every request: whether one is going
/// on (to log only its start and end), and until when Redis is left alone.
#[derive(Debug)]
struct Outage {
    since: Instant,
    /// Milliseconds after `since` before which Redis is not asked.
    backoff_until_ms: AtomicU64,
    down: AtomicBool,
}

impl Default for Outage {
    fn default() -> Self {
        Self {
            since: Instant::now(),
            backoff_until_ms: AtomicU64::new(0),
            down: AtomicBool::new(false),
        }
    }
}

impl Outage {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn ongoing(&self) -> bool {
        self.now_ms() < self.backoff_until_ms.load(Ordering::Relaxed)
    }

    fn begin(&self, cause: &str) {
        let until = self.now_ms() + u64::try_from(OUTAGE_BACKOFF.as_millis()).unwrap_or(0);
        self.backoff_until_ms.store(until, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                cause,
                "rate limiter cannot reach Redis: each instance limits on its own what it can, \
                 until Redis is back (see RATE_LIMIT_FAIL_OPEN)"
            );
        }
    }

    fn end(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("rate limiter reaches Redis again");
        }
    }
}
