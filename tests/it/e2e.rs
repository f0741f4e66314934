//! End to end: generate a preset, then build it, lint it, run its own tests, start
//! its binary, talk to it over HTTP and stop it with SIGTERM. Every generated
//! project builds into one shared target directory so dependencies compile once.
//!
//! The PostgreSQL projects run against the machine's server (`DATABASE_URL`, or
//! 127.0.0.1:5432 as `.ci/run` starts it): their own tests create and drop their
//! databases, and each running binary gets a database made for it here and
//! dropped afterwards. The Redis-backed project uses the machine's Redis
//! (`REDIS_URL`, or 127.0.0.1:6379) under key prefixes of its own; its own tests
//! also start and kill private `redis-server` processes.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{cargo_with_env, generated_target_dir, postgres_url, redis_url, stanchion};

/// An HTTP client that returns error statuses instead of failing on them.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The running generated service; killed if the test fails before stopping it.
pub(crate) struct Service {
    child: Child,
    pub(crate) base: String,
    /// Threads draining stdout and stderr as the service writes: a pipe nobody
    /// reads fills up, and then every log line — every request — blocks.
    drains: Vec<std::thread::JoinHandle<String>>,
    /// What the service has written to stdout so far.
    stdout: Arc<Mutex<String>>,
}

impl Service {
    /// Waits up to `within` for a line of stdout that contains every one of
    /// `needles`, and returns it.
    pub(crate) fn wait_for_line(&self, needles: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .stdout
                .lock()
                .unwrap()
                .lines()
                .find(|line| needles.iter().all(|needle| line.contains(needle)))
                .map(str::to_owned);
            if let Some(line) = found {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no line with {needles:?} on stdout within {within:?}:\n{}",
                self.stdout.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Reads `stream` to its end on a thread of its own, keeping what it read in
/// `seen` as it goes.
fn drain(
    stream: impl std::io::Read + Send + 'static,
    seen: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut seen = seen.lock().unwrap();
            seen.push_str(&line);
            seen.push('\n');
        }
        std::mem::take(&mut *seen.lock().unwrap())
    })
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Starts `binary` in `project` (where a SQLite file would go) with `envs`.
pub(crate) fn start(binary: &Path, project: &Path, envs: &[(&str, &str)]) -> Service {
    start_on(free_port(), binary, project, envs)
}

/// [`start`] on `port`, once `/health/ready` answers 200.
pub(crate) fn start_on(port: u16, binary: &Path, project: &Path, envs: &[(&str, &str)]) -> Service {
    let mut child = Command::new(binary)
        .current_dir(project)
        .envs(envs.iter().copied())
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("SHUTDOWN_GRACE_SECS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the generated binary starts");
    let stdout = Arc::new(Mutex::new(String::new()));
    let drains = vec![
        drain(
            child.stdout.take().expect("piped stdout"),
            Arc::clone(&stdout),
        ),
        drain(child.stderr.take().expect("piped stderr"), Arc::default()),
    ];
    let service = Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
        drains,
        stdout,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = agent().get(format!("{}/health/ready", service.base)).call() {
            if response.status() == 200 {
                return service;
            }
        }
        assert!(
            Instant::now() < deadline,
            "/health/ready never answered 200"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends SIGTERM and waits for a clean exit; returns everything it logged.
pub(crate) fn stop(mut service: Service) -> String {
    let pid = service.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = service.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let logs: String = std::mem::take(&mut service.drains)
        .into_iter()
        .map(|drain| drain.join().expect("the drain thread"))
        .collect();
    assert!(exit.success(), "exit after SIGTERM: {exit:?}\n{logs}");
    logs
}

/// The access log line of the request that carried `request_id`, on stdout
/// while the service runs (an idle worker writes the lines it holds): its
/// fields at the top level, its span (with the id) in `spans`.
fn check_access_line(service: &Service, request_id: &str) {
    let line = service.wait_for_line(
        &[request_id, "finished processing request"],
        Duration::from_secs(5),
    );
    let json: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
    assert!(json["timestamp"].is_string(), "{line}");
    assert_eq!(json["level"], "INFO", "{line}");
    assert_eq!(json["message"], "finished processing request", "{line}");
    assert_eq!(json["status"], 404, "{line}");
    assert!(
        json["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert_eq!(json["spans"][0]["request_id"], request_id, "{line}");
}

/// Checks the base contract over HTTP, shared by every preset.
pub(crate) fn check_base_contract(service: &Service) {
    let http = agent();
    let mut live = http
        .get(format!("{}/health/live", service.base))
        .call()
        .unwrap();
    assert_eq!(live.status(), 200);
    let id = live
        .headers()
        .get("x-request-id")
        .expect("x-request-id on every response");
    assert!(!id.is_empty());
    let _ = live.body_mut().read_to_string().unwrap();

    let ready = http
        .get(format!("{}/health/ready", service.base))
        .header("x-request-id", "e2e-ready-1")
        .call()
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["x-request-id"], "e2e-ready-1", "propagated");

    let mut missing = http
        .get(format!("{}/no/such/route", service.base))
        .header("x-request-id", "e2e-missing-1")
        .call()
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value =
        serde_json::from_str(&missing.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["status"], 404, "{body}");
    assert_eq!(body["request_id"], "e2e-missing-1", "{body}");
    check_access_line(service, "e2e-missing-1");
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "problem field `{field}`: {body}");
    }
}

/// A project to generate and run: its name, `stanchion new` arguments, and the
/// environment of its tests and of its binary.
struct Case<'a> {
    name: &'a str,
    args: &'a [&'a str],
    test_env: &'a [(&'a str, &'a str)],
    run_env: &'a [(&'a str, &'a str)],
    /// Whether the binary has a `migrate` command to try before serving.
    migrate: bool,
}

/// Builds, lints and tests the project of `case`, then runs it through `check`
/// and the base contract; returns everything it logged.
fn build_test_and_run(case: &Case<'_>, check: impl FnOnce(&Service)) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let name = case.name;
    let project = tmp.path().join(name);
    stanchion()
        .args(["new", name, "--yes"])
        .args(case.args)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    let cargo = |args: &[&str]| cargo_with_env(&project, args, case.test_env);
    cargo(&["fmt", "--check"]);
    // `--locked`: the Cargo.lock `new` wrote is the one that is built.
    cargo(&[
        "clippy",
        "--locked",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]);
    cargo(&["test", "--locked", "--quiet"]);
    cargo(&["build", "--locked", "--quiet"]);
    let binary = generated_target_dir().join("debug").join(name);
    if case.migrate {
        let output = Command::new(&binary)
            .arg("migrate")
            .current_dir(&project)
            .envs(case.run_env.iter().copied())
            .output()
            .unwrap();
        let logs = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "`migrate` failed:\n{logs}");
        assert!(logs.contains("database schema is up to date"), "{logs}");
    }
    let service = start(&binary, &project, case.run_env);
    check_base_contract(&service);
    check(&service);
    if case.name == "e2e-minimal" {
        check_load_example(&project, &service);
    }
    stop(service)
}

#[test]
fn minimal_preset_builds_passes_its_tests_and_serves() {
    let case = Case {
        name: "e2e-minimal",
        args: &["--preset", "minimal"],
        test_env: &[],
        run_env: &[],
        migrate: false,
    };
    build_test_and_run(&case, |_| {});
}

/// The project's own load generator (`examples/load.rs`), briefly, against
/// its running binary: every request answered 200, and figures printed.
fn check_load_example(project: &Path, service: &Service) {
    let url = format!("{}/health/live", service.base);
    let output = cargo_with_env(
        project,
        &[
            "run",
            "--locked",
            "--quiet",
            "--example",
            "load",
            "--",
            &url,
            "--connections",
            "4",
            "--seconds",
            "2",
        ],
        &[],
    );
    let report = String::from_utf8_lossy(&output.stdout);
    println!("examples/load.rs (debug build, 4 connections):\n{report}");
    assert!(
        report.contains(" req/s") && report.contains("p99"),
        "{report}"
    );
    let answers = report
        .lines()
        .find(|l| l.starts_with("answers: "))
        .expect("answers line");
    assert!(
        answers.starts_with("answers: 200: ") && !answers.contains(','),
        "{report}"
    );
}

/// Sends `body` (JSON) with `method` and returns the status, headers and body.
pub(crate) fn call(
    method: &str,
    url: &str,
    body: Option<serde_json::Value>,
) -> (u16, ureq::http::HeaderMap, serde_json::Value) {
    call_as(method, url, body, None)
}

/// `request` with an `Authorization` header when there is one.
fn authorized<B>(
    request: ureq::RequestBuilder<B>,
    authorization: Option<&str>,
) -> ureq::RequestBuilder<B> {
    match authorization {
        Some(value) => request.header("authorization", value),
        None => request,
    }
}

/// [`call`] with `token` as the bearer token, when given.
pub(crate) fn call_as(
    method: &str,
    url: &str,
    body: Option<serde_json::Value>,
    token: Option<&str>,
) -> (u16, ureq::http::HeaderMap, serde_json::Value) {
    call_with(method, url, body, token, &[])
}

/// [`call_as`] with extra request `headers`.
pub(crate) fn call_with(
    method: &str,
    url: &str,
    body: Option<serde_json::Value>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, ureq::http::HeaderMap, serde_json::Value) {
    let http = agent();
    let bearer = token.map(|token| format!("Bearer {token}"));
    let bearer = bearer.as_deref();
    fn with<B>(
        mut request: ureq::RequestBuilder<B>,
        headers: &[(&str, &str)],
        bearer: Option<&str>,
    ) -> ureq::RequestBuilder<B> {
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        authorized(request, bearer)
    }
    let response = match (method, body) {
        ("GET", None) => with(http.get(url), headers, bearer).call(),
        ("DELETE", None) => with(http.delete(url), headers, bearer).call(),
        ("POST", Some(body)) => with(http.post(url), headers, bearer)
            .header("content-type", "application/json")
            .send(body.to_string()),
        ("PUT", Some(body)) => with(http.put(url), headers, bearer)
            .header("content-type", "application/json")
            .send(body.to_string()),
        ("PATCH", Some(body)) => with(http.patch(url), headers, bearer)
            .header("content-type", "application/json")
            .send(body.to_string()),
        other => panic!("unsupported request {other:?}"),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().unwrap();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    };
    (status, headers, body)
}

/// Walks the products flow over HTTP: create (and replay a create by its
/// `Idempotency-Key`), list with a cursor, get, update and delete with
/// `If-Match` (and a stale one refused with 412).
fn check_products(service: &Service) {
    check_products_as(service, None);
}

/// [`check_products`] with `token` as the bearer token of every request.
pub(crate) fn check_products_as(service: &Service, token: Option<&str>) {
    let call = |method: &str, url: &str, body| call_as(method, url, body, token);
    let products = format!("{}/api/v1/products", service.base);
    let (status, _, empty) = call("GET", &products, None);
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        empty,
        serde_json::json!({ "items": [], "next_cursor": null })
    );

    let mut ids = Vec::new();
    for (name, price) in [("Lamp", 4500), ("Chair", 12000), ("Desk", 30000)] {
        let body = serde_json::json!({ "name": name, "price_cents": price });
        let key = [("idempotency-key", name)];
        let post = || call_with("POST", &products, Some(body.clone()), token, &key);
        let (status, headers, product) = post();
        assert_eq!(status, 201, "{product}");
        let id = product["id"].as_str().unwrap().to_owned();
        assert_eq!(headers["location"], format!("/api/v1/products/{id}"));
        assert_eq!(product["name"], name);
        // A retry with the same key gets the same answer and creates nothing
        // (the list below finds three products).
        let (status, replayed_headers, replayed) = post();
        assert_eq!((status, &replayed), (201, &product));
        assert_eq!(replayed_headers["location"], headers["location"]);
        assert_eq!(replayed_headers["idempotent-replayed"], "true");
        ids.push(id);
    }

    let (status, _, first) = call("GET", &format!("{products}?limit=2"), None);
    assert_eq!(status, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (status, _, second) = call("GET", &format!("{products}?limit=2&cursor={cursor}"), None);
    assert_eq!(status, 200);
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids, "every product once, oldest first");

    let one = format!("{products}/{}", ids[1]);
    let (status, headers, chair) = call("GET", &one, None);
    assert_eq!((status, chair["name"].as_str()), (200, Some("Chair")));
    let etag = |headers: &ureq::http::HeaderMap| headers["etag"].to_str().unwrap().to_owned();
    let read = etag(&headers);
    let write = |method: &str, body, if_match: &str| {
        call_with(method, &one, body, token, &[("if-match", if_match)])
    };
    let body = serde_json::json!({ "price_cents": 9900 });
    let (status, headers, patched) = write("PATCH", Some(body.clone()), &read);
    assert_eq!((status, patched["price_cents"].as_i64()), (200, Some(9900)));
    // The ETag read before the PATCH is stale now: 412, nothing changes.
    let (status, _, stale) = write("PATCH", Some(body), &read);
    assert_eq!(status, 412, "{stale}");
    let body = serde_json::json!({ "name": "Armchair", "price_cents": 15000 });
    let (status, replaced_headers, replaced) = write("PUT", Some(body), &etag(&headers));
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], "Armchair");

    let body = serde_json::json!({ "name": "", "price_cents": -1 });
    let (status, headers, invalid) = call("POST", &products, Some(body));
    assert_eq!(status, 422);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2, "{invalid}");

    let (status, _, _) = write("DELETE", None, &etag(&replaced_headers));
    assert_eq!(status, 204);
    let (status, _, gone) = call("GET", &one, None);
    assert_eq!(status, 404, "{gone}");

    let (status, _, ready) = call("GET", &format!("{}/health/ready", service.base), None);
    assert_eq!(status, 200);
    assert_eq!(ready["checks"]["database"]["status"], "up", "{ready}");
}

/// A database of its own on the machine's PostgreSQL, dropped afterwards.
pub(crate) struct ScratchDatabase {
    name: String,
    pub(crate) url: String,
}

impl ScratchDatabase {
    pub(crate) fn create(name: &str) -> Self {
        let admin = postgres_url();
        let status = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &admin])
            // Separate commands: each runs outside a transaction, as they must.
            .arg("-c")
            .arg(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .arg("-c")
            .arg(format!("CREATE DATABASE \"{name}\""))
            .status()
            .expect("psql runs (PostgreSQL's client is installed)");
        assert!(status.success(), "cannot create database {name} on {admin}");
        let (server, _) = admin.rsplit_once('/').expect("a URL with a database");
        Self {
            name: name.to_owned(),
            url: format!("{server}/{name}"),
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &postgres_url(), "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .status();
    }
}

#[test]
fn postgres_project_with_a_read_replica_builds_passes_its_tests_and_serves_products() {
    let admin = postgres_url();
    let database = ScratchDatabase::create("stanchion_e2e_postgres");
    let case = Case {
        name: "e2e-postgres",
        args: &[
            "--preset",
            "minimal",
            "--set",
            "database=postgres",
            "--set",
            "read_replica=true",
        ],
        test_env: &[("DATABASE_URL", &admin)],
        // The "replica" is the same database: reads go through the reader pool.
        run_env: &[
            ("DATABASE_URL", &database.url),
            ("DATABASE_READ_URL", &database.url),
        ],
        migrate: true,
    };
    build_test_and_run(&case, |service| {
        check_products(service);
        let (_, _, ready) = call("GET", &format!("{}/health/ready", service.base), None);
        assert_eq!(
            ready["checks"]["database_reader"]["status"], "up",
            "{ready}"
        );
    });
}

#[test]
fn sqlite_project_builds_passes_its_tests_and_serves_products_from_a_file() {
    let case = Case {
        name: "e2e-sqlite",
        args: &["--preset", "minimal", "--set", "database=sqlite"],
        test_env: &[],
        // The default DATABASE_URL: data/e2e_sqlite.db in the project.
        run_env: &[],
        migrate: true,
    };
    build_test_and_run(&case, check_products);
}

/// Registers, logs in, reads the account from its token and refreshes over
/// HTTP; checks that a refresh token works once (a replay revokes its family),
/// that logout revokes, that `/.well-known/jwks.json` has nothing to publish
/// with a secret, and that product writes need a token with the `admin` role.
/// The account is [`E2E_ADMIN_EMAIL`], which the binary must list in
/// `AUTH_ADMIN_EMAILS`. Returns its access token.
pub(crate) fn check_auth(service: &Service) -> String {
    let url = |path: &str| format!("{}{path}", service.base);
    let credentials =
        serde_json::json!({ "email": " E2E@Example.com", "password": "e2e password 1" });
    let (status, _, account) = call("POST", &url("/auth/register"), Some(credentials.clone()));
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["email"], E2E_ADMIN_EMAIL);
    let (status, _, taken) = call("POST", &url("/auth/register"), Some(credentials.clone()));
    assert_eq!(status, 409, "{taken}");

    let (status, _, pair) = call("POST", &url("/auth/login"), Some(credentials));
    assert_eq!(status, 200, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let (status, _, me) = call_as("GET", &url("/auth/me"), None, Some(&access));
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me,
        serde_json::json!({ "id": account["id"], "email": E2E_ADMIN_EMAIL, "roles": ["admin"] })
    );
    let (status, headers, _) = call("GET", &url("/auth/me"), None);
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");

    // Single-use refresh tokens: the second use revokes the whole family.
    let refresh = |pair: &serde_json::Value| {
        let body = serde_json::json!({ "refresh_token": pair["refresh_token"] });
        call("POST", &url("/auth/refresh"), Some(body))
    };
    let (status, _, renewed) = refresh(&pair);
    assert_eq!(status, 200, "{renewed}");
    let (status, _, _) = call_as(
        "GET",
        &url("/auth/me"),
        None,
        renewed["access_token"].as_str(),
    );
    assert_eq!(status, 200);
    let (status, _, replayed) = refresh(&pair);
    assert_eq!(status, 401, "a replayed refresh token: {replayed}");
    let (status, _, revoked) = refresh(&renewed);
    assert_eq!(status, 401, "its family is revoked: {revoked}");

    // HS256: no public key to publish.
    let (status, headers, _) = call("GET", &url("/.well-known/jwks.json"), None);
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/problem+json");

    // Another account: not an administrator; its logout ends its session.
    let staff = serde_json::json!({ "email": "staff@example.com", "password": "e2e password 2" });
    let (status, _, _) = call("POST", &url("/auth/register"), Some(staff.clone()));
    assert_eq!(status, 201);
    let (status, _, staff_pair) = call("POST", &url("/auth/login"), Some(staff));
    assert_eq!(status, 200, "{staff_pair}");
    let product = serde_json::json!({ "name": "Not yours", "price_cents": 1 });
    let (status, headers, refused) = call_as(
        "POST",
        &url("/api/v1/products"),
        Some(product.clone()),
        staff_pair["access_token"].as_str(),
    );
    assert_eq!(status, 403, "writes need the admin role: {refused}");
    assert_eq!(headers["content-type"], "application/problem+json");
    let body = serde_json::json!({ "refresh_token": staff_pair["refresh_token"] });
    let (status, _, _) = call("POST", &url("/auth/logout"), Some(body));
    assert_eq!(status, 204);
    let (status, _, _) = refresh(&staff_pair);
    assert_eq!(status, 401, "logged out");

    let (status, _, refused) = call("POST", &url("/api/v1/products"), Some(product));
    assert_eq!(status, 401, "writes need a token: {refused}");
    access
}

/// A product read twice comes from the database, then from the cache; a write
/// sends the next read back to the database.
fn check_cache(service: &Service, token: &str) {
    let products = format!("{}/api/v1/products", service.base);
    let body = serde_json::json!({ "name": "Cached lamp", "price_cents": 100 });
    let (status, _, product) = call_as("POST", &products, Some(body), Some(token));
    assert_eq!(status, 201, "{product}");
    let one = format!("{products}/{}", product["id"].as_str().unwrap());
    let x_cache = |method: &str, body| {
        let (status, headers, _) = call_as(method, &one, body, Some(token));
        assert_eq!(status, 200);
        headers
            .get("x-cache")
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(x_cache("GET", None).as_deref(), Some("miss"));
    assert_eq!(x_cache("GET", None).as_deref(), Some("hit"));
    let patch = serde_json::json!({ "price_cents": 200 });
    assert_eq!(x_cache("PATCH", Some(patch)), None, "writes are not cached");
    assert_eq!(x_cache("GET", None).as_deref(), Some("miss"));
}

/// Requests to `/api/` are limited to `max` per window; health checks never are.
fn check_rate_limit(service: &Service, max: u32) {
    let url = format!("{}/api/v1/products?limit=1", service.base);
    // Whatever earlier checks spent, the limit is reached within `max` more.
    let mut refused = None;
    for _ in 0..=max {
        let (status, headers, body) = call("GET", &url, None);
        if status == 429 {
            refused = Some((headers, body));
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["ratelimit-limit"], max.to_string().as_str());
    }
    let (headers, body) = refused.expect("a 429 once the limit is reached");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["ratelimit-remaining"], "0");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    assert_eq!(body["status"], 429, "{body}");
    let (status, _, ready) = call("GET", &format!("{}/health/ready", service.base), None);
    assert_eq!(status, 200, "health checks are never limited: {ready}");
}

/// A key prefix no earlier run used, so counters and entries start empty.
pub(crate) fn fresh_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The signing secret of the authenticated projects' binaries.
pub(crate) const E2E_JWT_SECRET: &str = "the e2e tests' secret, 32 bytes or more";

/// The account [`check_auth`] registers, and the binaries' `AUTH_ADMIN_EMAILS`.
pub(crate) const E2E_ADMIN_EMAIL: &str = "e2e@example.com";

/// `RATE_LIMIT_MAX` of the running binaries: enough for the flows before the
/// rate limit check, small enough to reach quickly.
pub(crate) const E2E_RATE_LIMIT_MAX: u32 = 40;

/// `stanchion new NAME --preset local`, then the binary with no setting but the
/// administrator's email (the `.env` that `new` wrote holds a development JWT
/// secret) and no server of any kind: SQLite, in-memory cache and rate limits,
/// auth, metrics, tracing, OpenAPI and HTTP caching, all working.
#[test]
fn local_preset_serves_with_no_service_and_no_configuration() {
    let case = Case {
        name: "e2e-local",
        args: &["--preset", "local"],
        test_env: &[],
        run_env: &[("AUTH_ADMIN_EMAILS", E2E_ADMIN_EMAIL)],
        migrate: true,
    };
    build_test_and_run(&case, |service| {
        let products = format!("{}/api/v1/products", service.base);
        let (status, _, page) = call("GET", &products, None);
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["items"], serde_json::json!([]), "{page}");
        let token = check_auth(service);
        check_products_as(service, Some(&token));
        check_cache(service, &token);
        check_openapi(service);
        // The default limit, from the answers: 100 requests per 15 minutes.
        check_rate_limit(service, 100);
    });
}
/// `--preset full`: PostgreSQL with a read replica, Redis for the cache and the
/// rate limits, auth and the observability components, against the machine's
/// PostgreSQL and Redis.
#[test]
fn full_preset_builds_passes_its_tests_and_serves() {
    let admin = postgres_url();
    let redis = redis_url();
    let database = ScratchDatabase::create("stanchion_e2e_full");
    let max = E2E_RATE_LIMIT_MAX.to_string();
    let rate_limit_prefix = fresh_prefix("e2e-rate-limit");
    let cache_prefix = fresh_prefix("e2e-cache");
    let case = Case {
        name: "e2e-full",
        args: &["--preset", "full"],
        test_env: &[
            ("DATABASE_URL", &admin),
            ("REDIS_URL", &redis),
            ("JWT_SECRET", E2E_JWT_SECRET),
        ],
        run_env: &[
            ("DATABASE_URL", &database.url),
            ("DATABASE_READ_URL", &database.url),
            ("REDIS_URL", &redis),
            ("JWT_SECRET", E2E_JWT_SECRET),
            ("AUTH_ADMIN_EMAILS", E2E_ADMIN_EMAIL),
            ("RATE_LIMIT_MAX", &max),
            ("RATE_LIMIT_AUTH_MAX", "10"),
            ("RATE_LIMIT_KEY_PREFIX", &rate_limit_prefix),
            ("CACHE_KEY_PREFIX", &cache_prefix),
        ],
        migrate: true,
    };
    build_test_and_run(&case, |service| {
        let (_, _, ready) = call("GET", &format!("{}/health/ready", service.base), None);
        assert_eq!(ready["status"], "ok", "{ready}");
        for check in ["cache", "rate_limiter", "database", "database_reader"] {
            assert_eq!(ready["checks"][check]["status"], "up", "{ready}");
        }
        let token = check_auth(service);
        check_products_as(service, Some(&token));
        check_cache(service, &token);
        check_openapi(service);
        check_rate_limit(service, E2E_RATE_LIMIT_MAX);
    });
}
/// A stand-in OpenTelemetry collector: accepts OTLP/HTTP posts on 127.0.0.1 and
/// keeps their bodies.
struct Collector {
    endpoint: String,
    bodies: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (sender, bodies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let sender = sender.clone();
                std::thread::spawn(move || Self::serve(stream, &sender));
            }
        });
        Self { endpoint, bodies }
    }

    /// Answers each request on `stream` with 200 and sends its body on.
    fn serve(stream: std::net::TcpStream, bodies: &std::sync::mpsc::Sender<Vec<u8>>) {
        use std::io::{Read, Write};
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut length = 0;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let _ = bodies.send(body);
            let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
            if writer.write_all(answer).is_err() {
                return;
            }
        }
    }

    /// Every body received within `wait`.
    fn received(&self, wait: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + wait;
        let mut bodies = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.bodies.recv_timeout(left) {
                Ok(body) => bodies.push(body),
                Err(_) => break,
            }
        }
        bodies
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The four observability components on SQLite: metrics on a port of their
/// own, traces exported to a collector (and flushed at shutdown), the OpenAPI
/// document and reference page, and HTTP caching of products.
#[test]
fn observability_project_builds_passes_its_tests_and_serves_metrics_traces_docs_and_etags() {
    let collector = Collector::start();
    let metrics_port = free_port().to_string();
    let case = Case {
        name: "e2e-observability",
        args: &[
            "--preset",
            "minimal",
            "--set",
            "metrics=true",
            "--set",
            "tracing=true",
            "--set",
            "openapi=true",
            "--set",
            "http_cache=true",
            "--set",
            "database=sqlite",
        ],
        test_env: &[],
        run_env: &[
            ("METRICS_PORT", &metrics_port),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint),
            ("OTEL_SERVICE_NAME", "e2e-observed"),
        ],
        migrate: true,
    };
    let logs = build_test_and_run(&case, |service| {
        check_products(service);
        check_http_cache(service);
        check_openapi(service);
        let (status, _, _) = call("GET", &format!("{}/health/live", service.base), None);
        assert_eq!(status, 200);
        let traced = agent()
            .get(format!("{}/health/ready", service.base))
            .header("x-request-id", "e2e-traced-1")
            .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
            .call()
            .unwrap();
        assert_eq!(traced.status(), 200);
        check_metrics(service, &metrics_port);
    });

    // The trace id reaches the logs of the request that carried it.
    let line = logs
        .lines()
        .find(|l| l.contains("e2e-traced-1"))
        .unwrap_or_else(|| panic!("the traced request is logged:\n{logs}"));
    assert!(
        line.contains(&format!(r#""trace_id":"{TRACE_ID}""#)),
        "{line}"
    );

    // The spans were exported; the last ones when SIGTERM flushed the queue.
    let exported = collector.received(Duration::from_secs(10)).concat();
    let trace_id: Vec<u8> = (0..TRACE_ID.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&TRACE_ID[i..i + 2], 16).unwrap())
        .collect();
    assert!(
        exported.windows(trace_id.len()).any(|w| w == trace_id),
        "a span of the caller's trace reached the collector"
    );
    let contains = |text: &str| exported.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(
        contains("e2e-observed"),
        "OTEL_SERVICE_NAME names the service"
    );
    assert!(
        contains("GET /api/v1/products/{id}"),
        "spans are named by route"
    );
}

/// `/metrics` on the metrics port after the traffic of the other checks; the
/// main port does not serve it.
fn check_metrics(service: &Service, metrics_port: &str) {
    let (status, _, _) = call("GET", &format!("{}/metrics", service.base), None);
    assert_eq!(status, 404, "/metrics moved to METRICS_PORT");
    let mut response = agent()
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.body_mut().read_to_string().unwrap();
    for expected in [
        // 3 products and their 3 replays (`Idempotency-Key`), then 1 more.
        r#"http_requests_total{method="POST",route="/api/v1/products",status="201"} 7"#,
        r#"http_requests_total{method="GET",route="/api/v1/products/{id}",status="304"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/health/live",status="200",le="0.005"}"#,
        r#"route="unmatched""#,
        "http_requests_in_flight",
        r#"db_pool_max_connections{pool="writer"} 20"#,
        r#"db_pool_connections{pool="writer",state="idle"}"#,
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(
        !text.lines().any(|l| l.contains("/api/v1/products/0")),
        "product ids never become labels"
    );
}

/// ETag and 304 on a product, and a new ETag once it changes.
fn check_http_cache(service: &Service) {
    let products = format!("{}/api/v1/products", service.base);
    let body = serde_json::json!({ "name": "Cached lamp", "price_cents": 100 });
    let (status, _, created) = call("POST", &products, Some(body));
    assert_eq!(status, 201, "{created}");
    let one = format!("{products}/{}", created["id"].as_str().unwrap());
    let (status, headers, _) = call("GET", &one, None);
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let revalidated = agent()
        .get(&one)
        .header("if-none-match", &etag)
        .call()
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    let (status, _, _) = call(
        "PATCH",
        &one,
        Some(serde_json::json!({ "price_cents": 200 })),
    );
    assert_eq!(status, 200);
    let changed = agent()
        .get(&one)
        .header("if-none-match", &etag)
        .call()
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
}

/// The OpenAPI document lists every route; the reference page serves.
fn check_openapi(service: &Service) {
    let (status, headers, document) = call("GET", &format!("{}/openapi.json", service.base), None);
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{document}"
    );
    for path in [
        "/health/live",
        "/health/ready",
        "/api/v1/products",
        "/api/v1/products/{id}",
    ] {
        assert!(document["paths"][path].is_object(), "{path} documented");
    }
    assert!(document["components"]["schemas"]["Product"].is_object());
    let mut docs = agent()
        .get(format!("{}/docs", service.base))
        .call()
        .unwrap();
    assert_eq!(docs.status(), 200);
    let page = docs.body_mut().read_to_string().unwrap();
    assert!(page.contains("<script"), "{page}");
    let paths: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    check_docs_in_a_browser(service, &paths);
}

/// Opens `/docs` in headless Chromium with every host but 127.0.0.1 unreachable,
/// lets its scripts run, and checks that the rendered page lists an operation
/// for each of `paths` and that the page's `Content-Security-Policy` blocked
/// nothing: the page works with no network and loads nothing from elsewhere.
fn check_docs_in_a_browser(service: &Service, paths: &[&str]) {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium renders /docs: install Debian's `chromium` package");
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("{}/docs/", service.base))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    for path in paths {
        assert!(
            dom.contains(&format!(
                r#"class="opblock-summary-path" data-path="{path}""#
            )),
            "`{path}` is not listed on the rendered /docs page:\n{dom}\n{log}"
        );
    }
    assert!(
        !log.contains("Content Security Policy"),
        "the page broke its own Content-Security-Policy:\n{log}"
    );
}
