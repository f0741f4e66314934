//! The Redis rate limiter across instances: three copies of one generated
//! service share a Redis, and a burst spread across them is let in as the
//! generated README promises — within the local-first overshoot bound with the
//! default sync, exactly with `RATE_LIMIT_SYNC_MS=0`.
//!
//! The project is the smallest that has the limiter (`minimal` with
//! `rate_limit=redis`, no database); it builds into the shared target
//! directory. The limited path matches no route, so each request answers 404
//! when let in and 429 when refused, with no handler in the way. Each run uses
//! a key prefix of its own on the machine's Redis.

use std::time::{Duration, Instant};

use crate::e2e::{Service, agent, fresh_prefix, start, stop};
use crate::support::{cargo, generated_target_dir, redis_url, stanchion};

const INSTANCES: usize = 3;
const NAME: &str = "limiter-e2e";

/// What a burst let in, and how long it lasted.
struct Burst {
    admitted: u64,
    refused: u64,
    took: Duration,
}

/// `per_instance` requests to each of `services` at once, one thread each.
fn burst(services: &[Service], per_instance: usize) -> Burst {
    let started = Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let threads: Vec<_> = services
            .iter()
            .map(|service| {
                let url = format!("{}/api/limiter-probe", service.base);
                scope.spawn(move || {
                    let http = agent();
                    (0..per_instance)
                        .map(|_| http.get(&url).call().unwrap().status().as_u16())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect()
    });
    let took = started.elapsed();
    let admitted = statuses.iter().filter(|&&s| s == 404).count() as u64;
    let refused = statuses.iter().filter(|&&s| s == 429).count() as u64;
    assert_eq!(
        admitted + refused,
        statuses.len() as u64,
        "only 404 and 429: {statuses:?}"
    );
    Burst {
        admitted,
        refused,
        took,
    }
}

/// Starts [`INSTANCES`] copies of `binary` on one Redis, under a fresh prefix.
fn instances(
    binary: &std::path::Path,
    project: &std::path::Path,
    env: &[(&str, &str)],
) -> Vec<Service> {
    let redis = redis_url();
    let prefix = fresh_prefix("limiter");
    let mut env = env.to_vec();
    env.extend([
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_KEY_PREFIX", prefix.as_str()),
    ]);
    (0..INSTANCES)
        .map(|_| start(binary, project, &env))
        .collect()
}

#[test]
fn three_instances_overshoot_within_the_bound_and_sync_zero_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join(NAME);
    stanchion()
        .args(["new", NAME, "--yes", "--preset", "minimal"])
        .args(["--set", "rate_limit=redis", "--set", "deploy=none", "--dir"])
        .arg(&project)
        .assert()
        .success();
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(
        readme.contains(
            "RATE_LIMIT_MAX + ceil(t × RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_SECS) + N × B − 1"
        ),
        "the README states the bound"
    );
    cargo(&project, &["build", "--quiet"]);
    let binary = generated_target_dir().join("debug").join(NAME);

    // 300 per minute (5 a second), synced every 500 ms: a local budget of
    // B = ceil(300 × 500 / 60 000) = 3 per instance between syncs.
    let (limit, window_secs, sync_ms) = (300_u64, 60_u64, 500_u64);
    let budget = (limit * sync_ms).div_ceil(window_secs * 1000);
    let rate = limit as f64 / window_secs as f64;
    let services = instances(
        &binary,
        &project,
        &[
            ("RATE_LIMIT_MAX", "300"),
            ("RATE_LIMIT_WINDOW_SECS", "60"),
            ("RATE_LIMIT_SYNC_MS", "500"),
        ],
    );
    let local_first = burst(&services, 200);
    let comes_back = (local_first.took.as_secs_f64() * rate).ceil() as u64;
    let bound = limit + comes_back + INSTANCES as u64 * budget - 1;
    eprintln!(
        "local first: {} of {} let in over {:?} (limit {limit}, bound {bound}, {} refused)",
        local_first.admitted,
        local_first.admitted + local_first.refused,
        local_first.took,
        local_first.refused
    );
    assert!(local_first.admitted >= limit, "{}", local_first.admitted);
    assert!(
        local_first.admitted <= bound,
        "{} > {bound}",
        local_first.admitted
    );
    for service in services {
        stop(service);
    }

    // Exact: every request Redis has to decide is decided there.
    let services = instances(
        &binary,
        &project,
        &[
            ("RATE_LIMIT_MAX", "300"),
            ("RATE_LIMIT_WINDOW_SECS", "60"),
            ("RATE_LIMIT_SYNC_MS", "0"),
        ],
    );
    let exact = burst(&services, 200);
    let came_back = (exact.took.as_secs_f64() * rate).floor() as u64;
    eprintln!(
        "sync 0: {} of {} let in over {:?} (limit {limit}, {came_back} came back meanwhile)",
        exact.admitted,
        exact.admitted + exact.refused,
        exact.took
    );
    assert!(exact.admitted >= limit, "{}", exact.admitted);
    assert!(
        exact.admitted <= limit + came_back,
        "{} for a limit of {limit} and {came_back} back",
        exact.admitted
    );
    for service in services {
        stop(service);
    }
}
