//! The two services under load: building them, the database and Redis they
//! use, starting and stopping them, and talking to them over HTTP.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo build --release` of the package at `manifest` into `target_dir`;
/// returns how long it took.
pub(crate) fn build_release(manifest: &Path, target_dir: &Path, locked: bool) -> Duration {
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .env("CARGO_TERM_COLOR", "never");
    if locked {
        command.arg("--locked");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "`cargo build --release` of {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    started.elapsed()
}

/// Makes `to` hold the files of `from`: writes those that are new or differ
/// and deletes those `from` does not have (but `Cargo.lock`, which cargo wrote
/// there and which keeps the dependencies of the last build), leaving unchanged
/// files (and their modification times) alone.
pub(crate) fn sync(from: &Path, to: &Path) {
    let files = |root: &Path| -> Vec<PathBuf> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| entry.path().strip_prefix(root).unwrap().to_path_buf())
            .collect()
    };
    let wanted = files(from);
    if to.exists() {
        let stale = files(to);
        let stale = stale
            .iter()
            .filter(|path| !wanted.contains(path) && path.as_os_str() != "Cargo.lock");
        for stale in stale {
            std::fs::remove_file(to.join(stale)).expect("a stale file is removed");
        }
    }
    for path in &wanted {
        let content = std::fs::read(from.join(path)).expect("a generated file");
        let target = to.join(path);
        if std::fs::read(&target).ok().as_ref() != Some(&content) {
            std::fs::create_dir_all(target.parent().unwrap()).expect("a directory");
            std::fs::write(&target, content).expect("a file is written");
        }
    }
}

/// A database of its own on the machine's PostgreSQL, dropped afterwards.
pub(crate) struct ScratchDatabase {
    admin: String,
    name: String,
    pub(crate) url: String,
}

impl ScratchDatabase {
    /// Creates database `name` through `admin`, a URL of a user who may.
    pub(crate) fn create(admin: &str, name: &str) -> Self {
        let status = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", admin])
            // No NOTICE that the database to drop first does not exist.
            .env("PGOPTIONS", "--client-min-messages=warning")
            .arg("-c")
            .arg(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .arg("-c")
            .arg(format!("CREATE DATABASE \"{name}\""))
            .status()
            .expect("psql runs (PostgreSQL's client is installed)");
        assert!(status.success(), "cannot create database {name} on {admin}");
        let (server, _) = admin.rsplit_once('/').expect("a URL with a database");
        Self {
            admin: admin.to_owned(),
            name: name.to_owned(),
            url: format!("{server}/{name}"),
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &self.admin, "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .status();
    }
}

/// A running service; killed if the benchmark stops before [`Service::stop`].
pub(crate) struct Service {
    child: Child,
    pub(crate) base: String,
    stderr: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl Service {
    /// Starts `binary` on a free port of 127.0.0.1 with `envs`, and waits until
    /// `ready` (a path) answers 200. Its logs go to /dev/null — written, as in
    /// production, but read by nobody, so reading them costs this benchmark
    /// nothing — and its stderr to `stderr`, shown if it fails to start.
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        envs: &[(&str, &str)],
        ready: &str,
        stderr: PathBuf,
    ) -> Self {
        let port = free_port();
        let child = Command::new(binary)
            .current_dir(dir)
            .envs(envs.iter().copied())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("a file for stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        let mut service = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if get(&format!("{}{ready}", service.base), &[]).0 == 200 {
                return service;
            }
            let exited = service.child.try_wait().expect("wait works");
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "{} did not become ready ({exited:?}):\n{}",
                    binary.display(),
                    std::fs::read_to_string(&service.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process id, for its CPU time.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops it with SIGTERM (a kill after 10 s).
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// `GET url` with `headers`: the status, the headers and the body.
pub(crate) fn get(url: &str, headers: &[(&str, &str)]) -> (u16, ureq::http::HeaderMap, String) {
    let mut request = agent().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    match request.call() {
        Ok(mut response) => {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            (response.status().as_u16(), response.headers().clone(), body)
        }
        Err(_) => (0, ureq::http::HeaderMap::new(), String::new()),
    }
}

/// `POST url` with the JSON `body` (and a bearer `token`): status and body.
pub(crate) fn post(url: &str, body: &serde_json::Value, token: Option<&str>) -> (u16, String) {
    let mut request = agent().post(url).header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = request
        .send(body.to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (response.status().as_u16(), text)
}

/// The CPU seconds Redis at `url` has used, user and system (`INFO cpu`), if
/// `redis-cli` can ask it.
pub(crate) fn redis_cpu(url: &str) -> Option<Duration> {
    let output = Command::new("redis-cli")
        .args(["-u", url, "INFO", "cpu"])
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let field = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))?
            .parse()
            .ok()
    };
    Some(Duration::from_secs_f64(
        field("used_cpu_user")? + field("used_cpu_sys")?,
    ))
}
