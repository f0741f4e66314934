//! The generic cell rate algorithm (GCRA): a smooth limit kept in one number
//! per client.
//!
//! A policy of `limit` requests per `window` lets a request in every
//! `interval = window / limit` on average, and up to `limit` at once after a
//! quiet spell. Per client it keeps the *theoretical arrival time* (TAT): the
//! moment the client's allowance is whole again. A request at `now` is let in
//! when `max(TAT, now) - now <= tolerance` (`tolerance = window - interval`),
//! and then moves the TAT one interval on.
//!
//! Unlike a fixed window, nothing restarts at a window's edge: an allowance
//! comes back one request per interval, so a client that spent it all can make
//! one more request per interval, never a second full allowance at once. It is
//! the algorithm of NGINX's `limit_req` and of redis-cell, and it needs no
//! counter per window, only the TAT, which may be forgotten once it has passed.
//!
//! Times here are microseconds on a clock of the caller's choice (this process's
//! for the local counts, the Redis server's in the Lua script, which does the
//! same arithmetic), so the functions are pure and testable.

use std::time::Duration;

/// A limit of `limit` requests per `window`, as GCRA parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Requests allowed per window, and at once after a quiet spell.
    pub limit: u32,
    /// The window the limit is stated for.
    pub window: Duration,
    /// Microseconds between two requests at the sustained rate.
    pub interval: u64,
    /// Microseconds the TAT may be ahead of now and a request still let in.
    pub tolerance: u64,
}

impl Policy {
    /// The policy of `limit` (at least 1) requests per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1);
        let window_us = u64::try_from(window.as_micros())
            .unwrap_or(u64::MAX)
            .max(u64::from(limit));
        let interval = window_us / u64::from(limit);
        Self {
            limit,
            window,
            interval,
            tolerance: window_us - interval,
        }
    }

    /// One request at `now` from a client whose TAT is `tat`: its new TAT if it
    /// is let in, `None` if it is refused (the TAT is then unchanged).
    pub fn admit(&self, tat: u64, now: u64) -> Option<u64> {
        let start = tat.max(now);
        (start - now <= self.tolerance).then(|| start + self.interval)
    }

    /// The TAT after `count` requests that were let in already (elsewhere, or
    /// before a sync) are recorded at `now`, whether or not they fit.
    pub fn record(&self, tat: u64, now: u64, count: u32) -> u64 {
        tat.max(now)
            .saturating_add(self.interval.saturating_mul(u64::from(count)))
    }

    /// The decision reported for a client whose TAT is `tat` at `now`, after a
    /// request that was let in (`allowed`) or refused.
    pub fn decision(&self, allowed: bool, tat: u64, now: u64) -> Decision {
        let ahead = tat.saturating_sub(now);
        let remaining = if ahead <= self.tolerance {
            ((self.tolerance - ahead) / self.interval + 1).min(u64::from(self.limit))
        } else {
            0
        };
        // With requests left: until the allowance is whole again; with none:
        // until the next request is let in, which is also the `Retry-After`.
        let reset = if remaining > 0 {
            ahead
        } else {
            ahead - self.tolerance
        };
        Decision {
            allowed,
            limit: self.limit,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset: Duration::from_micros(reset),
            window: self.window,
        }
    }

    /// The requests one instance may let in for one client between two syncs
    /// with Redis, `sync` apart: what the sustained rate allows in that time,
    /// rounded up, at least 1.
    pub fn local_budget(&self, sync: Duration) -> u32 {
        let sync_us = u64::try_from(sync.as_micros()).unwrap_or(u64::MAX);
        u32::try_from(sync_us.div_ceil(self.interval).max(1)).unwrap_or(u32::MAX)
    }
}

/// The outcome of one request against its client's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is let in.
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests the client may make right now, after this one.
    pub remaining: u32,
    /// With requests left, the time until the allowance is whole again; with
    /// none, the time until the next request is let in.
    pub reset: Duration,
    /// The window the limit is stated for.
    pub window: Duration,
}

impl Decision {
    /// [`Decision::reset`] in whole seconds, rounded up: a client that waits
    /// this long gets what it says.
    pub fn reset_secs(&self) -> u64 {
        self.reset
            .as_micros()
            .div_ceil(1_000_000)
            .try_into()
            .unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000;

    /// Requests at `times` (µs): which were let in.
    fn run(policy: &Policy, times: &[u64]) -> Vec<bool> {
        let mut tat = 0;
        times
            .iter()
            .map(|&now| match policy.admit(tat, now) {
                Some(next) => {
                    tat = next;
                    true
                }
                None => false,
            })
            .collect()
    }

    #[test]
    fn a_full_allowance_at_once_then_one_per_interval() {
        // 4 per 4 s: one request a second on average, 4 at once.
        let policy = Policy::new(4, Duration::from_secs(4));
        assert_eq!((policy.interval, policy.tolerance), (SECOND, 3 * SECOND));
        let at_once = [10 * SECOND; 5];
        assert_eq!(run(&policy, &at_once), [true, true, true, true, false]);
        let mut tat = 0;
        for _ in 0..4 {
            tat = policy.admit(tat, 10 * SECOND).unwrap();
        }
        // Half a second later nothing is back; a second later one request is.
        assert_eq!(policy.admit(tat, 10 * SECOND + SECOND / 2), None);
        let tat = policy.admit(tat, 11 * SECOND).expect("one interval later");
        assert_eq!(policy.admit(tat, 11 * SECOND), None);
    }

    #[test]
    fn no_second_allowance_across_a_window_edge() {
        // A fixed window of 4 s lets 4 in at 3.9 s and 4 more at 4.1 s. GCRA
        // lets the burst in, then only what the rate gives back: over any
        // stretch of time t, at most limit + t / interval requests.
        let policy = Policy::new(4, Duration::from_secs(4));
        let mut times = vec![3_900_000; 4];
        times.extend([4_100_000; 4]);
        let allowed = run(&policy, &times);
        assert_eq!(allowed.iter().filter(|&&a| a).count(), 4, "{allowed:?}");
        // Sent steadily, twice as fast as the rate, over 20 s: the burst plus one
        // a second.
        let steady: Vec<u64> = (0..40).map(|n| 100 * SECOND + n * SECOND / 2).collect();
        let allowed = run(&policy, &steady).iter().filter(|&&a| a).count();
        assert_eq!(allowed, 4 + 19, "4 at once, then one per second");
    }

    #[test]
    fn decisions_count_down_and_say_when_to_come_back() {
        let policy = Policy::new(3, Duration::from_secs(900));
        let now = 1_000 * SECOND;
        let tat = policy.admit(0, now).unwrap();
        let first = policy.decision(true, tat, now);
        assert_eq!((first.remaining, first.reset_secs()), (2, 300));
        let tat = policy.admit(tat, now).unwrap();
        let tat = policy.admit(tat, now).unwrap();
        let last = policy.decision(true, tat, now);
        assert_eq!(
            (last.remaining, last.reset_secs()),
            (0, 300),
            "next in 300 s"
        );
        assert_eq!(policy.admit(tat, now), None);
        let refused = policy.decision(false, tat, now + 100 * SECOND);
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.reset_secs()), (0, 200));
    }

    #[test]
    fn recorded_requests_move_the_tat_whether_or_not_they_fit() {
        let policy = Policy::new(2, Duration::from_secs(2));
        assert_eq!(policy.record(0, 5 * SECOND, 3), 8 * SECOND);
        assert_eq!(policy.record(9 * SECOND, 5 * SECOND, 1), 10 * SECOND);
        assert_eq!(policy.admit(8 * SECOND, 5 * SECOND), None, "over by one");
    }

    #[test]
    fn the_local_budget_is_the_rate_over_a_sync_interval() {
        let policy = Policy::new(100, Duration::from_secs(10));
        assert_eq!(policy.local_budget(Duration::from_millis(100)), 1);
        assert_eq!(policy.local_budget(Duration::from_millis(450)), 5);
        let busy = Policy::new(1_000_000, Duration::from_secs(60));
        assert_eq!(busy.local_budget(Duration::from_millis(100)), 1_667);
    }
}
