//! The Redis tier of the cache, and how a write on one instance reaches the
//! local tier of every other.
//!
//! **Invalidation by pub/sub.** Each write publishes the key it changed on the
//! channel `CACHE_KEY_PREFIX:invalidations` (as `INSTANCE KEY`, so an instance
//! skips its own); every instance subscribes on a connection of its own and
//! drops the key from its local tier as the message arrives — within a
//! millisecond or two on one network. Redis's server-assisted client-side
//! caching (RESP3 `CLIENT TRACKING`, the redis crate's `cache-aio`) was the
//! other way: it tracks what the connection read and tells it when that
//! changes, but it caches command replies inside the connection, where a load
//! cannot be single-flighted, a value loaded from the database (never read
//! from Redis) is not tracked, and tiers cannot be counted. Pub/sub keeps the
//! local tier ours, works over RESP2, and costs one `PUBLISH` per write.
//!
//! **What pub/sub cannot promise** is delivery to a subscriber that is not
//! connected. So the local tier is used only while the subscription is up:
//! when it drops, the tier is emptied and bypassed, and when it is back, the
//! tier starts empty (whatever it missed meanwhile cannot be served). Entries
//! also live at most `LOCAL_TTL_CAP` there.
//!
//! **An outage never fails a request.** After a failed command, Redis is left
//! alone (reads are misses at once, without waiting for a timeout) and a probe
//! asks it `PING` every [`PROBE_INTERVAL`]; deletions that could not be sent are
//! kept and sent again, with their invalidation message, as soon as Redis
//! answers — before reads use Redis again, so no reader gets an entry a write
//! removed. Cache hits resume within about two probe intervals of Redis being
//! back. The outage is logged once, when it starts, and when it ends.
//!
//! **Redis Cluster.** Keys are `PREFIX:{key}`: the braces make the whole key
//! its hash tag, so any key derived from it later (a lock, a version) lands in
//! the same slot; every command here touches one key. Invalidations use
//! classic `PUBLISH`, which a cluster forwards to every node: one subscription
//! on any node hears every message, so the subscriber is the same plain
//! connection as on one server, and when its node goes away it subscribes on
//! the next node `REDIS_URL` names (only those: name more than one). Sharded
//! pub/sub (`SPUBLISH`, Redis 7) would keep each message to one shard instead
//! of the cluster bus, but it needs the cluster client's RESP3 subscriptions,
//! which resubscribe by themselves after a disconnection: the gap in which
//! messages were lost would go unseen, and the local tier must know of it.
//! A write and its message are two commands, not one pipeline: the cluster
//! client places `PUBLISH` by its channel's slot, a pipeline must keep to one
//! slot, and in this order an instance that hears of a change and reads
//! Redis finds the new value.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;

use super::local::Local;
use crate::error::BoxError;
use crate::health::{Criticality, Readiness};
use crate::redis_client::{
    REDIS_CONNECT_TIMEOUT, REDIS_RESPONSE_TIMEOUT, RedisConnection, RedisUrl,
};

/// How often a Redis that failed is asked `PING`, and how soon a lost
/// subscription is tried again.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// Longest a command may take, connection included.
const COMMAND_TIMEOUT: Duration = REDIS_CONNECT_TIMEOUT
    .saturating_add(REDIS_RESPONSE_TIMEOUT)
    .saturating_add(REDIS_RESPONSE_TIMEOUT);

/// The Redis tier. Cheap to clone.
#[derive(Clone)]
pub(super) struct Shared(Arc<State>);

struct State {
    prefix: String,
    channel: String,
    /// This instance's name in invalidation messages.
    instance: String,
    /// Where the subscription connects (a cluster node of its own choosing).
    url: RedisUrl,
    connection: RedisConnection,
    local: Local,
    /// Whether Redis is left alone: a command failed and the probe has not
    /// seen it answer since.
    down: AtomicBool,
    /// Keys whose deletion (and its message) Redis has not taken yet.
    pending: Mutex<HashSet<String>>,
    failures: AtomicU64,
}

impl Shared {
    /// The tier on `redis_url` under `prefix`, whose invalidations reach
    /// `local`; starts listening for other instances' invalidations.
    pub(super) fn start(prefix: &str, redis_url: &RedisUrl, local: Local) -> Self {
        let state = Arc::new(State {
            prefix: prefix.to_owned(),
            channel: format!("{prefix}:invalidations"),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            url: redis_url.clone(),
            connection: redis_url.connect_lazy(),
            local,
            down: AtomicBool::new(false),
            pending: Mutex::default(),
            failures: AtomicU64::new(0),
        });
        tokio::spawn(listen(Arc::downgrade(&state)));
        Self(state)
    }

    /// Redis operations that failed or were skipped during an outage.
    pub(super) fn failures(&self) -> u64 {
        self.0.failures.load(Ordering::Relaxed)
    }

    /// The bytes under `key`; `Err` when Redis cannot be asked.
    pub(super) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ()> {
        self.run(redis::cmd("GET").arg(self.key(key))).await
    }

    /// Stores `bytes` under `key` for `ttl`, and with `announce` tells the other
    /// instances; whether Redis took it.
    pub(super) async fn set(&self, key: &str, bytes: &[u8], ttl: Duration, announce: bool) -> bool {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut command = redis::cmd("SET");
        command.arg(self.key(key)).arg(bytes).arg("PX").arg(ttl_ms);
        self.run::<()>(&command).await.is_ok()
            && (!announce || self.run::<()>(&self.0.announce(key)).await.is_ok())
    }

    /// Deletes `key` and tells the other instances, now or, when Redis cannot
    /// be reached, once it can.
    pub(super) async fn delete(&self, key: &str) {
        let sent = if self.0.down.load(Ordering::Acquire) {
            self.0.failures.fetch_add(1, Ordering::Relaxed);
            false
        } else {
            let sent = self.0.invalidate(key).await;
            self.settle(sent).is_ok()
        };
        if !sent {
            let mut pending = self.0.pending.lock().expect("pending invalidations");
            pending.insert(key.to_owned());
        }
    }

    /// Adds the optional `cache` check to `readiness`: Redis must answer `PING`.
    pub(super) fn register_check(&self, readiness: Readiness) -> Readiness {
        let connection = self.0.connection.clone();
        readiness.with_check("cache", Criticality::Optional, move || {
            ping(connection.clone())
        })
    }

    fn key(&self, key: &str) -> String {
        self.0.key(key)
    }

    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, ()> {
        if self.0.down.load(Ordering::Acquire) {
            self.0.failures.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        let result = self.0.query(command).await;
        self.settle(result)
    }

    /// The value of a finished command; a failure starts an outage.
    fn settle<T>(
        &self,
        result: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, ()> {
        let cause = match result {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(err)) => err.to_string(),
            Err(_) => "no answer in time".to_owned(),
        };
        self.0.failures.fetch_add(1, Ordering::Relaxed);
        if !self.0.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                cause,
                "cache cannot reach Redis: reads go to the source until it is back"
            );
            tokio::spawn(probe(Arc::downgrade(&self.0)));
        }
        Err(())
    }
}

impl State {
    fn key(&self, key: &str) -> String {
        format!("{}:{{{key}}}", self.prefix)
    }

    /// The message that tells the other instances `key` changed.
    fn announce(&self, key: &str) -> redis::Cmd {
        let mut command = redis::cmd("PUBLISH");
        command
            .arg(&self.channel)
            .arg(format!("{} {key}", self.instance));
        command
    }

    /// Runs `command`, within [`COMMAND_TIMEOUT`].
    async fn query<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<redis::RedisResult<T>, tokio::time::error::Elapsed> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(COMMAND_TIMEOUT, command.query_async(&mut connection)).await
    }

    /// Deletes `key` in Redis, then tells the other instances.
    async fn invalidate(
        &self,
        key: &str,
    ) -> Result<redis::RedisResult<()>, tokio::time::error::Elapsed> {
        let mut delete = redis::cmd("DEL");
        delete.arg(self.key(key));
        match self.query::<()>(&delete).await {
            Ok(Ok(())) => self.query(&self.announce(key)).await,
            failed => failed,
        }
    }

    /// Sends the pending invalidations; whether none is left.
    async fn flush_pending(&self) -> bool {
        let keys: Vec<String> = {
            let pending = self.pending.lock().expect("pending invalidations");
            pending.iter().cloned().collect()
        };
        for key in keys {
            if !matches!(self.invalidate(&key).await, Ok(Ok(()))) {
                return false;
            }
            self.pending
                .lock()
                .expect("pending invalidations")
                .remove(&key);
        }
        // Checked under the lock: a deletion that failed meanwhile is kept.
        let pending = self.pending.lock().expect("pending invalidations");
        if pending.is_empty() {
            self.down.store(false, Ordering::Release);
            true
        } else {
            false
        }
    }
}

/// Asks Redis `PING` every [`PROBE_INTERVAL`] until it answers, sends the
/// invalidations kept meanwhile, then lets commands through again.
async fn probe(state: Weak<State>) {
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        let answered = tokio::time::timeout(COMMAND_TIMEOUT, ping(state.connection.clone())).await;
        if matches!(answered, Ok(Ok(()))) && state.flush_pending().await {
            tracing::info!("cache reaches Redis again");
            return;
        }
    }
}

/// Listens for other instances' invalidations and applies them to the local
/// tier, which is used only while this subscription is up.
async fn listen(state: Weak<State>) {
    // Counts up with each failed or lost subscription: on a cluster, the next
    // try goes to the next node.
    for attempt in 0.. {
        let Some(current) = state.upgrade() else {
            return;
        };
        let (client, channel, instance, local) = (
            current.url.subscription_client(attempt),
            current.channel.clone(),
            current.instance.clone(),
            current.local.clone(),
        );
        // Not kept while waiting for messages: the cache may go away meanwhile.
        drop(current);
        if let Ok(Ok(mut messages)) =
            tokio::time::timeout(REDIS_CONNECT_TIMEOUT, subscribe(&client, &channel)).await
        {
            // Whatever was invalidated while nobody listened is dropped.
            local.reset(true);
            while let Some(message) = messages.next().await {
                let Ok(payload) = message.get_payload::<String>() else {
                    continue;
                };
                if let Some((from, key)) = payload.split_once(' ')
                    && from != instance
                {
                    local.invalidate(key).await;
                }
            }
            local.reset(false);
            tracing::debug!(
                "cache invalidation channel lost; local tier bypassed until it is back"
            );
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSubStream> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub.into_on_message())
}

async fn ping(mut connection: RedisConnection) -> Result<(), BoxError> {
    redis::cmd("PING")
        .query_async::<()>(&mut connection)
        .await
        .map_err(Into::into)
}
