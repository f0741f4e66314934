//! Runs `wrk` and reads its report; reads from `/proc` a process's CPU time and
//! how busy the machine is.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Connections and threads of every run: the figures were measured so.
pub(crate) const CONNECTIONS: u32 = 64;
pub(crate) const THREADS: u32 = 2;

/// What one `wrk` run measured.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Load {
    /// Responses received.
    pub(crate) requests: u64,
    /// Responses per second.
    pub(crate) rps: f64,
    /// The 99th percentile latency, in milliseconds.
    pub(crate) p99_ms: f64,
    /// Responses whose status was not 2xx or 3xx.
    pub(crate) non_2xx: u64,
    /// Connect, read, write errors and timeouts.
    pub(crate) socket_errors: u64,
}

/// Whether `wrk` can be run.
pub(crate) fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Loads `url` for `duration` with `headers` (`Name: value`).
pub(crate) fn run(url: &str, duration: Duration, headers: &[String]) -> Load {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{THREADS}"))
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency");
    for header in headers {
        command.arg("-H").arg(header);
    }
    let output = command.arg(url).output().expect("wrk runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "wrk {url} failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&report).unwrap_or_else(|| panic!("cannot read wrk's report:\n{report}"))
}

/// Reads the figures of a `wrk --latency` report.
fn parse(report: &str) -> Option<Load> {
    let mut load = Load::default();
    let mut seen_requests = false;
    for line in report.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            load.rps = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("99%") {
            load.p99_ms = millis(rest.trim())?;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            load.non_2xx = rest.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 12"
            load.socket_errors = rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            load.requests = count.trim().parse().ok()?;
            seen_requests = true;
        }
    }
    (seen_requests && load.rps > 0.0).then_some(load)
}

/// `812.00us`, `5.12ms` or `1.02s` in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let units = [("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 60e3)];
    units.iter().find_map(|(unit, factor)| {
        let number = text.strip_suffix(unit)?;
        number.parse::<f64>().ok().map(|value| value * factor)
    })
}

/// The CPU time (user and system, every thread) process `pid` has used.
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))
        .expect("the process is running");
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime 14 and stime 15.
    let (_, rest) = stat.rsplit_once(") ").expect("a /proc/PID/stat line");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
}

/// `getconf CLK_TCK`: the unit of `/proc/PID/stat`'s times (100 on Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The busy and the total CPU time of the whole machine so far, in ticks
/// (`/proc/stat`'s first line; idle and I/O wait are not busy).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// What [`wait_for_quiet`] saw.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Quiet {
    /// How long it waited.
    pub(crate) waited: Duration,
    /// The busy share of all cores over the last second it watched.
    pub(crate) busy: f64,
    /// Whether that share fell to `threshold`.
    pub(crate) quiet: bool,
}

/// Waits, one second at a time and for `at_most`, until the whole machine
/// was busy for no more than `threshold` (a share of all cores) over a second:
/// so what just ran — release builds, a database created, passwords hashed at
/// sign-in — is over before a measurement starts, and both services meet the
/// same machine.
pub(crate) fn wait_for_quiet(threshold: f64, at_most: Duration) -> Quiet {
    let started = std::time::Instant::now();
    loop {
        let before = machine_ticks();
        std::thread::sleep(Duration::from_secs(1));
        let busy = match (before, machine_ticks()) {
            (Some((busy_before, total_before)), Some((busy_after, total_after))) => {
                let total = total_after.saturating_sub(total_before).max(1);
                busy_after.saturating_sub(busy_before) as f64 / total as f64
            }
            // Not Linux, or /proc unreadable: nothing to wait for.
            _ => 0.0,
        };
        let quiet = busy <= threshold;
        if quiet || started.elapsed() >= at_most {
            return Quiet {
                waited: started.elapsed(),
                busy,
                quiet,
            };
        }
    }
}
