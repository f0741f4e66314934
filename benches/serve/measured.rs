//! One measured run of `wrk` against a service, and several runs as one.

use std::time::Duration;

use crate::services::Service;
use crate::wrk::{self, Load};

/// One measured run, or several as one: the load and the CPU time per request.
#[derive(Clone, Copy)]
pub(crate) struct Measured {
    /// The load; of several runs, their p99 is the median run's.
    pub(crate) load: Load,
    pub(crate) cpu_per_request: Duration,
    /// The highest p99 of the runs.
    pub(crate) worst_p99_ms: f64,
}

impl Measured {
    /// The runs of one service as one: requests and CPU time summed, the
    /// rate over their whole time, the median run's p99 and the worst.
    ///
    /// The median, as the figure held against the goal: a second in which the
    /// machine stalls for its own reasons (a page-cache flush, a background
    /// process) puts tens of milliseconds into one run's p99, of the reference
    /// as much as of the generated service; the worst run shows it beside.
    pub(crate) fn combine(runs: &[Self]) -> Self {
        let mut p99s: Vec<f64> = runs.iter().map(|run| run.load.p99_ms).collect();
        p99s.sort_by(f64::total_cmp);
        let middle = p99s.len() / 2;
        let median_p99 = match p99s.len() {
            0 => 0.0,
            len if len % 2 == 1 => p99s[middle],
            _ => (p99s[middle - 1] + p99s[middle]) / 2.0,
        };
        let requests: u64 = runs.iter().map(|run| run.load.requests).sum();
        let seconds: f64 = runs
            .iter()
            .map(|run| run.load.requests as f64 / run.load.rps.max(f64::MIN_POSITIVE))
            .sum();
        let cpu: Duration = runs
            .iter()
            .map(|run| run.cpu_per_request.mul_f64(run.load.requests as f64))
            .sum();
        Self {
            load: Load {
                requests,
                rps: requests as f64 / seconds.max(f64::MIN_POSITIVE),
                p99_ms: median_p99,
                non_2xx: runs.iter().map(|run| run.load.non_2xx).sum(),
                socket_errors: runs.iter().map(|run| run.load.socket_errors).sum(),
            },
            cpu_per_request: cpu.div_f64(requests.max(1) as f64),
            worst_p99_ms: runs.iter().map(|run| run.worst_p99_ms).fold(0.0, f64::max),
        }
    }
}

/// Loads `url` for `duration` and reads the CPU time `service` used meanwhile.
pub(crate) fn measure(
    service: &Service,
    url: &str,
    headers: &[String],
    duration: Duration,
) -> Measured {
    let before = wrk::cpu_time(service.pid());
    let load = wrk::run(url, duration, headers);
    let used = wrk::cpu_time(service.pid()).saturating_sub(before);
    Measured {
        load,
        cpu_per_request: used.div_f64(load.requests.max(1) as f64),
        worst_p99_ms: load.p99_ms,
    }
}

/// `duration` in microseconds.
pub(crate) fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
