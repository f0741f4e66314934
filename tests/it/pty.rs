//! `stanchion new` driven through a real pseudo-terminal, as a person would.
//!
//! These tests spawn the binary with stdin, stdout and stderr on a pty (via
//! `expectrl`), so `new` takes its interactive path and asks with dialoguer. They
//! wait for each prompt before answering and match on prompt text, never on exact
//! escape sequences. `NO_COLOR=1` selects dialoguer's `SimpleTheme`, whose markers
//! (`> ` for the cursor, `[x]`/`[ ]` for checkboxes, `[y/N]`) are plain text.
//!
//! Keys as bytes: Enter is `\r`, arrows are `ESC [ A`/`ESC [ B`, Ctrl-C is `\x03`.
//! A `Confirm` takes `y`/`n` on its own, without Enter (an extra Enter would answer
//! the next question); in a `Select` space also accepts, in a `MultiSelect` it
//! toggles.
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::{Signal, UnixProcess, WaitStatus};
use expectrl::session::OsSession;
use expectrl::{Eof, Expect, Regex};

const ENTER: &str = "\r";
const UP: &str = "\x1b[A";
const DOWN: &str = "\x1b[B";
const SPACE: &str = " ";
const CTRL_C: &str = "\x03";

/// How long any single wait may take before the test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(20);

const DEFAULT_DESCRIPTION: &str = "A horizontally scalable HTTP API";
const READ_REPLICA_PROMPT: &str = "Route reads to a read replica (DATABASE_READ_URL)?";
const REQUIRE_IF_MATCH_PROMPT: &str = "Require If-Match on product writes (428 without it)?";

/// `stanchion` on a pty, with everything it printed so far kept for assertions
/// and failure messages.
struct Pty {
    session: OsSession,
    /// Output consumed so far, escape sequences removed.
    transcript: String,
}

impl Pty {
    /// Runs `stanchion <args>` in `cwd` on a fresh pseudo-terminal.
    fn spawn(cwd: &Path, args: &[&str]) -> Pty {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stanchion"));
        cmd.args(args)
            .current_dir(cwd)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env_remove("CLICOLOR_FORCE");
        let mut session = OsSession::spawn(cmd).expect("spawn stanchion on a pty");
        session.set_expect_timeout(Some(TIMEOUT));
        // Wide enough that no prompt line is wrapped or paged.
        session
            .get_process_mut()
            .set_window_size(200, 50)
            .expect("set the pty size");
        Pty {
            session,
            transcript: String::new(),
        }
    }

    /// Waits until `text` appears in the output, consuming everything up to it.
    fn expect(&mut self, text: &str) {
        match self.session.expect(text) {
            Ok(found) => self.record(found.as_bytes()),
            Err(err) => self.fail(&format!("waiting for {text:?}: {err}")),
        }
    }

    /// Sends raw key bytes.
    fn send(&mut self, keys: &str) {
        if let Err(err) = self.session.send(keys) {
            self.fail(&format!("sending {keys:?}: {err}"));
        }
    }

    /// Waits for `prompt`, then sends `keys`.
    fn answer(&mut self, prompt: &str, keys: &str) {
        self.expect(prompt);
        self.send(keys);
    }

    /// Reads the rest of the output until the process closes the terminal, then
    /// reaps it.
    fn finish(&mut self) -> WaitStatus {
        match self.session.expect(Eof) {
            Ok(found) => self.record(found.as_bytes()),
            Err(err) => self.fail(&format!("waiting for the process to exit: {err}")),
        }
        let process: &UnixProcess = self.session.get_process();
        process.wait().expect("wait for stanchion")
    }

    fn record(&mut self, bytes: &[u8]) {
        self.transcript
            .push_str(&strip_ansi(&String::from_utf8_lossy(bytes)));
    }

    fn fail(&mut self, what: &str) -> ! {
        // Whatever arrived but did not match, to show where the run got stuck.
        if let Ok(rest) = self.session.check(Regex("(?s).+")) {
            self.record(rest.as_bytes());
        }
        panic!(
            "{what}\n--- terminal so far ---\n{}\n-----------------------",
            self.transcript
        );
    }
}

/// Removes CSI (`ESC [ ... final`) and OSC (`ESC ] ... BEL`) sequences and carriage
/// returns, leaving the text a person would read.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    for c in chars.by_ref() {
                        if c == '\x07' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Every file under `dir`, as sorted relative paths.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn is_sigint_or_130(status: &WaitStatus) -> bool {
    matches!(
        status,
        WaitStatus::Signaled(_, Signal::SIGINT, _) | WaitStatus::Exited(_, 130)
    )
}

/// The answers of the `minimal` preset that the change list offers.
const MINIMAL_CHANGEABLE: usize = 8;

/// Ticks the first `n` answers in "Change any of these answers?", so each is
/// asked again (in question order, offering the preset's value).
fn change_all(pty: &mut Pty, n: usize) {
    pty.expect("Change any of these answers?");
    for _ in 0..n {
        pty.send(SPACE);
        pty.send(DOWN);
    }
    pty.send(ENTER);
}

#[test]
fn enter_through_every_question_makes_the_recommended_project() {
    let tmp = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(tmp.path(), &["new", "shop"]);
    pty.expect("Start from");
    pty.expect("> full");
    pty.expect("(recommended)");
    pty.send(ENTER);
    pty.expect("Start from: full");
    pty.answer(&format!("Description [{DEFAULT_DESCRIPTION}]"), ENTER);
    pty.expect("Change any of these answers?");
    pty.expect("database");
    pty.send(ENTER);
    let status = pty.finish();
    let transcript = pty.transcript.clone();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "expected success, got {status:?}\n{transcript}"
    );
    assert!(
        !transcript.contains("Database:"),
        "nothing else is asked:\n{transcript}"
    );
    let toml = fs::read_to_string(tmp.path().join("shop/stanchion.toml")).unwrap();
    for line in [
        "database = \"postgres\"",
        "read_replica = true",
        "cache = \"redis\"",
        "rate_limit = \"redis\"",
        "auth = \"jwt\"",
        "metrics = true",
        "deploy = [\"docker\", \"kubernetes\", \"ci\"]",
    ] {
        assert!(
            toml.lines().any(|l| l.trim() == line),
            "stanchion.toml lacks `{line}`:\n{toml}"
        );
    }
}

#[test]
fn interactive_new_asks_every_question_and_writes_the_project() {
    let tmp = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(tmp.path(), &["new"]);

    // The preset comes first, the recommended one under the cursor.
    pty.expect("Start from");
    pty.expect("> full");
    pty.send(DOWN);
    pty.send(DOWN);
    pty.expect("> minimal");
    pty.send(ENTER);
    pty.expect("Start from: minimal");

    // The name is checked as it is typed in: a keyword is refused inline, with a
    // suggestion, and the same prompt comes back empty.
    pty.answer("Project name", &format!("fn{ENTER}"));
    pty.expect("invalid project name `fn`");
    pty.expect("it is a Rust keyword");
    pty.expect("try `fn-api` instead");
    pty.answer("Project name", &format!("shop-api{ENTER}"));
    pty.expect("Project name: shop-api");

    // The default is shown in brackets; Enter takes it.
    pty.answer(&format!("Description [{DEFAULT_DESCRIPTION}]"), ENTER);
    pty.expect(&format!("Description: {DEFAULT_DESCRIPTION}"));

    // Every answer of the preset is picked for a change, so each is asked.
    change_all(&mut pty, MINIMAL_CHANGEABLE);

    // Select starts on the preset's value (`none`); arrows move and wrap nowhere here.
    pty.expect("Database");
    pty.expect("> none");
    pty.send(UP);
    pty.expect("> sqlite");
    pty.send(UP);
    pty.expect("> postgres");
    pty.send(DOWN);
    pty.expect("> sqlite");
    pty.send(DOWN);
    pty.expect("> none");
    pty.send(ENTER);
    pty.expect("Database: none");

    // No read-replica question without postgres: cache comes straight after.
    pty.expect("Application cache");
    pty.expect("> none");
    pty.send(ENTER);
    pty.expect("Application cache: none");

    // A Confirm answers on the key itself, no Enter.
    pty.answer("HTTP caching (Cache-Control, ETag, 304)? [y/N]", "n");
    pty.expect("HTTP caching (Cache-Control, ETag, 304)? no");

    pty.expect("Rate limiting");
    pty.expect("> none");
    pty.send(ENTER);
    pty.expect("Rate limiting: none");

    // No rate-limit numbers without a limiter, and no authentication without a
    // database: metrics come next. Enter takes a Confirm's default.
    pty.answer("Prometheus metrics at /metrics? [y/N]", ENTER);
    pty.expect("Prometheus metrics at /metrics? no");
    pty.answer("Distributed tracing (OpenTelemetry OTLP)? [y/N]", "n");
    pty.expect("Distributed tracing (OpenTelemetry OTLP)? no");
    pty.answer("OpenAPI document and docs page? [y/N]", ENTER);
    pty.expect("OpenAPI document and docs page? no");

    // MultiSelect starts with the defaults checked; space toggles, Enter accepts.
    pty.expect("Deploy files (space toggles, enter accepts)");
    pty.expect("> [x] docker");
    pty.expect("[ ] kubernetes");
    pty.expect("[x] ci");
    pty.send(DOWN);
    pty.expect("> [ ] kubernetes");
    pty.send(SPACE);
    pty.expect("> [x] kubernetes");
    pty.send(ENTER);
    pty.expect("Deploy files (space toggles, enter accepts): docker");

    let status = pty.finish();
    let transcript = pty.transcript.clone();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "expected success, got {status:?}\n{transcript}"
    );
    assert!(
        !transcript.contains(READ_REPLICA_PROMPT),
        "read replica asked without postgres:\n{transcript}"
    );
    assert!(
        !transcript.contains("Requests allowed per client"),
        "rate limit numbers asked without a limiter:\n{transcript}"
    );
    assert!(
        !transcript.contains("Authentication"),
        "authentication asked without a database:\n{transcript}"
    );
    assert!(
        transcript.contains("Created `shop-api` (base, docker, kubernetes, ci) in `shop-api`"),
        "{transcript}"
    );

    // Without --dir the project goes to a directory named after it, and nowhere else.
    let project = tmp.path().join("shop-api");
    let top: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, ["shop-api"], "only the project directory is created");

    let toml = fs::read_to_string(project.join("stanchion.toml")).expect("stanchion.toml");
    for line in [
        "name = \"shop-api\"",
        &format!("description = \"{DEFAULT_DESCRIPTION}\""),
        "database = \"none\"",
        "cache = \"none\"",
        "http_cache = false",
        "rate_limit = \"none\"",
        "metrics = false",
        "tracing = false",
        "openapi = false",
        "deploy = [\"docker\", \"kubernetes\", \"ci\"]",
    ] {
        assert!(
            toml.lines().any(|l| l.trim() == line),
            "stanchion.toml lacks `{line}`:\n{toml}"
        );
    }
    for absent in [
        "read_replica",
        "rate_limit_max",
        "rate_limit_window_secs",
        "auth",
    ] {
        assert!(
            !toml.lines().any(|l| l.starts_with(absent)),
            "`{absent}` does not apply and must not be recorded:\n{toml}"
        );
    }

    let files = files_under(&project);
    for path in [
        "Cargo.toml",
        "stanchion.toml",
        "Dockerfile",
        ".github/workflows/ci.yml",
        "deploy/kubernetes/deployment.yaml",
    ] {
        assert!(
            files.contains(&PathBuf::from(path)),
            "`{path}` was not written; got {files:?}"
        );
    }
}

/// A copy of the repository's templates under `root`, to adjust per test.
fn copy_templates(root: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let dst = root.join("templates");
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let to = dst.join(entry.path().strip_prefix(&src).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
    dst
}

#[test]
fn postgres_asks_about_a_read_replica() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // The NAME argument answers the first question, so it is not asked.
    let mut pty = Pty::spawn(
        tmp.path(),
        &[
            "new",
            "shop",
            "--preset",
            "minimal",
            "--dir",
            out.to_str().unwrap(),
        ],
    );

    pty.answer(&format!("Description [{DEFAULT_DESCRIPTION}]"), ENTER);
    change_all(&mut pty, MINIMAL_CHANGEABLE);
    pty.expect("Database");
    pty.expect("> none");
    pty.send(UP);
    pty.expect("> sqlite");
    pty.send(UP);
    pty.expect("> postgres");
    pty.send(ENTER);
    pty.expect("Database: postgres");

    // Asked right after the database, before the cache.
    pty.answer(&format!("{READ_REPLICA_PROMPT} [y/N]"), "y");
    pty.expect(&format!("{READ_REPLICA_PROMPT} yes"));
    pty.answer(&format!("{REQUIRE_IF_MATCH_PROMPT} [y/N]"), ENTER);

    pty.answer("Application cache", ENTER);
    pty.expect("Application cache: none");
    for prompt in [
        "HTTP caching (Cache-Control, ETag, 304)? [y/N]",
        "Rate limiting",
        "Authentication",
        "Prometheus metrics at /metrics? [y/N]",
        "Distributed tracing (OpenTelemetry OTLP)? [y/N]",
        "OpenAPI document and docs page? [y/N]",
        "Deploy files (space toggles, enter accepts)",
    ] {
        pty.answer(prompt, ENTER);
    }
    pty.expect("Deploy files (space toggles, enter accepts): docker");

    let status = pty.finish();
    let transcript = pty.transcript.clone();
    assert!(
        !transcript.contains("Project name"),
        "the NAME argument should answer the name question:\n{transcript}"
    );
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "expected success, got {status:?}\n{transcript}"
    );
    let toml = fs::read_to_string(out.join("stanchion.toml")).unwrap();
    assert!(toml.contains("database = \"postgres\""), "{toml}");
    assert!(toml.contains("read_replica = true"), "{toml}");
}

#[test]
fn ctrl_c_while_typing_the_name_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(tmp.path(), &["new", "--preset", "minimal", "--dir", "out"]);

    pty.answer("Project name", "sho");
    pty.expect("sho");
    pty.send(CTRL_C);

    let status = pty.finish();
    assert!(
        is_sigint_or_130(&status),
        "Ctrl-C should interrupt, got {status:?}\n{}",
        pty.transcript
    );
    assert!(!pty.transcript.contains("Created"), "{}", pty.transcript);
    assert!(
        fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "nothing may be written after Ctrl-C: {:?}",
        files_under(tmp.path())
    );
}

#[test]
fn ctrl_c_in_a_later_select_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(tmp.path(), &["new", "shop", "--preset", "minimal"]);

    // Get well into the questions, then interrupt a Select and a non-default cursor.
    pty.answer(&format!("Description [{DEFAULT_DESCRIPTION}]"), ENTER);
    change_all(&mut pty, MINIMAL_CHANGEABLE);
    pty.answer("Database", ENTER);
    pty.expect("Database: none");
    pty.expect("Application cache");
    pty.expect("> none");
    pty.send(UP);
    pty.expect("> memory");
    pty.send(CTRL_C);

    let status = pty.finish();
    assert!(
        is_sigint_or_130(&status),
        "Ctrl-C should interrupt, got {status:?}\n{}",
        pty.transcript
    );
    assert!(
        !pty.transcript.contains("Application cache: "),
        "the interrupted question must not be answered:\n{}",
        pty.transcript
    );
    assert!(
        fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "nothing may be written after Ctrl-C: {:?}",
        files_under(tmp.path())
    );
}

#[test]
fn add_prompts_for_the_components_questions() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = copy_templates(tmp.path());
    let project = tmp.path().join("shop");
    let status = Command::new(env!("CARGO_BIN_EXE_stanchion"))
        .args([
            "new",
            "shop",
            "--preset",
            "minimal",
            "--yes",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&project)
        .status()
        .unwrap();
    assert!(status.success());

    let mut pty = Pty::spawn(
        &project,
        &[
            "add",
            "database",
            "--template-dir",
            templates.to_str().unwrap(),
        ],
    );
    // The component's own question, with the enabling answer as the default.
    pty.expect("Database");
    pty.expect("> postgres");
    pty.send(ENTER);
    pty.expect("Database: postgres");
    // ...and the questions that apply only now.
    pty.answer(&format!("{READ_REPLICA_PROMPT} [y/N]"), "y");
    pty.answer(&format!("{REQUIRE_IF_MATCH_PROMPT} [y/N]"), ENTER);
    pty.expect("Authentication");
    pty.expect("> none");
    pty.send(ENTER);
    pty.expect("Authentication: none");
    pty.expect("added `database`");
    let status = pty.finish();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "expected success, got {status:?}\n{}",
        pty.transcript
    );
    assert!(
        !pty.transcript.contains("Application cache"),
        "questions already answered are not asked again:\n{}",
        pty.transcript
    );
    let record = fs::read_to_string(project.join("stanchion.toml")).unwrap();
    assert!(record.contains("database = \"postgres\""), "{record}");
    assert!(record.contains("read_replica = true"), "{record}");
}

/// Everything `stanchion ARGS` prints on a terminal, escape sequences kept.
fn raw_terminal_output(args: &[&str], no_color: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stanchion"));
    cmd.args(args)
        .env("TERM", "xterm")
        .env_remove("CLICOLOR_FORCE");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let mut session = OsSession::spawn(cmd).expect("spawn on a pty");
    session.set_expect_timeout(Some(TIMEOUT));
    let found = session.expect(Eof).expect("runs to the end");
    String::from_utf8_lossy(found.as_bytes()).into_owned()
}

#[test]
fn colour_on_a_terminal_and_none_with_no_color() {
    let sgr = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    let coloured = raw_terminal_output(&["new", "fn", "--yes"], false);
    assert!(coloured.contains("invalid project name"), "{coloured:?}");
    assert!(
        sgr.is_match(&coloured),
        "colour on a terminal: {coloured:?}"
    );
    let plain = raw_terminal_output(&["new", "fn", "--yes"], true);
    assert!(plain.contains("error: invalid project name"), "{plain:?}");
    assert!(
        !sgr.is_match(&plain),
        "NO_COLOR turns colour off: {plain:?}"
    );
}

#[test]
fn a_teams_component_is_asked_about_like_a_builtin_one() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = copy_templates(tmp.path());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/components/audit");
    for entry in walkdir::WalkDir::new(&fixture) {
        let entry = entry.unwrap();
        let to = templates
            .join("components/audit")
            .join(entry.path().strip_prefix(&fixture).unwrap());
        if entry.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
    let mut pty = Pty::spawn(
        tmp.path(),
        &[
            "new",
            "shop",
            "--preset",
            "minimal",
            "--template-dir",
            templates.to_str().unwrap(),
        ],
    );
    pty.answer(&format!("Description [{DEFAULT_DESCRIPTION}]"), ENTER);
    // The preset says nothing about it, so its question is asked.
    pty.answer(
        "Audit every request (x-audit headers, GET /audit/stats)? [y/N]",
        "y",
    );
    pty.expect("Change any of these answers?");
    pty.send(ENTER);
    let status = pty.finish();
    let transcript = pty.transcript.clone();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "expected success, got {status:?}\n{transcript}"
    );
    assert!(transcript.contains("audit"), "{transcript}");
    let toml = fs::read_to_string(tmp.path().join("shop/stanchion.toml")).unwrap();
    assert!(toml.lines().any(|l| l.trim() == "audit = true"), "{toml}");
    assert!(tmp.path().join("shop/src/audit.rs").is_file());
}
