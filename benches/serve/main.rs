//! The generated `full` preset under load, side by side with a hand-written axum
//! service (`benches/reference`), as issue #9 measures them.
//!
//! Generates `full` with the real binary, builds it and the reference in release
//! (into `STANCHION_GENERATED_TARGET_DIR`, as the tests' generated projects, so
//! a second run rebuilds nothing), and starts both on free ports of 127.0.0.1:
//! the generated service on a database made for it (dropped afterwards) and the
//! machine's Redis under fresh key prefixes, with its rate limits raised out of
//! the way; the reference with the product the generated API created, in
//! memory. Once the machine is quiet (at most 10 % busy over a second, read
//! from `/proc/stat`), `wrk -t2 -c64 --latency` loads each route of each
//! service in turn, after a warm-up, in three alternating runs, and the
//! benchmark prints requests per second, p99 latency (the median run's, and the
//! worst run's beside it), the CPU time each request cost the service (from
//! `/proc/PID/stat`) and the ratio generated/reference, next to the issue's
//! goals.
//!
//! Last, the cost of a 429: the generated service is restarted with a limit of
//! one request, and the CPU time per refused request is compared with that of a
//! `GET /health/live` of the same process (and Redis's CPU, read from
//! `INFO cpu`, is shown beside it: the limiter's work happens there too).
//!
//! Prints figures; asserts nothing about time. `cargo bench --bench serve`
//! spends 12 s per route and service; `-- --short` 3 s (what `.ci/run` runs);
//! `SERVE_BENCH_SECS` sets another duration.

mod measured;
mod services;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use measured::{Measured, measure, micros};
use services::{ScratchDatabase, Service, get, post};

/// The generated project's name (also its tokens' issuer and audience).
const NAME: &str = "serve-bench";
/// The signing secret both services verify tokens with.
const JWT_SECRET: &str = "the serve benchmark's secret, 32 bytes or more";
/// The administrator account, which may create the product.
const ADMIN_EMAIL: &str = "bench@example.com";
/// A limit no throughput run reaches (per 15-minute window).
const UNREACHABLE_LIMIT: &str = "1000000000";

/// One route measured on both services.
struct Route {
    label: &'static str,
    reference: String,
    generated: String,
    headers: Vec<String>,
    goal: &'static str,
}

/// Each route's time is split into this many runs per service, alternating
/// between the two, so a machine whose load drifts (other processes, CPU
/// frequency) weighs on both alike.
const ROUNDS: u32 = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let short = args.iter().any(|arg| arg == "--short");
    let seconds = std::env::var("SERVE_BENCH_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(if short { 3 } else { 12 });
    let duration = Duration::from_secs(seconds);
    let warm_up = Duration::from_secs(if short { 1 } else { 3 });
    assert!(
        wrk::available(),
        "the serve benchmark needs `wrk` (Debian: `apt-get install wrk`)"
    );

    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target_dir = std::env::var_os("STANCHION_GENERATED_TARGET_DIR")
        .map_or_else(|| repo.join("target/generated"), PathBuf::from);
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let generated_now = tmp.path().join(NAME);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stanchion"))
        .args(["new", NAME, "--yes", "--preset", "full", "--dir"])
        .arg(&generated_now)
        .output()
        .expect("stanchion runs");
    assert!(
        output.status.success(),
        "`stanchion new --preset full` failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Built from one place, where only what changed is rewritten: cargo then
    // rebuilds nothing when the templates did not change since the last run.
    let project = target_dir.join(format!("{NAME}-project"));
    services::sync(&generated_now, &project);
    let built = services::build_release(&project.join("Cargo.toml"), &target_dir, false);
    let reference_manifest = repo.join("benches/reference/Cargo.toml");
    let reference_built = services::build_release(&reference_manifest, &target_dir, true);
    println!(
        "release builds: generated `full` {:.0} s, reference {:.0} s (into {})",
        built.as_secs_f64(),
        reference_built.as_secs_f64(),
        target_dir.display()
    );
    let release = target_dir.join("release");

    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let database = ScratchDatabase::create(
        &admin_url,
        &format!("stanchion_bench_serve_{}", std::process::id()),
    );
    let start_generated = |max: &str, label: &str| {
        let prefix = format!("{NAME}-{label}-{}-{}", std::process::id(), nanos());
        let envs = [
            ("DATABASE_URL", database.url.as_str()),
            ("DATABASE_READ_URL", database.url.as_str()),
            ("REDIS_URL", redis.as_str()),
            ("JWT_SECRET", JWT_SECRET),
            ("JWT_ISSUER", NAME),
            ("JWT_AUDIENCE", NAME),
            ("AUTH_ADMIN_EMAILS", ADMIN_EMAIL),
            ("RATE_LIMIT_MAX", max),
            ("RATE_LIMIT_AUTH_MAX", max),
            ("RATE_LIMIT_KEY_PREFIX", &format!("{prefix}-limits")),
            ("CACHE_KEY_PREFIX", &format!("{prefix}-cache")),
            ("RUST_LOG", "info"),
            ("LOG_FORMAT", "json"),
            ("SHUTDOWN_GRACE_SECS", "5"),
        ];
        let stderr = tmp.path().join(format!("generated-{label}.stderr"));
        Service::start(
            &release.join(NAME),
            &project,
            &envs,
            "/health/ready",
            stderr,
        )
    };
    let generated = start_generated(UNREACHABLE_LIMIT, "throughput");
    let (token, product_id, product) = sign_in_and_create_a_product(&generated);
    let reference_products = format!("[{product}]");
    let reference = Service::start(
        &release.join("stanchion-reference"),
        tmp.path(),
        &[
            ("JWT_SECRET", JWT_SECRET),
            ("JWT_ISSUER", NAME),
            ("JWT_AUDIENCE", NAME),
            ("REFERENCE_PRODUCTS", &reference_products),
            ("RUST_LOG", "info"),
        ],
        "/hello",
        tmp.path().join("reference.stderr"),
    );

    let bearer = format!("Authorization: Bearer {token}");
    let routes = [
        Route {
            label: "GET /api/v1/products/{id} (cache hit)",
            reference: format!("/api/v1/products/{product_id}"),
            generated: format!("/api/v1/products/{product_id}"),
            headers: Vec::new(),
            goal: ">= 1.0x, p99 <= 5 ms",
        },
        Route {
            label: "GET /api/v1/products (first page)",
            reference: "/api/v1/products".into(),
            generated: "/api/v1/products".into(),
            headers: Vec::new(),
            goal: ">= 0.5x",
        },
        Route {
            label: "GET /auth/me",
            reference: "/auth/me".into(),
            generated: "/auth/me".into(),
            headers: vec![bearer.clone()],
            goal: ">= 1.0x",
        },
        Route {
            label: "hello world (generated: /health/live)",
            reference: "/hello".into(),
            generated: "/health/live".into(),
            headers: Vec::new(),
            goal: "(for scale)",
        },
    ];
    check_answers(&routes, &reference, &generated, &token);

    settle();
    println!(
        "wrk -t{} -c{} --latency, {seconds} s per route and service after {} s of warm-up, \
         in {ROUNDS} runs each, alternating (p99: the median run's; worst: the highest run's); \
         release builds on 127.0.0.1; RUST_LOG=info, JSON logs to /dev/null",
        wrk::THREADS,
        wrk::CONNECTIONS,
        warm_up.as_secs()
    );
    println!(
        "{:<40} {:>9} {:>6} {:>6} {:>6} | {:>9} {:>6} {:>6} {:>6} | {:>6}  goal",
        "route",
        "ref req/s",
        "p99 ms",
        "worst",
        "cpu us",
        "gen req/s",
        "p99 ms",
        "worst",
        "cpu us",
        "ratio"
    );
    let mut results = Vec::new();
    for route in &routes {
        let run = |service: &Service, path: &str, duration| {
            let url = format!("{}{path}", service.base);
            measure(service, &url, &route.headers, duration)
        };
        run(&reference, &route.reference, warm_up);
        run(&generated, &route.generated, warm_up);
        let slice = (duration / ROUNDS).max(Duration::from_secs(1));
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.push(run(&reference, &route.reference, slice));
            theirs.push(run(&generated, &route.generated, slice));
        }
        let (ours, theirs) = (Measured::combine(&ours), Measured::combine(&theirs));
        println!(
            "{:<40} {:>9.0} {:>6.2} {:>6.2} {:>6.1} | {:>9.0} {:>6.2} {:>6.2} {:>6.1} | {:>5.2}x  {}",
            route.label,
            ours.load.rps,
            ours.load.p99_ms,
            ours.worst_p99_ms,
            micros(ours.cpu_per_request),
            theirs.load.rps,
            theirs.load.p99_ms,
            theirs.worst_p99_ms,
            micros(theirs.cpu_per_request),
            theirs.load.rps / ours.load.rps,
            route.goal,
        );
        for (who, measured) in [("reference", ours), ("generated", theirs)] {
            if measured.load.non_2xx + measured.load.socket_errors > 0 {
                println!(
                    "  warning: {who}: {} non-2xx answers and {} socket errors in {} requests",
                    measured.load.non_2xx, measured.load.socket_errors, measured.load.requests
                );
            }
        }
        results.push(ours);
    }
    reference.stop();
    generated.stop();

    // The last route is the hello world.
    let reference_hello = results[routes.len() - 1];
    refusal_cost(
        start_generated("1", "refusals"),
        &product_id,
        &redis,
        duration,
        warm_up,
        reference_hello,
    );
    drop(database);
}

/// Registers the administrator, signs in and creates a product; reads it
/// twice, so the cache holds it. Returns the access token, the product's id
/// and its JSON.
fn sign_in_and_create_a_product(service: &Service) -> (String, String, String) {
    let url = |path: &str| format!("{}{path}", service.base);
    let credentials = serde_json::json!({ "email": ADMIN_EMAIL, "password": "bench password 1" });
    let (status, body) = post(&url("/auth/register"), &credentials, None);
    assert_eq!(status, 201, "register: {body}");
    let (status, body) = post(&url("/auth/login"), &credentials, None);
    assert_eq!(status, 200, "login: {body}");
    let pair: serde_json::Value = serde_json::from_str(&body).expect("a token pair");
    let token = pair["access_token"].as_str().expect("a token").to_owned();
    let lamp = serde_json::json!({
        "name": "Lamp",
        "description": "A desk lamp, the benchmark's product.",
        "price_cents": 4500,
    });
    let (status, body) = post(&url("/api/v1/products"), &lamp, Some(&token));
    assert_eq!(status, 201, "create: {body}");
    let product: serde_json::Value = serde_json::from_str(&body).expect("a product");
    let id = product["id"].as_str().expect("an id").to_owned();
    (token, id, body)
}

/// Checks that each route answers 200 on both services before it is loaded,
/// and that the generated service answers the product from its cache.
fn check_answers(routes: &[Route], reference: &Service, generated: &Service, token: &str) {
    let bearer = format!("Bearer {token}");
    for route in routes {
        let headers: &[(&str, &str)] = if route.headers.is_empty() {
            &[]
        } else {
            &[("authorization", bearer.as_str())]
        };
        for (service, path) in [(reference, &route.reference), (generated, &route.generated)] {
            let (status, _, body) = get(&format!("{}{path}", service.base), headers);
            assert_eq!(status, 200, "GET {}{path}: {body}", service.base);
        }
    }
    let product = format!("{}{}", generated.base, routes[0].generated);
    let _ = get(&product, &[]);
    let (_, headers, _) = get(&product, &[]);
    assert_eq!(
        headers.get("x-cache").and_then(|v| v.to_str().ok()),
        Some("hit"),
        "the generated service answers the product from its cache"
    );
}

/// The CPU time of a request refused with 429, against `GET /health/live` of
/// the same process (see the module docs).
fn refusal_cost(
    generated: Service,
    product_id: &str,
    redis: &str,
    duration: Duration,
    warm_up: Duration,
    reference_hello: Measured,
) {
    let refused = format!("{}/api/v1/products/{product_id}", generated.base);
    let live = format!("{}/health/live", generated.base);
    let _ = get(&refused, &[]);
    let (status, _, body) = get(&refused, &[]);
    assert_eq!(status, 429, "over a limit of 1: {body}");
    let with_redis = |url: &str| {
        let redis_before = services::redis_cpu(redis);
        let measured = measure(&generated, url, &[], duration);
        let redis_used = services::redis_cpu(redis)
            .zip(redis_before)
            .map(|(after, before)| after.saturating_sub(before));
        (measured, redis_used)
    };
    settle();
    measure(&generated, &refused, &[], warm_up);
    measure(&generated, &live, &[], warm_up);
    let (refusal, refusal_redis) = with_redis(&refused);
    let (health, health_redis) = with_redis(&live);
    generated.stop();
    let per = |measured: &Measured, redis: Option<Duration>| {
        let redis = redis.map_or(0.0, |used| {
            micros(used) / measured.load.requests.max(1) as f64
        });
        (micros(measured.cpu_per_request), redis)
    };
    let (refusal_us, refusal_redis_us) = per(&refusal, refusal_redis);
    let (health_us, health_redis_us) = per(&health, health_redis);
    println!("cost of a 429 (generated, RATE_LIMIT_MAX=1; CPU per request, service + Redis):");
    println!(
        "  refused GET /api/v1/products/{{id}}: {:>7.1} us + {:>5.1} us Redis ({:.0} req/s, {} of {} answers not 2xx)",
        refusal_us, refusal_redis_us, refusal.load.rps, refusal.load.non_2xx, refusal.load.requests
    );
    println!(
        "  GET /health/live:                  {:>7.1} us + {:>5.1} us Redis ({:.0} req/s)",
        health_us, health_redis_us, health.load.rps
    );
    println!(
        "  reference GET /hello:              {:>7.1} us",
        micros(reference_hello.cpu_per_request)
    );
    println!(
        "  a 429 costs {:.2} /health/live requests ({:.2} with Redis's share); goal <= 2",
        refusal_us / health_us,
        (refusal_us + refusal_redis_us) / (health_us + health_redis_us)
    );
    println!(
        "  (Redis is shared: its figures include whatever else used it meanwhile; \
         /proc counts CPU in 10 ms ticks)"
    );
}

/// A machine busy for no more than this share of all its cores over a second
/// is quiet enough to measure on.
const QUIET_BUSY: f64 = 0.10;
/// How long [`settle`] waits for that at most.
const QUIET_AT_MOST: Duration = Duration::from_secs(60);

/// Waits for the machine to be quiet before measuring (see
/// [`wrk::wait_for_quiet`]), and says what it found.
fn settle() {
    let quiet = wrk::wait_for_quiet(QUIET_BUSY, QUIET_AT_MOST);
    if quiet.quiet {
        println!(
            "machine quiet after {:.0} s ({:.0} % busy over the last second)",
            quiet.waited.as_secs_f64(),
            quiet.busy * 100.0
        );
    } else {
        println!(
            "warning: the machine was still {:.0} % busy after {:.0} s of waiting: \
             figures below may be noisy",
            quiet.busy * 100.0,
            quiet.waited.as_secs_f64()
        );
    }
}

/// Nanoseconds since the Unix epoch, for key prefixes no earlier run used.
fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos())
}
