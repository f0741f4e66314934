//! Horizontally scaled, for real: three instances of the generated `full`
//! preset behind nginx on loopback, sharing one PostgreSQL database and one
//! Redis, with `TRUSTED_PROXIES` naming the balancer. Shows that one rate limit
//! holds across the instances, keyed by the client address nginx forwards;
//! that a token one instance issued is accepted by the others; that a product
//! updated through one instance is read fresh through the others; and that a
//! rolling restart under steady load — SIGTERM to each instance in turn, which
//! turns its readiness to 503 and drains its connections — costs the balancer's
//! clients no failed request. Prints the load it held.
//!
//! nginx comes from Debian's package (`.ci/run` installs it); the test starts
//! its own nginx with a configuration in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::e2e::{
    E2E_ADMIN_EMAIL, E2E_JWT_SECRET, ScratchDatabase, Service, agent, call, call_as, call_with,
    free_port, fresh_prefix, start_on, stop,
};
use crate::support::{cargo, generated_target_dir, redis_url, stanchion};

const INSTANCES: usize = 3;
/// The general limit: small enough to exhaust through the balancer quickly.
const LIMIT: u32 = 30;

/// nginx in front of the instances' ports, stopped when dropped.
struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstreams: &[u16]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("    server 127.0.0.1:{p} max_fails=0;\n"))
            .collect();
        let prefix = dir.path().display();
        // Retry an idempotent request on the next instance when one refuses the
        // connection, drops it or answers 502/503 (an instance shutting down).
        let config = format!(
            "worker_processes 1;\n\
             pid {prefix}/nginx.pid;\n\
             error_log {prefix}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {prefix}/body;\n\
               proxy_temp_path {prefix}/proxy;\n\
               fastcgi_temp_path {prefix}/fastcgi;\n\
               uwsgi_temp_path {prefix}/uwsgi;\n\
               scgi_temp_path {prefix}/scgi;\n\
               upstream app {{\n{servers}    keepalive 16;\n  }}\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 location / {{\n\
                   proxy_pass http://app;\n\
                   proxy_http_version 1.1;\n\
                   proxy_set_header Connection \"\";\n\
                   proxy_set_header Host $host;\n\
                   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                   proxy_next_upstream error timeout http_502 http_503;\n\
                   proxy_next_upstream_tries 3;\n\
                   proxy_connect_timeout 1s;\n\
                 }}\n\
               }}\n\
             }}\n"
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(nginx_binary())
            .args(["-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts (Debian package `nginx`)");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while agent().get(format!("{base}/health/live")).call().is_err() {
            assert!(Instant::now() < deadline, "nginx never answered");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            base,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    /// A fast shutdown (`TERM`), in which the master stops its worker first:
    /// a `KILL` of the master alone leaves the worker running and listening.
    /// `KILL` only if it has not exited within 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("nginx is installed (Debian package `nginx`; .ci/run installs it)")
}

/// Generates and builds the `full` preset; its binary and project directory.
fn build(dir: &Path) -> (PathBuf, PathBuf) {
    let name = "balanced";
    let project = dir.join(name);
    stanchion()
        .args(["new", name, "--preset", "full", "--yes", "--dir"])
        .arg(&project)
        .assert()
        .success();
    cargo(&project, &["build", "--locked", "--quiet"]);
    (generated_target_dir().join("debug").join(name), project)
}

#[test]
fn three_instances_behind_nginx_share_limits_tokens_and_data_and_restart_without_a_failed_request()
{
    let tmp = tempfile::tempdir().unwrap();
    let (binary, project) = build(tmp.path());
    let database = ScratchDatabase::create("stanchion_e2e_balanced");
    let redis = redis_url();
    let max = LIMIT.to_string();
    let limit_prefix = fresh_prefix("balanced-limit");
    let cache_prefix = fresh_prefix("balanced-cache");
    let env: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", &database.url),
        ("REDIS_URL", &redis),
        ("JWT_SECRET", E2E_JWT_SECRET),
        ("AUTH_ADMIN_EMAILS", E2E_ADMIN_EMAIL),
        ("RATE_LIMIT_MAX", &max),
        // Every decision asks Redis: the shared limit is exact.
        ("RATE_LIMIT_SYNC_MS", "0"),
        ("RATE_LIMIT_KEY_PREFIX", &limit_prefix),
        ("CACHE_KEY_PREFIX", &cache_prefix),
        // The balancer, and nothing else, is believed about the client.
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ];
    let output = Command::new(&binary)
        .arg("migrate")
        .current_dir(&project)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ports: Vec<u16> = (0..INSTANCES).map(|_| free_port()).collect();
    let mut instances: Vec<Option<Service>> = ports
        .iter()
        .map(|&port| Some(start_on(port, &binary, &project, &env)))
        .collect();
    let nginx = Nginx::start(&ports);
    let lb = |path: &str| format!("{}{path}", nginx.base);

    // One limit across the instances, per forwarded client address: nginx
    // appends the address it saw to X-Forwarded-For, and the instances believe
    // the entries their trusted balancer vouches for.
    let probe = lb("/api/v1/products");
    let as_client =
        |client: &str| call_with("GET", &probe, None, None, &[("x-forwarded-for", client)]);
    let admitted = (0..LIMIT + 10)
        .filter(|_| as_client("203.0.113.7").0 == 200)
        .count();
    assert_eq!(
        admitted, LIMIT as usize,
        "one limit, counted across {INSTANCES} instances"
    );
    let (status, headers, _) = as_client("203.0.113.7");
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(
        as_client("203.0.113.8").0,
        200,
        "another client has its own limit"
    );

    // A token issued by one instance is accepted by every other.
    let credentials =
        serde_json::json!({ "email": E2E_ADMIN_EMAIL, "password": "balanced password 1" });
    let (status, _, _) = call("POST", &lb("/auth/register"), Some(credentials.clone()));
    assert_eq!(status, 201);
    let (status, _, pair) = call("POST", &lb("/auth/login"), Some(credentials));
    assert_eq!(status, 200, "{pair}");
    let token = pair["access_token"].as_str().unwrap().to_owned();
    for service in instances.iter().flatten() {
        let (status, _, me) = call_as(
            "GET",
            &format!("{}/auth/me", service.base),
            None,
            Some(&token),
        );
        assert_eq!(status, 200, "{}: {me}", service.base);
    }

    // A product updated through one instance is read fresh through the others,
    // after each of them has cached it.
    let bases: Vec<String> = instances.iter().flatten().map(|s| s.base.clone()).collect();
    let product = serde_json::json!({ "name": "Lamp", "price_cents": 4500 });
    let (status, _, created) = call_as(
        "POST",
        &format!("{}/api/v1/products", bases[0]),
        Some(product),
        Some(&token),
    );
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/v1/products/{}", created["id"].as_str().unwrap());
    for base in &bases {
        let (status, _, read) = call("GET", &format!("{base}{path}"), None);
        assert_eq!((status, read["price_cents"].as_i64()), (200, Some(4500)));
    }
    let (status, headers, _) = call("GET", &format!("{}{path}", bases[1]), None);
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, updated) = call_with(
        "PATCH",
        &format!("{}{path}", bases[1]),
        Some(serde_json::json!({ "price_cents": 3900 })),
        Some(&token),
        &[("if-match", &etag)],
    );
    assert_eq!(status, 200, "{updated}");
    for base in [&bases[0], &bases[2]] {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let (_, _, read) = call("GET", &format!("{base}{path}"), None);
            if read["price_cents"] == 3900 {
                break;
            }
            assert!(Instant::now() < deadline, "{base} still serves {read}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // A rolling restart under steady load: four clients read through nginx,
    // each as a client address of its own (far below the limit per address),
    // while each instance in turn gets SIGTERM and comes back.
    let stop_load = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let (stop_load, done, failed) = (stop_load.clone(), done.clone(), failed.clone());
            let url = lb("/health/live");
            std::thread::spawn(move || {
                let http = agent();
                let mut errors = Vec::new();
                while !stop_load.load(Ordering::Relaxed) {
                    match http
                        .get(&url)
                        .header("x-forwarded-for", format!("198.51.100.{n}"))
                        .call()
                    {
                        Ok(r) if r.status() == 200 => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        other => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            errors.push(format!("{:?}", other.map(|r| r.status())));
                        }
                    }
                }
                errors
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    for (i, &port) in ports.iter().enumerate() {
        // SIGTERM; `stop` checks the instance drained and exited 0.
        stop(instances[i].take().expect("running"));
        instances[i] = Some(start_on(port, &binary, &project, &env));
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(500));
    stop_load.store(true, Ordering::Relaxed);
    let errors: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let (done, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rolling restart of {INSTANCES} instances behind nginx: {done} requests in {seconds:.1} s \
         ({:.0} req/s from 4 clients), {failed} failed",
        done as f64 / seconds
    );
    assert_eq!(
        failed, 0,
        "failed requests during the rolling restart: {errors:?}"
    );
    assert!(done > 100, "the load ran: {done}");
    for service in instances.into_iter().flatten() {
        stop(service);
    }
    // Stopped, nginx leaves nothing behind that still listens on its port.
    let base = nginx.base.clone();
    drop(nginx);
    assert!(
        agent().get(format!("{base}/health/live")).call().is_err(),
        "something still answers on nginx's port after it stopped"
    );
}
