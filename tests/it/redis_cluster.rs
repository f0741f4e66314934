//! `REDIS_URL` naming a Redis Cluster: two instances of a `full` project on a
//! private three-master cluster share the rate limit (the GCRA script runs on
//! the node owning each client's slot), serve cache hits, and hear each
//! other's invalidations (classic `PUBLISH`, which the cluster forwards to
//! every node): a write through one is read fresh through the other within
//! 100 ms. When the cluster goes away they go on answering, and the Redis
//! client's own warnings reach their logs.
//!
//! The cluster is this test's own: three `redis-server --cluster-enabled yes`
//! on free ports in a temporary directory, joined by `redis-cli --cluster
//! create`, and killed when the test ends however it ends. The machine's
//! Redis is never used.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cache_tiers::served_from_local_tier;
use crate::e2e::{
    E2E_ADMIN_EMAIL, E2E_JWT_SECRET, ScratchDatabase, Service, agent, call, call_as, check_auth,
    free_port, fresh_prefix, start, stop,
};
use crate::support::{cargo, generated_target_dir, stanchion};

/// How soon a write on one instance must be read on the other.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);
/// The general limit: requests to `/api/` per client in a window long enough
/// that none of the allowance comes back during the test.
const LIMIT: usize = 60;

/// A private Redis Cluster of three masters; its servers are killed on drop.
struct Cluster {
    servers: Vec<Child>,
    ports: Vec<u16>,
    /// The servers' data: their cluster configuration files.
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Self {
        // Made before any server starts, so a failure below still kills them.
        let mut cluster = Self {
            servers: Vec::new(),
            ports: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        for node in 0..3 {
            let (port, bus) = (free_port(), free_port());
            let data = cluster.dir.path().join(format!("node-{node}"));
            std::fs::create_dir(&data).unwrap();
            let server = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--cluster-port",
                    &bus.to_string(),
                ])
                .args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf", "--dir"])
                .arg(&data)
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn()
                .expect("`redis-server` on PATH starts");
            cluster.servers.push(server);
            cluster.ports.push(port);
        }
        for &port in &cluster.ports {
            wait_for(&format!("node {port} answering PING"), || {
                cli(port, &["PING"]).is_some_and(|reply| reply.trim() == "PONG")
            });
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        for &port in &cluster.ports {
            wait_for(&format!("node {port} reporting cluster_state:ok"), || {
                cli(port, &["CLUSTER", "INFO"])
                    .is_some_and(|info| info.contains("cluster_state:ok"))
            });
        }
        cluster
    }

    /// `REDIS_URL` for this cluster: every node, comma-separated.
    fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect();
        nodes.join(",")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

/// `redis-cli -p PORT ARGS`'s output, when it succeeds.
fn cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_instances_share_limits_and_cache_on_a_redis_cluster() {
    let cluster = Cluster::start();
    let redis = cluster.url();
    let database = ScratchDatabase::create("stanchion_e2e_redis_cluster");
    let tmp = tempfile::tempdir().unwrap();
    let name = "e2e-redis-cluster";
    let project = tmp.path().join(name);
    stanchion()
        .args(["new", name, "--yes", "--preset", "full", "--dir"])
        .arg(&project)
        .assert()
        .success();
    cargo(&project, &["build", "--quiet"]);
    let binary = generated_target_dir().join("debug").join(name);
    let (limit, rate_limit_prefix) = (LIMIT.to_string(), fresh_prefix("cluster-rate-limit"));
    let cache_prefix = fresh_prefix("cluster-cache");
    let env = [
        ("DATABASE_URL", database.url.as_str()),
        ("DATABASE_READ_URL", database.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("JWT_SECRET", E2E_JWT_SECRET),
        ("AUTH_ADMIN_EMAILS", E2E_ADMIN_EMAIL),
        ("RATE_LIMIT_MAX", limit.as_str()),
        ("RATE_LIMIT_WINDOW_SECS", "3600"),
        // Every decision is the cluster's: the count is exact.
        ("RATE_LIMIT_SYNC_MS", "0"),
        ("RATE_LIMIT_KEY_PREFIX", rate_limit_prefix.as_str()),
        ("CACHE_KEY_PREFIX", cache_prefix.as_str()),
    ];
    let one = start(&binary, &project, &env);
    let other = start(&binary, &project, &env);
    for service in [&one, &other] {
        let (_, _, ready) = call("GET", &format!("{}/health/ready", service.base), None);
        for check in ["cache", "rate_limiter"] {
            assert_eq!(ready["checks"][check]["status"], "up", "{ready}");
        }
    }

    check_invalidation_across(&one, &other);
    check_shared_limit(&[&one, &other]);

    // The cluster goes away: the services go on answering, and the Redis
    // client's own warnings (it logs with the `log` crate, not tracing) are
    // log lines of their own target.
    drop(cluster);
    for service in [&one, &other] {
        for _ in 0..10 {
            let (status, _, body) = call("GET", &format!("{}/api/v1/products", service.base), None);
            assert!(status < 500, "{status} with the cluster down: {body}");
        }
    }
    let logs = stop(other) + &stop(one);
    check_redis_client_logged(&logs);
}

/// Among `logs`, a warning or error of the Redis client, with its own target
/// and without the `log` crate's metadata fields.
fn check_redis_client_logged(logs: &str) {
    let line = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            line["target"]
                .as_str()
                .is_some_and(|target| target.starts_with("redis::"))
                && ["WARN", "ERROR"].contains(&line["level"].as_str().unwrap_or_default())
        })
        .unwrap_or_else(|| panic!("no warning of the Redis client in the logs:\n{logs}"));
    eprintln!("the Redis client logged {line}");
    let fields = line.as_object().unwrap();
    assert!(fields.keys().all(|key| !key.starts_with("log.")), "{line}");
    assert!(
        line["message"].is_string() && line["timestamp"].is_string(),
        "{line}"
    );
}

/// A product read through `other` is a cache hit there, and an update through
/// `one` is read fresh through `other` within [`PROPAGATION_LIMIT`].
fn check_invalidation_across(one: &Service, other: &Service) {
    let token = check_auth(one);
    let products = format!("{}/api/v1/products", one.base);
    let body = serde_json::json!({ "name": "Clustered lamp", "price_cents": 100 });
    let (status, _, product) = call_as("POST", &products, Some(body), Some(&token));
    assert_eq!(status, 201, "{product}");
    let id = product["id"].as_str().unwrap();
    let on_one = format!("{products}/{id}");
    let on_other = format!("{}/api/v1/products/{id}", other.base);
    for price in [101, 102, 103] {
        served_from_local_tier(other, &on_other);
        let patch = serde_json::json!({ "price_cents": price });
        let (status, _, patched) = call_as("PATCH", &on_one, Some(patch), Some(&token));
        assert_eq!(status, 200, "{patched}");
        let written = Instant::now();
        loop {
            let (status, _, read) = call("GET", &on_other, None);
            assert_eq!(status, 200, "{read}");
            if read == patched {
                break;
            }
            assert!(
                written.elapsed() < PROPAGATION_LIMIT,
                "the other instance still answers {read} {:?} after the write",
                written.elapsed()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        eprintln!(
            "price {price} read fresh on the other instance after {:?}",
            written.elapsed()
        );
    }
}

/// Requests spread over `services` are let in up to [`LIMIT`] in all (less
/// what earlier checks spent), not per instance; then every instance refuses.
fn check_shared_limit(services: &[&Service]) {
    let http = agent();
    let mut admitted = 0;
    let mut refused_by = vec![false; services.len()];
    for i in 0..2 * LIMIT {
        let service = i % services.len();
        let url = format!("{}/api/limiter-probe", services[service].base);
        match http.get(&url).call().unwrap().status().as_u16() {
            404 => admitted += 1,
            429 => refused_by[service] = true,
            other => panic!("only 404 and 429, not {other}"),
        }
    }
    eprintln!(
        "{admitted} of {} let in across {} instances (limit {LIMIT})",
        2 * LIMIT,
        services.len()
    );
    assert!(
        admitted > 0,
        "the allowance left after the cache checks is let in"
    );
    assert!(
        admitted <= LIMIT,
        "{admitted} let in: a limit of {LIMIT} per instance, not shared"
    );
    assert!(refused_by.iter().all(|&refused| refused), "{refused_by:?}");
}
