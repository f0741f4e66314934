//! `regen`, `add`, `remove` and `diff` through the binary.
//!
//! Directory fixtures live in `tests/fixtures/regen/`: two versions of a small
//! template set (`templates/v1`, `templates/v2`) and one folder per outcome under
//! `cases/`, each with `case.toml` (arguments, exit code, expected messages, files
//! to delete), `before/` (the user's edits, laid over a project generated from
//! v1) and `expected/` (every project file after regenerating with v2).
//! `STANCHION_BLESS=1` rewrites `expected/` from the actual result — review the
//! diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{
    cargo, cargo_with_env, list_files, postgres_url, redis_url, repo_root, stanchion,
};

fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/regen")
}

/// Generates the fixture project from templates v1 into `dir`.
fn generate_v1(dir: &Path) {
    stanchion()
        .args([
            "new",
            "fixture-app",
            "--yes",
            "--set",
            "deploy=docker",
            "--template-dir",
        ])
        .arg(fixtures().join("templates/v1"))
        .arg("--dir")
        .arg(dir)
        .assert()
        .success();
}

/// `stanchion ARGS --template-dir TEMPLATES --dir PROJECT`.
fn in_project(args: &[&str], templates: &Path, project: &Path) -> assert_cmd::Command {
    let mut cmd = stanchion();
    cmd.args(args)
        .arg("--template-dir")
        .arg(templates)
        .arg("--dir")
        .arg(project);
    cmd
}

/// Copies every file under `from` into `to`.
fn overlay(from: &Path, to: &Path) {
    for file in list_files(from) {
        let dest = to.join(&file);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(from.join(&file), dest).unwrap();
    }
}

/// The project's own files (not the record), path → contents (the bytes, as
/// a list, of a file that is not text, such as an icon).
fn project_files(dir: &Path) -> Vec<(String, String)> {
    list_files(dir)
        .into_iter()
        .filter(|f| !f.starts_with(".stanchion/") && f != "stanchion.toml")
        .map(|f| {
            let bytes = fs::read(dir.join(&f)).unwrap();
            let text = String::from_utf8(bytes).unwrap_or_else(|e| format!("{:?}", e.as_bytes()));
            (f, text)
        })
        .collect()
}

fn strings(doc: &toml_edit::DocumentMut, key: &str) -> Vec<String> {
    doc.get(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn run_case(case: &Path) -> Result<(), String> {
    let spec: toml_edit::DocumentMut = fs::read_to_string(case.join("case.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    generate_v1(&project);
    if case.join("before").is_dir() {
        overlay(&case.join("before"), &project);
    }
    for path in strings(&spec, "delete") {
        fs::remove_file(project.join(path)).unwrap();
    }
    let v2 = fixtures().join("templates/v2");
    let output = stanchion()
        .args(strings(&spec, "args"))
        .arg("--template-dir")
        .arg(&v2)
        .arg("--dir")
        .arg(&project)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let want_exit = spec["exit"].as_integer().unwrap() as i32;
    if output.status.code() != Some(want_exit) {
        return Err(format!(
            "exit {:?}, expected {want_exit}\n{stderr}",
            output.status.code()
        ));
    }
    for needle in strings(&spec, "stderr") {
        if !stderr.contains(&needle) {
            return Err(format!("stderr lacks {needle:?}:\n{stderr}"));
        }
    }
    let expected_dir = case.join("expected");
    let actual = project_files(&project);
    if std::env::var_os("STANCHION_BLESS").is_some() {
        let _ = fs::remove_dir_all(&expected_dir);
        for (path, text) in &actual {
            let dest = expected_dir.join(path);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::write(dest, text).unwrap();
        }
    }
    let expected = project_files(&expected_dir);
    if actual != expected {
        let names = |v: &[(String, String)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        let mut msg = format!(
            "files differ\n  actual:   {:?}\n  expected: {:?}\n",
            names(&actual),
            names(&expected)
        );
        for (path, text) in &actual {
            if let Some((_, want)) = expected.iter().find(|(p, _)| p == path) {
                if want != text {
                    msg.push_str(&format!(
                        "--- {path} (expected)\n{want}--- {path} (actual)\n{text}"
                    ));
                }
            }
        }
        return Err(msg);
    }
    // After a clean run, the same command again changes nothing.
    if want_exit == 0 {
        let again = stanchion()
            .args(strings(&spec, "args"))
            .args(["--check", "--template-dir"])
            .arg(&v2)
            .arg("--dir")
            .arg(&project)
            .output()
            .unwrap();
        if !again.status.success() {
            return Err(format!(
                "a second regen is not a no-op:\n{}",
                String::from_utf8_lossy(&again.stderr)
            ));
        }
    }
    Ok(())
}

#[test]
fn directory_fixtures_for_every_outcome() {
    let mut cases: Vec<PathBuf> = fs::read_dir(fixtures().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{cases:?}");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case).err().map(|e| {
                format!(
                    "case `{}`: {e}",
                    case.file_name().unwrap().to_string_lossy()
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The files of a directory with their contents, to prove nothing changed.
fn fingerprint(dir: &Path) -> Vec<(String, Vec<u8>)> {
    list_files(dir)
        .into_iter()
        .map(|f| {
            let bytes = fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

/// Runs `stanchion ARGS --dir project` and expects failure with `code`, the
/// messages, and an untouched project.
fn refuses_in(project: &Path, args: &[&str], code: i32, needles: &[&str]) {
    let before = fingerprint(project);
    let assert = stanchion()
        .args(args)
        .arg("--dir")
        .arg(project)
        .assert()
        .code(code);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for needle in needles {
        assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    }
    assert!(fingerprint(project) == before, "the project changed");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("p");
    stanchion()
        .args(["new", "p", "--preset", "minimal", "--yes", "--dir"])
        .arg(&project)
        .assert()
        .success();

    refuses_in(
        &project,
        &["regen", "dokcer"],
        1,
        &["no component named `dokcer`", "did you mean `docker`"],
    );
    refuses_in(
        &project,
        &["add", "kubernets"],
        1,
        &["did you mean `kubernetes`"],
    );
    refuses_in(
        &project,
        &["regen", "kubernetes"],
        1,
        &[
            "`kubernetes` is not part of this project",
            "stanchion add kubernetes",
        ],
    );
    // A template set without `metrics`, whatever the built-in set provides.
    let v1 = fixtures().join("templates/v1");
    refuses_in(
        &project,
        &["add", "metrics", "--template-dir", v1.to_str().unwrap()],
        1,
        &["no component named `metrics`"],
    );
    refuses_in(&project, &["remove", "base"], 1, &["cannot remove `base`"]);
    refuses_in(
        &project,
        &["regen", "--set", "cache=mongo"],
        2,
        &["invalid answer `cache = mongo`"],
    );

    // Conflict markers left from an earlier run.
    let readme = project.join("README.md");
    let original = fs::read_to_string(&readme).unwrap();
    fs::write(
        &readme,
        format!("{original}<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> stanchion\n"),
    )
    .unwrap();
    refuses_in(
        &project,
        &["regen"],
        1,
        &["unresolved conflict markers", "`README.md`"],
    );
    fs::write(&readme, original).unwrap();

    // A malformed stanchion.toml: the error names the line.
    let record = project.join("stanchion.toml");
    let good = fs::read_to_string(&record).unwrap();
    let broken = good.replacen("[answers]\n", "[answers]\nname = \n", 1);
    let line = broken.lines().position(|l| l == "name = ").unwrap() + 1;
    fs::write(&record, &broken).unwrap();
    refuses_in(
        &project,
        &["regen"],
        1,
        &[&format!("invalid `{}:{line}`", record.display())],
    );
    fs::write(&record, good).unwrap();

    // Not a project at all.
    let elsewhere = tmp.path().join("empty");
    fs::create_dir(&elsewhere).unwrap();
    refuses_in(
        &elsewhere,
        &["regen"],
        1,
        &["is not inside a stanchion project"],
    );
}

#[test]
fn diff_check_and_json_report_without_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    generate_v1(&project);
    let v2 = fixtures().join("templates/v2");
    let before = fingerprint(&project);
    in_project(&["diff"], &v2, &project)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "--- a/src/lib.rs\n+++ b/src/lib.rs\n",
        ))
        .stdout(predicate::str::contains("-    2\n+    22\n"))
        .stdout(predicate::str::contains("--- a/notes.txt\n+++ /dev/null\n"));
    in_project(&["regen", "--check"], &v2, &project)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("regeneration would change"));
    let out = in_project(&["regen", "--dry-run", "--json"], &v2, &project)
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["applied"], false);
    assert_eq!(status["changed"], true);
    let lib = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/lib.rs")
        .unwrap();
    assert_eq!(lib["action"], "update");
    assert!(
        fingerprint(&project) == before,
        "diff, check and dry-run write nothing"
    );

    // Unedited and up to date: check passes, regen is a no-op.
    stanchion()
        .args(["regen", "--check", "--template-dir"])
        .arg(fixtures().join("templates/v1"))
        .arg("--dir")
        .arg(&project)
        .assert()
        .success()
        .stderr(predicate::str::contains("up to date"));
}

#[test]
fn secrets_are_never_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    overlay(&fixtures().join("templates/v1"), &templates);
    fs::write(
        templates.join("base/files/.env.hbs"),
        "JWT_SECRET=generated-for-{{project_name}}\n",
    )
    .unwrap();
    let project = tmp.path().join("project");
    stanchion()
        .args([
            "new",
            "fixture-app",
            "--yes",
            "--set",
            "deploy=none",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    assert!(
        project.join(".env").exists(),
        "the file itself is generated"
    );
    assert!(!project.join(".stanchion/base/.env").exists());
    let record = fs::read_to_string(project.join("stanchion.toml")).unwrap();
    assert!(
        !record.contains(".env") && !record.contains("generated-for"),
        "{record}"
    );
    fs::write(project.join(".env"), "JWT_SECRET=my-real-secret\n").unwrap();
    in_project(&["regen"], &templates, &project)
        .assert()
        .success();
    assert_eq!(
        fs::read_to_string(project.join(".env")).unwrap(),
        "JWT_SECRET=my-real-secret\n"
    );
}

#[test]
fn add_and_remove_keep_the_users_record_edits_and_dependencies() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    generate_v1(&project);
    // The user comments their answers and adds a dependency of their own.
    let record = project.join("stanchion.toml");
    let text = fs::read_to_string(&record).unwrap().replace(
        "[answers]\n",
        "[answers]\n# chosen in the kickoff meeting\n",
    );
    fs::write(&record, text).unwrap();
    let manifest = project.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .unwrap()
        .replace("tokio = \"1\"", "# mine\nanyhow = \"1\"\ntokio = \"1\"");
    fs::write(&manifest, text).unwrap();

    let v2 = fixtures().join("templates/v2");
    in_project(&["remove", "docker"], &v2, &project)
        .assert()
        .success()
        .stderr(predicate::str::contains("removed    Dockerfile"));
    assert!(!project.join("Dockerfile").exists());
    in_project(&["add", "docker"], &v2, &project)
        .assert()
        .success()
        .stderr(predicate::str::contains("created    Dockerfile"));
    assert_eq!(
        fs::read_to_string(project.join("Dockerfile")).unwrap(),
        "FROM scratch\nLABEL version=2\n"
    );
    let record = fs::read_to_string(&record).unwrap();
    assert!(
        record.contains("# chosen in the kickoff meeting\nname = \"fixture-app\""),
        "{record}"
    );
    assert!(record.contains("deploy = [\"docker\"]"), "{record}");
    let manifest = fs::read_to_string(&manifest).unwrap();
    assert!(manifest.contains("# mine\nanyhow = \"1\""), "{manifest}");
    assert!(manifest.contains("serde = \"1\""), "{manifest}");
}

/// `add` of the database, the cache, the rate limiter, authentication (refused
/// until the database it needs is there) and each deploy component on a
/// generated minimal project: the project gives what `new` would have, still
/// builds, passes clippy and its own tests (against the machine's PostgreSQL and
/// Redis), and regenerating it is a no-op. Later components extend this.
#[test]
fn add_each_available_component_to_a_minimal_project_and_it_still_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("add-minimal");
    stanchion()
        .args([
            "new",
            "add-minimal",
            "--preset",
            "minimal",
            "--yes",
            "--set",
            "deploy=none",
            "--dir",
        ])
        .arg(&project)
        .assert()
        .success();
    stanchion()
        .args(["add", "auth", "--yes", "--dir"])
        .arg(&project)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot add `auth`: it depends on `database`",
        ))
        .stderr(predicate::str::contains("stanchion add database"));
    // `add X --yes` picks the first choice: PostgreSQL, Redis, JWT.
    for component in [
        "database",
        "cache",
        "rate-limit",
        "auth",
        "metrics",
        "tracing",
        "openapi",
        "http-cache",
        "docker",
        "kubernetes",
        "ci",
    ] {
        stanchion()
            .args(["add", component, "--yes", "--dir"])
            .arg(&project)
            .assert()
            .success()
            .stderr(predicate::str::contains(format!("added `{component}`")));
    }
    for file in [
        "src/db.rs",
        "src/products/mod.rs",
        "build.rs",
        "migrations/0001_create_products.sql",
        "migrations/20261202000100_create_idempotency_keys.sql",
        "tests/it/products.rs",
        "src/metrics.rs",
        "deploy/prometheus/alerts.yml",
        "src/otel.rs",
        "src/openapi.rs",
        "tests/it/openapi_conformance/mod.rs",
        "src/http_cache.rs",
        "src/cache.rs",
        "tests/it/cache.rs",
        "src/rate_limit/mod.rs",
        "tests/it/rate_limit.rs",
        "src/auth/mod.rs",
        "tests/it/auth.rs",
        "tests/it/common/mod.rs",
        "migrations/0002_create_users.sql",
        "Dockerfile",
        "deploy/kubernetes/deployment.yaml",
        ".github/workflows/ci.yml",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    // A freshly generated project with the same answers is identical.
    let fresh = tmp.path().join("fresh");
    stanchion()
        .args([
            "new",
            "add-minimal",
            "--preset",
            "minimal",
            "--yes",
            "--set",
            "database=postgres",
            "--set",
            "cache=redis",
            "--set",
            "rate_limit=redis",
            "--set",
            "auth=jwt",
            "--set",
            "metrics=true",
            "--set",
            "tracing=true",
            "--set",
            "openapi=true",
            "--set",
            "http_cache=true",
            "--set",
            "deploy=docker,kubernetes,ci",
            "--dir",
        ])
        .arg(&fresh)
        .assert()
        .success();
    // `new` also writes a `.env` with a fresh development secret (random, so
    // never equal, and never part of what is generated or recorded), and a
    // Cargo.lock for its dependencies, which `add` leaves to the user and
    // cargo (tests/it/lockfile.rs).
    let secrets = fs::read_to_string(fresh.join(".env")).unwrap();
    assert!(secrets.contains("JWT_SECRET="), "{secrets}");
    let generated = |dir: &Path| {
        let mut files = project_files(dir);
        files.retain(|(path, _)| path != ".env" && path != "Cargo.lock");
        files
    };
    assert!(
        generated(&project) == generated(&fresh),
        "add gives what new would have"
    );
    stanchion()
        .args(["regen", "--check", "--dir"])
        .arg(&project)
        .assert()
        .success();
    let before = fingerprint(&project);
    stanchion()
        .args(["regen", "database", "--check", "--dir"])
        .arg(&project)
        .assert()
        .success();
    stanchion()
        .args(["regen", "database", "--dir"])
        .arg(&project)
        .assert()
        .success();
    assert!(
        fingerprint(&project) == before,
        "regen database on an unedited project changes nothing"
    );
    cargo(
        &project,
        &["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"],
    );
    cargo_with_env(
        &project,
        &["test", "--quiet"],
        &[
            ("DATABASE_URL", &postgres_url()),
            ("REDIS_URL", &redis_url()),
        ],
    );
}

#[test]
fn remove_refuses_a_component_another_one_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = tmp.path().join("templates");
    overlay(&fixtures().join("templates/v1"), &templates);
    let k8s = templates.join("components/kubernetes");
    fs::create_dir_all(k8s.join("files")).unwrap();
    fs::write(
        k8s.join("component.toml"),
        "name = \"kubernetes\"\nsummary = \"needs the image\"\ndepends_on = [\"docker\"]\nselected_if = { key = \"deploy\", contains = \"kubernetes\" }\n\n[[choices]]\nquestion = \"deploy\"\nvalue = \"kubernetes\"\ndefault = false\n",
    )
    .unwrap();
    fs::write(k8s.join("files/deploy.yaml.hbs"), "image: {{dns_name}}\n").unwrap();
    let project = tmp.path().join("project");
    stanchion()
        .args([
            "new",
            "fixture-app",
            "--yes",
            "--set",
            "deploy=docker,kubernetes",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    refuses_in(
        &project,
        &[
            "remove",
            "docker",
            "--template-dir",
            templates.to_str().unwrap(),
        ],
        1,
        &[
            "cannot remove `docker`: `kubernetes` depends on it",
            "remove `kubernetes` first",
        ],
    );
    in_project(&["remove", "kubernetes"], &templates, &project)
        .assert()
        .success();
    assert!(!project.join("deploy.yaml").exists());
}

#[test]
fn a_dry_run_that_would_conflict_exits_3_and_json_names_actions_in_snake_case() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    generate_v1(&project);
    let case = fixtures().join("cases/same_lines_conflict");
    overlay(&case.join("before"), &project);
    let v2 = fixtures().join("templates/v2");
    let before = fingerprint(&project);
    in_project(&["regen", "--dry-run"], &v2, &project)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("would leave merge conflicts"));
    let out = in_project(&["regen", "--dry-run", "--json"], &v2, &project)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<&str> = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"conflict"), "{actions:?}");
    for action in &actions {
        assert!(
            action.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{action}"
        );
    }
    assert!(fingerprint(&project) == before, "a dry run writes nothing");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    generate_v1(&project);
    let v2 = fixtures().join("templates/v2");
    // `stanchion diff | head -c 1`: the reader goes away after one byte.
    let mut child = Command::new(env!("CARGO_BIN_EXE_stanchion"))
        .args(["diff", "--template-dir"])
        .arg(&v2)
        .arg("--dir")
        .arg(&project)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
}
