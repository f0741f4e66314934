//! A team's own component, kept outside stanchion's templates
//! (`tests/fixtures/components/audit`), used exactly like a built-in one: listed,
//! asked for with `--set`, added, regenerated and removed, and the project it
//! makes builds, passes clippy and answers the component's route over HTTP.
//!
//! The component plugs into the base only through the base's slots, so this is
//! the test that the base names no component: a component stanchion has never
//! heard of needs no change anywhere else.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::PredicateBooleanExt;

use crate::e2e::{agent, check_base_contract, start, stop};
use crate::support::{cargo, generated_target_dir, repo_root, stanchion};

/// stanchion's templates plus the fixture component, in `root/templates`.
pub(crate) fn team_templates(root: &Path) -> PathBuf {
    let dst = root.join("templates");
    let copy = |src: &Path, dst: &Path| {
        for entry in walkdir::WalkDir::new(src) {
            let entry = entry.unwrap();
            let to = dst.join(entry.path().strip_prefix(src).unwrap());
            if entry.file_type().is_dir() {
                fs::create_dir_all(&to).unwrap();
            } else {
                fs::copy(entry.path(), &to).unwrap();
            }
        }
    };
    copy(&repo_root().join("templates"), &dst);
    copy(
        &repo_root().join("tests/fixtures/components/audit"),
        &dst.join("components/audit"),
    );
    dst
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_teams_component_is_listed_and_refused_by_the_builtin_set() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = team_templates(tmp.path());
    stanchion()
        .args(["components", "--template-dir"])
        .arg(&templates)
        .assert()
        .success()
        .stdout(
            predicates::str::contains("audit ")
                .and(predicates::str::contains("selected when `audit` is true")),
        );
    // Without its template directory, `audit` is no question of stanchion's.
    stanchion()
        .args(["new", "shop", "--yes", "--set", "audit=true", "--dir"])
        .arg(tmp.path().join("shop"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown answer `audit`"));
    assert!(!tmp.path().join("shop").exists());
}

#[test]
fn a_teams_component_is_added_regenerated_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = team_templates(tmp.path());
    let project = tmp.path().join("shop");
    stanchion()
        .args([
            "new",
            "shop",
            "--yes",
            "--preset",
            "minimal",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    assert!(!project.join("src/audit.rs").exists());

    let in_project = |args: &[&str]| {
        let mut cmd = stanchion();
        cmd.args(args)
            .arg("--template-dir")
            .arg(&templates)
            .current_dir(&project);
        cmd
    };
    in_project(&["add", "audit", "--yes"])
        .assert()
        .success()
        .stderr(predicates::str::contains("added `audit`"));
    assert!(project.join("src/audit.rs").is_file());
    assert!(read(&project.join("src/lib.rs")).contains("audit::mount(router)"));
    assert!(read(&project.join(".env.example")).contains("AUDIT_LABEL=shop"));
    assert!(read(&project.join("stanchion.toml")).contains("audit = true"));

    in_project(&["regen"])
        .assert()
        .success()
        .stderr(predicates::str::contains("up to date"));
    in_project(&["regen", "audit", "--check"])
        .assert()
        .success();

    in_project(&["remove", "audit"]).assert().success();
    assert!(!project.join("src/audit.rs").exists());
    assert!(!read(&project.join("src/lib.rs")).contains("audit"));
    assert!(!read(&project.join(".env.example")).contains("AUDIT_LABEL"));
}

#[test]
fn a_project_with_a_teams_component_builds_and_serves_its_route() {
    let tmp = tempfile::tempdir().unwrap();
    let templates = team_templates(tmp.path());
    let name = "team-audit";
    let project = tmp.path().join(name);
    stanchion()
        .args(["new", name, "--yes", "--preset", "minimal"])
        .args([
            "--set",
            "audit=true",
            "--set",
            "metrics=true",
            "--template-dir",
        ])
        .arg(&templates)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    let cargo_toml = read(&project.join("Cargo.toml"));
    assert!(cargo_toml.contains("itoa = \"1\""), "{cargo_toml}");
    assert!(read(&project.join("README.md")).contains("## Audit"));
    cargo(&project, &["fmt", "--check"]);
    cargo(
        &project,
        &["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"],
    );
    // The team's test module runs in the project's one test binary.
    let tests = cargo(&project, &["test", "--quiet", "--test", "it", "audit::"]);
    let summary = String::from_utf8_lossy(&tests.stdout);
    assert!(summary.contains("test result: ok. 1 passed"), "{summary}");
    cargo(&project, &["build", "--quiet"]);
    let binary = generated_target_dir().join("debug").join(name);
    let service = start(&binary, &project, &[("AUDIT_LABEL", "team")]);
    check_base_contract(&service);
    let response = agent()
        .get(format!("{}/audit/stats", service.base))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-audit"], "team");
    let count: u64 = response.headers()["x-audit-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 2, "the earlier requests were counted too: {count}");
    let body: serde_json::Value =
        serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
    assert!(body["requests"].as_u64().unwrap() >= 2, "{body}");
    // The team's component did not push the base's own routes aside.
    let metrics = agent()
        .get(format!("{}/metrics", service.base))
        .call()
        .unwrap();
    assert_eq!(metrics.status(), 200);
    stop(service);
}
