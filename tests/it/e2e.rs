//! End to end: generate a preset, then build it, lint it, run its own tests, start
//! its binary, talk to it over HTTP and stop it with SIGTERM. Every generated
//! project builds into one shared target directory so dependencies compile once.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{cargo, generated_target_dir, stanchion};

/// An HTTP client that returns error statuses instead of failing on them.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The running generated service; killed if the test fails before stopping it.
struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start(binary: &Path) -> Service {
    let port = free_port();
    let child = Command::new(binary)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("SHUTDOWN_GRACE_SECS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the generated binary starts");
    let service = Service {
        child,
        base: format!("http://127.0.0.1:{port}"),
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
fn stop(mut service: Service) -> String {
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
    let mut logs = String::new();
    for stream in [
        service
            .child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read>),
        service
            .child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        for line in BufReader::new(stream).lines() {
            logs.push_str(&line.unwrap());
            logs.push('\n');
        }
    }
    assert!(exit.success(), "exit after SIGTERM: {exit:?}\n{logs}");
    logs
}

/// Checks the base contract over HTTP, shared by every preset.
fn check_base_contract(service: &Service) {
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
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "problem field `{field}`: {body}");
    }
}

fn build_test_and_run(preset: &str, check: impl FnOnce(&Service)) {
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("e2e-{preset}");
    let project = tmp.path().join(&name);
    stanchion()
        .args(["new", &name, "--preset", preset, "--yes", "--dir"])
        .arg(&project)
        .assert()
        .success();
    cargo(&project, &["fmt", "--check"]);
    cargo(
        &project,
        &["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"],
    );
    cargo(&project, &["test", "--quiet"]);
    cargo(&project, &["build", "--quiet"]);
    let service = start(&generated_target_dir().join("debug").join(&name));
    check_base_contract(&service);
    check(&service);
    let logs = stop(service);
    let line = logs
        .lines()
        .find(|l| l.contains("e2e-missing-1"))
        .unwrap_or_else(|| panic!("the request id appears in the logs:\n{logs}"));
    let json: serde_json::Value = serde_json::from_str(line).expect("JSON log lines");
    assert!(
        json.get("timestamp").is_some() && json.get("level").is_some(),
        "{line}"
    );
}

#[test]
fn minimal_preset_builds_passes_its_tests_and_serves() {
    build_test_and_run("minimal", |_| {});
}
