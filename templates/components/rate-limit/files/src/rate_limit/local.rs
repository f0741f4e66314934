//! The counts this process keeps: one GCRA state per client and scope.
//!
//! With the in-memory backend they are the limit. With Redis they are the
//! local-first view of the shared state (see [`super`]): the client's TAT as
//! Redis last reported it plus what this instance let in since, the requests
//! not yet recorded in Redis (`pending`), and those on their way (`sending`).
//! A request is decided here, with no round trip, while the client is over its
//! limit (refused) or within this instance's budget between syncs (let in).
//!
//! The table is a sharded concurrent map: a decision locks one shard for a few
//! arithmetic operations. Entries whose TAT has passed, with nothing to record,
//! carry no information (a client with a whole allowance) and are swept away,
//! so the table holds only clients seen within about a window.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use dashmap::DashMap;

use super::Scope;
use super::gcra::Policy;
use super::key::ClientKey;

/// A client in a scope: what one TAT belongs to.
pub type Key = (Scope, ClientKey);

/// One client's state in one scope.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    /// The theoretical arrival time, in µs on the limiter's clock.
    tat: u64,
    /// Requests let in here and not yet sent to Redis.
    pending: u32,
    /// Requests sent to Redis whose answer has not come back.
    sending: u32,
    /// When Redis last reported the shared TAT, in µs on the limiter's clock.
    synced_at: u64,
    /// Whether the key waits in the table's list for the next sync.
    queued: bool,
}

/// How the local state is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The local state is the limit (the in-memory backend): nothing is synced.
    Alone,
    /// Local first, with Redis behind: at most `budget` requests are let in
    /// between two syncs of a key, and a key whose view is older than
    /// `stale_after` µs is refreshed at the next sync even when refused.
    First {
        /// Requests let in on the local view between two syncs.
        budget: u32,
        /// Age of a view, in µs, after which a sync refreshes it.
        stale_after: u64,
    },
    /// Redis is down: the local state decides alone, and what it lets in is
    /// recorded in Redis once it is back.
    Fallback,
}

/// What the local state says of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// Let in (with the TAT after it).
    Allowed(u64),
    /// Refused: the client is over its limit (with its TAT).
    Limited(u64),
    /// Within the limit as far as this instance knows, but its budget between
    /// syncs is spent: Redis must decide. The `pending` requests were moved to
    /// `sending` and go with the question.
    Ask {
        /// Requests to record in Redis with this one.
        pending: u32,
    },
}

/// The map size of the first sweep.
const FIRST_SWEEP: usize = 1024;

/// Every client's local state.
#[derive(Debug)]
pub struct Table {
    entries: DashMap<Key, Entry>,
    /// Keys to sync: with requests to record, or a stale view.
    queue: Mutex<Vec<Key>>,
    /// Entries created since the last sweep, and the count that starts the
    /// next one (it doubles with the table, so a sweep costs O(1) per request
    /// on average).
    created: AtomicUsize,
    sweep_at: AtomicUsize,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            entries: DashMap::new(),
            queue: Mutex::new(Vec::new()),
            created: AtomicUsize::new(0),
            sweep_at: AtomicUsize::new(FIRST_SWEEP),
        }
    }
}

impl Table {
    /// Decides one request of `key` at `now` under `policy`, in `mode`.
    pub fn admit(&self, key: Key, policy: &Policy, now: u64, mode: Mode) -> Local {
        let (local, queue) = {
            let mut entry = self.entries.entry(key).or_insert_with(|| {
                self.created.fetch_add(1, Ordering::Relaxed);
                Entry {
                    synced_at: now,
                    ..Entry::default()
                }
            });
            let (local, queue) = match (policy.admit(entry.tat, now), mode) {
                (None, Mode::First { stale_after, .. }) => {
                    let stale = now.saturating_sub(entry.synced_at) >= stale_after;
                    (Local::Limited(entry.tat), stale && !entry.queued)
                }
                (None, _) => (Local::Limited(entry.tat), false),
                (Some(_), Mode::First { budget, .. })
                    if entry.pending + entry.sending >= budget =>
                {
                    let pending = std::mem::take(&mut entry.pending);
                    entry.sending += pending;
                    return Local::Ask { pending };
                }
                (Some(tat), Mode::Alone) => {
                    entry.tat = tat;
                    (Local::Allowed(tat), false)
                }
                (Some(tat), _) => {
                    entry.tat = tat;
                    entry.pending += 1;
                    (Local::Allowed(tat), !entry.queued)
                }
            };
            entry.queued |= queue;
            (local, queue)
        };
        if queue {
            self.queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(key);
        }
        self.maybe_sweep(now);
        local
    }

    /// The keys queued since the last call, each once, with their pending
    /// requests moved to `sending` (0 for a refresh).
    pub fn take_queued(&self) -> Vec<(Key, u32)> {
        let keys = std::mem::take(
            &mut *self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        keys.into_iter()
            .filter_map(|key| {
                let mut entry = self.entries.get_mut(&key)?;
                entry.queued = false;
                let pending = std::mem::take(&mut entry.pending);
                entry.sending += pending;
                Some((key, pending))
            })
            .collect()
    }

    /// Redis recorded the `sent` requests of `key` and reports the shared TAT,
    /// `ahead` µs after `now`: that is the view from now on, plus what was let
    /// in here meanwhile.
    pub fn synced(&self, key: Key, policy: &Policy, now: u64, ahead: u64, sent: u32) {
        let mut entry = self.entries.entry(key).or_default();
        entry.sending = entry.sending.saturating_sub(sent);
        entry.tat = policy.record(now + ahead, now, entry.pending);
        entry.synced_at = now;
    }

    /// Sending the `sent` requests of `key` failed: they are pending again, to
    /// be recorded by a later sync.
    pub fn unsent(&self, key: Key, sent: u32) {
        if sent == 0 {
            return;
        }
        let mut entry = self.entries.entry(key).or_default();
        entry.sending = entry.sending.saturating_sub(sent);
        entry.pending += sent;
        if !entry.queued {
            entry.queued = true;
            drop(entry);
            self.queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(key);
        }
    }

    /// Drops the entries that carry no information once enough were created.
    fn maybe_sweep(&self, now: u64) {
        let sweep_at = self.sweep_at.load(Ordering::Relaxed);
        if self.created.load(Ordering::Relaxed) < sweep_at {
            return;
        }
        // One sweeper at a time: whoever resets the count sweeps.
        if self.created.swap(0, Ordering::Relaxed) < sweep_at {
            return;
        }
        self.entries
            .retain(|_, entry| entry.tat > now || entry.pending > 0 || entry.sending > 0);
        self.sweep_at
            .store(self.entries.len().max(FIRST_SWEEP), Ordering::Relaxed);
    }

    /// How many clients are tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    const SECOND: u64 = 1_000_000;

    fn first(budget: u32) -> Mode {
        Mode::First {
            budget,
            stale_after: SECOND,
        }
    }

    fn key(n: u8) -> Key {
        (Scope::General, ClientKey::V4(Ipv4Addr::new(192, 0, 2, n)))
    }

    #[test]
    fn without_a_budget_the_table_is_the_limit() {
        let table = Table::default();
        let policy = Policy::new(2, Duration::from_secs(60));
        let now = 100 * SECOND;
        assert!(matches!(
            table.admit(key(1), &policy, now, Mode::Alone),
            Local::Allowed(_)
        ));
        assert!(matches!(
            table.admit(key(1), &policy, now, Mode::Alone),
            Local::Allowed(_)
        ));
        assert!(matches!(
            table.admit(key(1), &policy, now, Mode::Alone),
            Local::Limited(_)
        ));
        assert!(
            matches!(
                table.admit(key(2), &policy, now, Mode::Alone),
                Local::Allowed(_)
            ),
            "clients are apart"
        );
        let later = now + 30 * SECOND;
        assert!(
            matches!(
                table.admit(key(1), &policy, later, Mode::Alone),
                Local::Allowed(_)
            ),
            "one is back"
        );
    }

    #[test]
    fn past_its_budget_an_instance_asks_and_syncs_carry_the_pending() {
        let table = Table::default();
        let policy = Policy::new(100, Duration::from_secs(60));
        let now = 100 * SECOND;
        for _ in 0..2 {
            assert!(matches!(
                table.admit(key(1), &policy, now, first(2)),
                Local::Allowed(_)
            ));
        }
        assert_eq!(
            table.admit(key(1), &policy, now, first(2)),
            Local::Ask { pending: 2 }
        );
        // Redis recorded the 2 and the question: 3 intervals ahead.
        table.synced(key(1), &policy, now, 3 * policy.interval, 2);
        assert!(matches!(
            table.admit(key(1), &policy, now, first(2)),
            Local::Allowed(_)
        ));
        assert_eq!(table.take_queued(), [(key(1), 1)], "the one let in since");
        assert!(table.take_queued().is_empty());
        table.unsent(key(1), 1);
        assert_eq!(
            table.take_queued(),
            [(key(1), 1)],
            "a failed sync is retried"
        );
    }

    #[test]
    fn a_view_that_says_over_the_limit_refuses_without_asking() {
        let table = Table::default();
        let policy = Policy::new(10, Duration::from_secs(10));
        let now = 100 * SECOND;
        table.admit(key(1), &policy, now, first(1));
        table.take_queued();
        // Other instances spent the allowance: Redis says the TAT is far ahead.
        table.synced(key(1), &policy, now, 20 * SECOND, 1);
        assert!(matches!(
            table.admit(key(1), &policy, now, first(1)),
            Local::Limited(_)
        ));
    }

    #[test]
    fn entries_whose_tat_passed_are_swept_away() {
        let table = Table::default();
        let policy = Policy::new(1, Duration::from_secs(1));
        for n in 0..FIRST_SWEEP - 1 {
            let client = ClientKey::V4(Ipv4Addr::from(u32::try_from(n).unwrap()));
            table.admit((Scope::Auth, client), &policy, 0, Mode::Alone);
        }
        table.admit(key(1), &policy, 10 * SECOND, Mode::Alone);
        assert_eq!(table.len(), 1, "only the live entry is left");
        assert!(!table.is_empty());
    }
}
