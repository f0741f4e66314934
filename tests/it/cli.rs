//! The command line, end to end through the binary: non-interactive `new`, dry
//! runs, and every bad input — exit code, message, and nothing written.

use std::fs;

use predicates::prelude::*;

use crate::support::{list_files, repo_root, stanchion};

#[test]
fn new_with_preset_and_yes_writes_the_project_and_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    stanchion()
        .current_dir(tmp.path())
        .args(["new", "shop-api", "--preset", "minimal", "--yes"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("Created `shop-api`"))
        .stderr(predicate::str::contains("cd shop-api"))
        .stderr(predicate::str::contains("cargo test"));
    let project = tmp.path().join("shop-api");
    let files = list_files(&project);
    for expected in [
        "Cargo.toml",
        "src/main.rs",
        "src/lib.rs",
        "stanchion.toml",
        ".stanchion/base/Cargo.toml",
        ".stanchion/base/src/main.rs",
        ".env.example",
        ".gitignore",
        "Dockerfile",
        ".github/workflows/ci.yml",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} missing from {files:?}"
        );
    }
    let record = fs::read_to_string(project.join("stanchion.toml")).unwrap();
    assert!(record.contains("name = \"shop-api\""), "{record}");
    assert!(record.contains("deploy = [\"docker\", \"ci\"]"), "{record}");
    assert!(
        record.contains("\"src/main.rs\" = { component = \"base\", sha256 = \""),
        "{record}"
    );
    // Every generated file has a base copy identical to it; the lockfile is
    // no component's file (regen leaves it to the user and cargo).
    assert!(files.iter().any(|f| f == "Cargo.lock"), "{files:?}");
    for file in files
        .iter()
        .filter(|f| !f.starts_with(".stanchion/") && *f != "stanchion.toml" && *f != "Cargo.lock")
    {
        assert_eq!(
            fs::read(project.join(file)).unwrap(),
            fs::read(project.join(".stanchion/base").join(file)).unwrap(),
            "{file}"
        );
    }
    let manifest = fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"shop-api\""));
    assert!(manifest.contains("[dependencies]"));
    assert!(manifest.contains("axum = "));
    // No staging directory is left beside the project.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn dry_run_prints_the_tree_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    stanchion()
        .current_dir(tmp.path())
        .args(["new", "shop", "--preset", "minimal", "--yes", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("  src/main.rs\n"))
        .stdout(predicate::str::contains("  stanchion.toml\n"))
        .stdout(predicate::str::contains(".stanchion/base/ ("))
        .stderr(predicate::str::contains("nothing was written"));
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Runs `stanchion ARGS` in a fresh directory holding one file of the user's,
/// expects failure with `code` and a message containing each of `needles`, and
/// checks the directory is exactly as before.
fn refuses(args: &[&str], code: i32, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("mine.txt"), "precious").unwrap();
    let assert = stanchion()
        .current_dir(tmp.path())
        .args(args)
        .assert()
        .failure()
        .code(code)
        .stdout("");
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    }
    assert_eq!(
        list_files(tmp.path()),
        ["mine.txt"],
        "something was written"
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("mine.txt")).unwrap(),
        "precious"
    );
}

#[test]
fn invalid_names_are_refused_with_a_suggestion() {
    refuses(
        &["new", "fn", "--yes"],
        2,
        &[
            "invalid project name `fn`",
            "Rust keyword",
            "help: try `fn-api`",
        ],
    );
    refuses(
        &["new", "My Shop", "--yes"],
        2,
        &["not allowed", "try `my-shop`"],
    );
    refuses(&["new", "test", "--yes"], 2, &["standard library"]);
    refuses(&["new", "con", "--yes"], 2, &["Windows"]);
    refuses(&["new", "--yes"], 2, &["a project name is required"]);
}

#[test]
fn missing_answers_without_a_terminal_name_yes_and_answers() {
    refuses(
        &["new", "shop"],
        2,
        &["missing answers for `description`", "--yes", "--answers"],
    );
    refuses(
        &["new", "shop", "--preset", "minimal"],
        2,
        &["`description`"],
    );
}

#[test]
fn bad_answers_are_refused() {
    refuses(
        &["new", "shop", "--yes", "--set", "database"],
        2,
        &["expected `key=value`"],
    );
    refuses(
        &["new", "shop", "--yes", "--set", "databse=none"],
        2,
        &["unknown answer `databse`", "did you mean `database`"],
    );
    refuses(
        &["new", "shop", "--yes", "--set", "cache=mongo"],
        2,
        &[
            "invalid answer `cache = mongo`",
            "`redis`, `memory`, `none`",
        ],
    );
    refuses(
        &["new", "shop", "--yes", "--set", "read_replica=true"],
        2,
        &["does not apply", "database = postgres"],
    );
    refuses(
        &["new", "shop", "--yes", "--set", "deploy=helm"],
        2,
        &["`helm` is not one of"],
    );
    refuses(
        &["new", "shop", "--yes", "--preset", "huge"],
        2,
        &["no preset named `huge`", "full, local, minimal"],
    );
}

#[test]
fn answers_of_components_a_template_set_lacks_are_unknown() {
    // A template set with only the base and docker: `metrics` is no question of
    // it, since questions come from the components that exist.
    let templates = repo_root().join("tests/fixtures/regen/templates/v1");
    let templates = templates.to_str().unwrap();
    refuses(
        &[
            "new",
            "shop",
            "--yes",
            "--set",
            "metrics=true",
            "--set",
            "deploy=docker",
            "--template-dir",
            templates,
        ],
        2,
        &["unknown answer `metrics`"],
    );
}

#[test]
fn a_bad_destination_is_refused_before_any_question() {
    // Without a terminal the answers are missing too, but the destination is
    // checked first: nobody answers questions only to be refused at the end.
    refuses(
        &["new", "mine.txt"],
        1,
        &["`mine.txt` exists and is not a directory"],
    );
}

#[test]
fn a_non_empty_destination_is_refused_without_force() {
    refuses(
        &["new", "shop", "--yes", "--dir", "."],
        1,
        &["destination `.` already exists and is not empty", "--force"],
    );
}

#[test]
fn force_lists_the_files_it_replaces_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("README.md"), "mine").unwrap();
    fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    stanchion()
        .current_dir(tmp.path())
        .args(["new", "shop", "--yes", "--dir", ".", "--force"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("replacing 1 existing files")
                .and(predicate::str::contains("  README.md\n")),
        );
    assert_eq!(
        fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(tmp.path().join("stanchion.toml").exists());
}

#[test]
fn answers_files_are_read_and_set_overrides_them() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("answers.toml");
    fs::write(
        &file,
        "# team defaults\nname = \"from-file\"\ndescription = \"Orders\"\ndeploy = [\"docker\"]\n",
    )
    .unwrap();
    stanchion()
        .current_dir(tmp.path())
        .args([
            "new",
            "--answers",
            "answers.toml",
            "--set",
            "deploy=ci,kubernetes",
            "--preset",
            "minimal",
        ])
        .assert()
        .success();
    let record = fs::read_to_string(tmp.path().join("from-file/stanchion.toml")).unwrap();
    assert!(record.contains("description = \"Orders\""), "{record}");
    assert!(
        record.contains("deploy = [\"kubernetes\", \"ci\"]"),
        "{record}"
    );

    // A generated project's stanchion.toml is itself a valid answers file.
    stanchion()
        .current_dir(tmp.path())
        .args([
            "new",
            "--answers",
            "from-file/stanchion.toml",
            "--set",
            "name=again",
        ])
        .assert()
        .success();
    let answers_of = |text: &str| {
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        let mut answers = doc["answers"].as_table().unwrap().clone();
        answers.remove("name");
        answers.to_string()
    };
    let again = fs::read_to_string(tmp.path().join("again/stanchion.toml")).unwrap();
    assert_eq!(answers_of(&again), answers_of(&record));
}

#[test]
fn broken_answers_files_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("bad.toml"), "name = \"x\"\ndatabase = \n").unwrap();
    stanchion()
        .current_dir(tmp.path())
        .args(["new", "--yes", "--answers", "bad.toml"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot use answers file `bad.toml`: invalid TOML")
                .and(predicate::str::contains("line 2")),
        );
    refuses(
        &["new", "--yes", "--answers", "missing.toml"],
        1,
        &["cannot use answers file `missing.toml`"],
    );
}

#[test]
fn components_lists_what_each_adds_and_what_is_not_available() {
    stanchion()
        .arg("components")
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^base +\S").unwrap())
        .stdout(predicate::str::contains("crates: "))
        .stdout(predicate::str::contains("files: "))
        .stdout(predicate::str::is_match(r"(?m)^docker +\S").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^database +PostgreSQL").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^cache +An application cache").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^metrics +Prometheus").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^tracing +OpenTelemetry").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^openapi +OpenAPI 3\.1").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^http-cache +HTTP caching").unwrap());
}

#[test]
fn help_documents_exit_codes_and_completions_are_generated() {
    stanchion().arg("--help").assert().success().stdout(
        predicate::str::contains("Exit codes:").and(predicate::str::contains("3  merge conflicts")),
    );
    stanchion()
        .args(["new", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--dry-run").and(predicate::str::contains(
                "Precedence: --set > --answers > --preset",
            )),
        );
    for shell in ["bash", "zsh", "fish"] {
        stanchion()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("stanchion").and(predicate::str::contains("preset")));
    }
    stanchion().arg("frobnicate").assert().code(2);
}

#[test]
fn next_steps_name_the_services_the_project_needs() {
    let tmp = tempfile::tempdir().unwrap();
    stanchion()
        .current_dir(tmp.path())
        .args(["new", "pg", "--yes", "--set", "database=postgres"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("docker compose up -d db")
                .and(predicate::str::contains("DATABASE_URL")),
        );
    stanchion()
        .current_dir(tmp.path())
        .args([
            "new",
            "pg-bare",
            "--yes",
            "--set",
            "database=postgres",
            "--set",
            "deploy=none",
        ])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("cp .env.example .env")
                .and(predicate::str::contains("DATABASE_URL")),
        );
    stanchion()
        .current_dir(tmp.path())
        .args(["new", "lite", "--yes", "--set", "database=sqlite"])
        .assert()
        .success()
        .stderr(predicate::str::contains("docker compose").not());
}
