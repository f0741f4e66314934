//! The Redis cache's two tiers across instances: two instances of one generated
//! project (PostgreSQL, the Redis cache, and metrics to see which tier answered)
//! on one Redis and one database. A write through one is read fresh through the
//! other within 100 ms, although the other held the product in its in-process
//! tier; concurrent misses of one product on an instance send one query.
//!
//! The project builds into the shared target directory (no lint or tests of
//! its own here: the pairwise harness and the e2e tests do that); the database
//! is made for this test and the Redis keys are under a fresh prefix.

use std::time::{Duration, Instant};

use crate::e2e::{ScratchDatabase, Service, agent, call, fresh_prefix, start, stop};
use crate::support::{cargo, generated_target_dir, redis_url, stanchion};

/// How soon a write on one instance must be read on the other.
const PROPAGATION_LIMIT: Duration = Duration::from_millis(100);

#[test]
fn a_write_on_one_instance_is_read_fresh_on_another_within_100_ms() {
    let redis = redis_url();
    let database = ScratchDatabase::create("stanchion_e2e_cache_tiers");
    let prefix = fresh_prefix("e2e-cache-tiers");
    let tmp = tempfile::tempdir().unwrap();
    let name = "e2e-cache-tiers";
    let project = tmp.path().join(name);
    stanchion()
        .args(["new", name, "--yes", "--preset", "minimal"])
        .args(["--set", "database=postgres", "--set", "cache=redis"])
        .args(["--set", "metrics=true", "--dir"])
        .arg(&project)
        .assert()
        .success();
    cargo(&project, &["build", "--quiet"]);
    let binary = generated_target_dir().join("debug").join(name);
    let env = [
        ("DATABASE_URL", database.url.as_str()),
        ("REDIS_URL", redis.as_str()),
        ("CACHE_KEY_PREFIX", prefix.as_str()),
    ];
    let writer = start(&binary, &project, &env);
    let reader = start(&binary, &project, &env);

    let products = format!("{}/api/v1/products", writer.base);
    let body = serde_json::json!({ "name": "Shared lamp", "price_cents": 100 });
    let (status, _, product) = call("POST", &products, Some(body));
    assert_eq!(status, 201, "{product}");
    let id = product["id"].as_str().unwrap();
    let on_writer = format!("{products}/{id}");
    let on_reader = format!("{}/api/v1/products/{id}", reader.base);

    let mut delays = Vec::new();
    for round in 1..=5 {
        served_from_local_tier(&reader, &on_reader);
        let price = 100 + round;
        let patch = serde_json::json!({ "price_cents": price });
        let (status, _, patched) = call("PATCH", &on_writer, Some(patch));
        assert_eq!(status, 200, "{patched}");
        let written = Instant::now();
        loop {
            let (status, _, read) = call("GET", &on_reader, None);
            assert_eq!(status, 200, "{read}");
            if read == patched {
                break;
            }
            assert!(
                written.elapsed() < PROPAGATION_LIMIT,
                "round {round}: the other instance still answers {read} {:?} after the write",
                written.elapsed()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        delays.push(written.elapsed());
    }
    delays.sort();
    eprintln!(
        "write on one instance read fresh on the other after: median {:?}, max {:?}",
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );

    // Single-flight: 32 concurrent reads of a product no instance has read.
    let body = serde_json::json!({ "name": "Cold lamp", "price_cents": 300 });
    let (status, _, cold) = call("POST", &products, Some(body));
    assert_eq!(status, 201, "{cold}");
    let cold = format!(
        "{}/api/v1/products/{}",
        reader.base,
        cold["id"].as_str().unwrap()
    );
    let reads: Vec<_> = (0..32)
        .map(|_| {
            let cold = cold.clone();
            std::thread::spawn(move || {
                let (status, headers, body) = call("GET", &cold, None);
                assert_eq!(status, 200, "{body}");
                headers["x-cache"].to_str().unwrap().to_owned()
            })
        })
        .collect();
    let misses = reads
        .into_iter()
        .map(|read| read.join().unwrap())
        .filter(|via| via == "miss")
        .count();
    assert_eq!(misses, 1, "one of 32 concurrent reads went to the database");

    stop(reader);
    stop(writer);
}

/// Reads `url` on `service` until its in-process tier answers it: the
/// `cache_lookups_total{tier="local",outcome="hit"}` counter of its `/metrics`
/// goes up with the read.
pub(crate) fn served_from_local_tier(service: &Service, url: &str) {
    let started = Instant::now();
    loop {
        let before = local_hits(service);
        let (status, headers, body) = call("GET", url, None);
        assert_eq!(status, 200, "{body}");
        if headers["x-cache"] == "hit" && local_hits(service) > before {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the local tier never answered {url}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `cache_lookups_total{tier="local",outcome="hit"}` of `service`.
fn local_hits(service: &Service) -> u64 {
    let mut response = agent()
        .get(format!("{}/metrics", service.base))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.body_mut().read_to_string().unwrap();
    text.lines()
        .find(|line| {
            line.starts_with("cache_lookups_total{")
                && line.contains(r#"tier="local""#)
                && line.contains(r#"outcome="hit""#)
        })
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |value| value.parse::<f64>().unwrap() as u64)
}
