//! The PostgreSQL and Redis servers the end-to-end tests point generated
//! projects at, so that `cargo test` passes on a machine where both are
//! installed but not running, without anyone starting them first.
//!
//! For each service, once per test process:
//!
//! 1. `DATABASE_URL` / `REDIS_URL`, when set, is used as is.
//! 2. Else the default address (`127.0.0.1:5432`, `127.0.0.1:6379`) is probed
//!    over TCP with a real protocol check (a PostgreSQL startup message, a Redis
//!    `PING`); if it answers, it is used, as `.ci/run` sets it up.
//! 3. Else a private server is started on a free port in a temporary directory:
//!    `initdb` + `postgres` (from `PATH` or `/usr/lib/postgresql/*/bin`; as the
//!    `postgres` user when the tests run as root, since PostgreSQL refuses to
//!    run as root) with trust authentication, and `redis-server` from `PATH`,
//!    with no persistence, both listening on 127.0.0.1 only. A small `sh`
//!    watchdog per server reads a pipe only this process holds; at the pipe's
//!    end-of-file, i.e. however this process exits, it stops the server and
//!    deletes the directory.
//! 4. Else (no server, no binaries) the tests panic at once saying what to
//!    install or set.
//!
//! `STANCHION_TEST_POSTGRES_DEFAULT` / `STANCHION_TEST_REDIS_DEFAULT`
//! (`host:port`) replace the default address probed in step 2, so the private
//! path can be exercised on a machine whose shared servers are running: point
//! them at a closed port, e.g. `127.0.0.1:1`.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a private server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts at starting a private server, each on a fresh port, in case another
/// process takes the port between choosing and binding it.
const START_ATTEMPTS: usize = 3;

/// A server the tests use; for a private one, the write end of its watchdog's
/// pipe, open until this process exits.
struct Service {
    url: String,
    _watchdog: Option<ChildStdin>,
}

/// The PostgreSQL URL, as a superuser that may create databases: see the
/// module documentation for where it comes from. Panics when there is none.
pub(crate) fn postgres_url() -> String {
    static POSTGRES: OnceLock<Result<Service, String>> = OnceLock::new();
    resolve(&POSTGRES, "DATABASE_URL", postgres)
}

/// The Redis URL: see the module documentation for where it comes from.
/// Panics when there is none.
pub(crate) fn redis_url() -> String {
    static REDIS: OnceLock<Result<Service, String>> = OnceLock::new();
    resolve(&REDIS, "REDIS_URL", redis)
}

fn resolve(
    cell: &OnceLock<Result<Service, String>>,
    var: &str,
    find: fn() -> Result<Service, String>,
) -> String {
    if let Some(url) = std::env::var(var).ok().filter(|url| !url.is_empty()) {
        return url;
    }
    match cell.get_or_init(find) {
        Ok(service) => service.url.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn default_address(knob: &str, default: &str) -> String {
    std::env::var(knob)
        .ok()
        .filter(|address| !address.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn postgres() -> Result<Service, String> {
    let address = default_address("STANCHION_TEST_POSTGRES_DEFAULT", "127.0.0.1:5432");
    if postgres_answers(&address) {
        return Ok(Service {
            url: format!("postgres://postgres@{address}/postgres"),
            _watchdog: None,
        });
    }
    let Some(bin) = postgres_bin_dir() else {
        return Err(format!(
            "no PostgreSQL server answers at {address}, and there is no `initdb` and \
             `postgres` on PATH or in /usr/lib/postgresql/*/bin to start a private one: \
             install the Debian package `postgresql` (`apt-get install postgresql`; it \
             need not be running), or set DATABASE_URL to a server where the user may \
             create databases"
        ));
    };
    let started = Instant::now();
    let service = start_postgres(&bin).map_err(|e| format!("private PostgreSQL: {e}"))?;
    eprintln!(
        "note: no PostgreSQL at {address}; started a private one from {} at {} in {:.1?}",
        bin.display(),
        service.url,
        started.elapsed()
    );
    Ok(service)
}

fn redis() -> Result<Service, String> {
    let address = default_address("STANCHION_TEST_REDIS_DEFAULT", "127.0.0.1:6379");
    if redis_answers(&address) {
        return Ok(Service {
            url: format!("redis://{address}"),
            _watchdog: None,
        });
    }
    let Some(server) = find_in_path("redis-server") else {
        return Err(format!(
            "no Redis server answers PING at {address}, and there is no `redis-server` \
             on PATH to start a private one: install the Debian package `redis-server` \
             (`apt-get install redis-server`; it need not be running), or set REDIS_URL \
             to a server"
        ));
    };
    let started = Instant::now();
    let service = start_redis(&server).map_err(|e| format!("private Redis: {e}"))?;
    eprintln!(
        "note: no Redis at {address}; started a private one at {} in {:.1?}",
        service.url,
        started.elapsed()
    );
    Ok(service)
}

// --- Probes ---------------------------------------------------------------

fn connect(address: &str) -> Option<TcpStream> {
    let addresses: Vec<SocketAddr> = address.to_socket_addrs().ok()?.collect();
    let stream = addresses
        .iter()
        .find_map(|a| TcpStream::connect_timeout(a, Duration::from_millis(500)).ok())?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    Some(stream)
}

/// Whether a PostgreSQL server accepting connections answers at `address`, as
/// `pg_isready` decides: a startup message gets an authentication request, or an
/// error other than "the database system is starting up".
fn postgres_answers(address: &str) -> bool {
    let Some(mut stream) = connect(address) else {
        return false;
    };
    let mut body = Vec::new();
    body.extend_from_slice(&196_608_i32.to_be_bytes()); // protocol 3.0
    for part in ["user", "postgres", "database", "postgres", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut message = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    message.extend_from_slice(&body);
    if stream.write_all(&message).is_err() {
        return false;
    }
    let mut header = [0_u8; 5];
    if stream.read_exact(&mut header).is_err() {
        return false;
    }
    let length = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    match header[0] {
        b'R' => {
            // Terminate, so the server logs no "unexpected EOF".
            let _ = stream.write_all(&[b'X', 0, 0, 0, 4]);
            true
        }
        b'E' if (4..65_536).contains(&length) => {
            let mut fields = vec![0_u8; length as usize - 4];
            if stream.read_exact(&mut fields).is_err() {
                return false;
            }
            // Fields are a type byte and a NUL-terminated string; 'C' is SQLSTATE.
            !fields.split(|b| *b == 0).any(|field| field == b"C57P03")
        }
        _ => false,
    }
}

/// Whether a Redis server at `address` answers `PING` with `PONG`.
fn redis_answers(address: &str) -> bool {
    let Some(mut stream) = connect(address) else {
        return false;
    };
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0_u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

// --- Private servers ------------------------------------------------------

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// A directory holding both `initdb` and `postgres`: on `PATH` first, else the
/// newest of Debian's `/usr/lib/postgresql/*/bin`.
fn postgres_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    dirs.extend(versions.into_iter().map(|(_, dir)| dir));
    dirs.into_iter()
        .find(|dir| is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres")))
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `id`: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            format!(
                "`id {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })
}

/// Starts the watchdog for `dir`: it reads server pids, one a line, from the
/// returned pipe until end-of-file (this process exiting), then stops the last
/// one (SIGINT: a fast shutdown for both servers; SIGKILL after 10 s) and
/// deletes `dir`. It ignores SIGINT and SIGHUP so a Ctrl-C on the terminal
/// cannot kill it before it cleans up.
fn watchdog(dir: &Path) -> Result<ChildStdin, String> {
    const SCRIPT: &str = r#"
trap '' INT HUP
pid=
while read -r line; do pid=$line; done
if [ -n "$pid" ]; then
  kill -INT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;
    let mut child = Command::new("sh")
        .args(["-c", SCRIPT, "stanchion-test-watchdog"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the `sh` watchdog: {e}"))?;
    Ok(child.stdin.take().expect("piped stdin"))
}

/// A temporary directory, owned by `owner` (uid, gid) when given, with its
/// watchdog already running.
fn private_dir(prefix: &str, owner: Option<(u32, u32)>) -> Result<(PathBuf, ChildStdin), String> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    let watchdog = match watchdog(&dir) {
        Ok(watchdog) => watchdog,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot hand {} to uid {uid}: {e}", dir.display()))?;
    }
    Ok((dir, watchdog))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Spawns `command` (its output going to `log`) on a fresh port up to
/// [`START_ATTEMPTS`] times, telling `watchdog` each pid, until `ready(port)`.
fn start(
    what: &str,
    watchdog: &mut ChildStdin,
    log: &Path,
    command: impl Fn(u16) -> Command,
    ready: fn(&str) -> bool,
) -> Result<u16, String> {
    let mut failure = String::new();
    for _ in 0..START_ATTEMPTS {
        let port = free_port()?;
        let mut cmd = command(port);
        let output = std::fs::File::create(log)
            .map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let errors = output
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .map_err(|e| format!("cannot run {what}: {e}"))?;
        writeln!(watchdog, "{}", child.id())
            .map_err(|e| format!("cannot reach the watchdog: {e}"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ready(&format!("127.0.0.1:{port}")) {
                return Ok(port);
            }
            if let Ok(Some(status)) = child.try_wait() {
                failure = format!("{what} exited ({status}):\n{}", tail(log));
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} did not accept connections within {START_TIMEOUT:?}:\n{}",
                    tail(log)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Err(failure)
}

fn start_postgres(bin: &Path) -> Result<Service, String> {
    // PostgreSQL refuses to run as root: then run it as the `postgres` user.
    let owner = if id(&["-u"])? == 0 {
        let uid = id(&["-u", "postgres"]).map_err(|e| {
            format!("running as root and there is no `postgres` user to run it as ({e})")
        })?;
        Some((uid, id(&["-g", "postgres"])?))
    } else {
        None
    };
    let as_owner = |program: &OsStr, dir: &Path| {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir).env_remove("PGDATA");
        if let Some((uid, gid)) = owner {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd
    };
    let (dir, mut watchdog) = private_dir("stanchion-test-postgres-", owner)?;
    let data = dir.join("data");
    let log = dir.join("postgres.log");

    let initdb = as_owner(bin.join("initdb").as_os_str(), &dir)
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
        .arg("--no-sync")
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed ({}):\n{}{}",
            initdb.status,
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }

    let postgres = bin.join("postgres");
    let port = start(
        "postgres",
        &mut watchdog,
        &log,
        |port| {
            let mut cmd = as_owner(postgres.as_os_str(), &dir);
            cmd.arg("-D")
                .arg(&data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(&dir)
                .args(["-c", "listen_addresses=127.0.0.1"])
                // Throwaway data: skip the disk flushes.
                .args(["-c", "fsync=off"])
                .args(["-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"]);
            cmd
        },
        postgres_answers,
    )?;
    Ok(Service {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _watchdog: Some(watchdog),
    })
}

fn start_redis(server: &Path) -> Result<Service, String> {
    let (dir, mut watchdog) = private_dir("stanchion-test-redis-", None)?;
    let log = dir.join("redis.log");
    let port = start(
        "redis-server",
        &mut watchdog,
        &log,
        |port| {
            let mut cmd = Command::new(server);
            cmd.current_dir(&dir)
                .arg("--port")
                .arg(port.to_string())
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .arg("--dir")
                .arg(&dir);
            cmd
        },
        redis_answers,
    )?;
    Ok(Service {
        url: format!("redis://127.0.0.1:{port}"),
        _watchdog: Some(watchdog),
    })
}

/// Both URLs lead to a working server: PostgreSQL lets its user create and drop
/// a database, Redis answers `PING`. Passes whichever way they were found.
#[test]
fn postgres_and_redis_urls_lead_to_working_servers() {
    let postgres = crate::support::postgres_url();
    let database = format!("stanchion_services_{}", std::process::id());
    let psql = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &postgres])
        .arg("-c")
        .arg(format!("CREATE DATABASE \"{database}\""))
        .arg("-c")
        .arg(format!("DROP DATABASE \"{database}\""))
        .output()
        .expect("psql runs (PostgreSQL's client is installed)");
    assert!(
        psql.status.success(),
        "cannot create and drop a database on {postgres}:\n{}",
        String::from_utf8_lossy(&psql.stderr)
    );

    let redis = crate::support::redis_url();
    let ping = Command::new("redis-cli")
        .args(["-u", &redis, "PING"])
        .output()
        .expect("redis-cli runs (Redis's client is installed)");
    assert_eq!(
        String::from_utf8_lossy(&ping.stdout).trim(),
        "PONG",
        "no PONG from {redis}: {}",
        String::from_utf8_lossy(&ping.stderr)
    );
}
