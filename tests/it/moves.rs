//! Files a newer template set generates under another path: `regen` carries
//! the user's edits of the old file to the new one.
//!
//! A team's `ledger` component (`tests/fixtures/moves/`) moves its two files
//! into `src/ledger/` between `v1` and `v2`, declared with `[[moved]]`, and
//! changes one of them on the way. Each test generates a project from a copy of
//! `templates/` plus `v1`, edits it as a user would, and regenerates with a copy
//! plus `v2` through the binary.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{list_files, repo_root, stanchion};

const OLD: &str = "src/ledger.rs";
const NEW: &str = "src/ledger/mod.rs";
const OLD_ENTRY: &str = "src/ledger_entry.rs";
const NEW_ENTRY: &str = "src/ledger/entry.rs";

/// The user's edit, far from the template's change.
const USER_METHOD: &str = "    /// The sum of all amounts.\n    pub fn total(&self) -> i64 {\n        self.entries.iter().map(|e| e.amount).sum()\n    }\n";

/// A project generated from `v1`, and the `v2` template directory.
struct Fixture {
    _tmp: tempfile::TempDir,
    project: PathBuf,
    v2: PathBuf,
}

/// Copies every file under `from` into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for file in list_files(from) {
        let dest = to.join(&file);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(from.join(&file), dest).unwrap();
    }
}

/// stanchion's templates plus the ledger component of `version`.
fn templates(root: &Path, version: &str) -> PathBuf {
    let dst = root.join(version);
    copy_tree(&repo_root().join("templates"), &dst);
    copy_tree(
        &repo_root()
            .join("tests/fixtures/moves")
            .join(version)
            .join("ledger"),
        &dst.join("components/ledger"),
    );
    dst
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = templates(tmp.path(), "v1");
    let v2 = templates(tmp.path(), "v2");
    let project = tmp.path().join("shop");
    stanchion()
        .args(["new", "shop", "--yes", "--preset", "minimal"])
        .args(["--set", "ledger=true", "--template-dir"])
        .arg(&v1)
        .arg("--dir")
        .arg(&project)
        .assert()
        .success();
    assert!(project.join(OLD).is_file() && project.join(OLD_ENTRY).is_file());
    Fixture {
        _tmp: tmp,
        project,
        v2,
    }
}

impl Fixture {
    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.project.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn write(&self, path: &str, text: &str) {
        let dest = self.project.join(path);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, text).unwrap();
    }

    fn exists(&self, path: &str) -> bool {
        self.project.join(path).exists()
    }

    /// Edits the ledger module as a user would: a method of their own.
    fn add_user_method(&self) {
        let text = self.read(OLD);
        let edited = text.replacen(
            "    /// Whether there are none.",
            &format!("{USER_METHOD}\n    /// Whether there are none."),
            1,
        );
        assert_ne!(edited, text);
        self.write(OLD, &edited);
    }

    /// `stanchion ARGS --template-dir v2 --dir PROJECT`.
    fn run(&self, args: &[&str]) -> std::process::Output {
        stanchion()
            .args(args)
            .arg("--template-dir")
            .arg(&self.v2)
            .arg("--dir")
            .arg(&self.project)
            .output()
            .unwrap()
    }

    /// Every file of the project, with its contents.
    fn fingerprint(&self) -> Vec<(String, Vec<u8>)> {
        list_files(&self.project)
            .into_iter()
            .map(|f| {
                let bytes = fs::read(self.project.join(&f)).unwrap();
                (f, bytes)
            })
            .collect()
    }

    /// The paths `stanchion.toml` records.
    fn recorded(&self) -> Vec<String> {
        let doc: toml_edit::DocumentMut = self.read("stanchion.toml").parse().unwrap();
        doc["files"]
            .as_table()
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_owned())
            .collect()
    }
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn v2_file(path: &str) -> String {
    let src = repo_root()
        .join("tests/fixtures/moves/v2/ledger/files")
        .join(path);
    fs::read_to_string(src).unwrap()
}

#[test]
fn edits_follow_a_moved_file_and_the_record_follows_too() {
    let fx = fixture();
    fx.add_user_method();
    let entry_before = fx.read(OLD_ENTRY);

    let output = fx.run(&["regen"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("  moved      src/ledger.rs -> src/ledger/mod.rs (your edits carried over)"),
        "{err}"
    );
    assert!(
        err.contains("  moved      src/ledger_entry.rs -> src/ledger/entry.rs\n"),
        "{err}"
    );

    // The user's edit and the template's change, at the new path.
    let module = fx.read(NEW);
    assert!(module.contains(USER_METHOD), "{module}");
    assert!(
        module.contains("pub mod entry;\n\nuse entry::Entry;"),
        "{module}"
    );
    assert!(!module.contains("ledger_entry"), "{module}");
    // The unedited file is simply at its new path.
    assert_eq!(fx.read(NEW_ENTRY), entry_before);
    assert!(!fx.exists(OLD) && !fx.exists(OLD_ENTRY));
    assert!(!fx.read("src/lib.rs").contains("ledger_entry"));

    // The record and the base copies follow the files.
    let recorded = fx.recorded();
    for path in [NEW, NEW_ENTRY] {
        assert!(recorded.iter().any(|p| p == path), "{recorded:?}");
        assert_eq!(fx.read(&format!(".stanchion/base/{path}")), v2_file(path));
    }
    for path in [OLD, OLD_ENTRY] {
        assert!(!recorded.iter().any(|p| p == path), "{recorded:?}");
        assert!(!fx.exists(&format!(".stanchion/base/{path}")), "{path}");
    }

    // A second run changes nothing.
    let before = fx.fingerprint();
    let again = fx.run(&["regen"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("up to date"), "{}", stderr(&again));
    assert!(fx.run(&["regen", "--check"]).status.success());
    assert_eq!(fx.fingerprint(), before);
}

#[test]
fn a_moved_file_edited_on_the_templates_lines_gets_markers_and_exit_3() {
    let fx = fixture();
    let text = fx.read(OLD);
    fx.write(
        OLD,
        &text.replace(
            "use crate::ledger_entry::Entry;",
            "use crate::ledger_entry::{Entry as Line, Entry};",
        ),
    );

    let output = fx.run(&["regen"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains("  conflict   src/ledger.rs -> src/ledger/mod.rs"),
        "{err}"
    );
    assert!(
        err.contains("merge conflicts in 1 file(s): `src/ledger/mod.rs`"),
        "{err}"
    );
    let module = fx.read(NEW);
    assert!(
        module.contains(
            "<<<<<<< yours\nuse crate::ledger_entry::{Entry as Line, Entry};\n=======\npub mod entry;\n\nuse entry::Entry;\n>>>>>>> stanchion\n"
        ),
        "{module}"
    );
    assert!(!fx.exists(OLD), "nothing is left at the old path");

    // Resolved by hand, the project is current.
    fx.write(
        NEW,
        &v2_file(NEW).replace("use entry::Entry;", "use entry::{Entry as Line, Entry};"),
    );
    let again = fx.run(&["regen", "--check"]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn a_dry_run_lists_the_move_and_writes_nothing() {
    let fx = fixture();
    fx.add_user_method();
    let before = fx.fingerprint();

    let output = fx.run(&["regen", "--dry-run"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("  moved      src/ledger.rs -> src/ledger/mod.rs (your edits carried over)"),
        "{err}"
    );
    assert!(err.contains("would be changed"), "{err}");
    let diff = String::from_utf8_lossy(&output.stdout);
    assert!(
        diff.contains("--- a/src/ledger.rs\n+++ b/src/ledger/mod.rs\n"),
        "{diff}"
    );
    assert!(diff.contains("+pub mod entry;"), "{diff}");

    let json = fx.run(&["regen", "--dry-run", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let files = status["files"].as_array().unwrap();
    let moved = files.iter().find(|f| f["path"] == NEW).unwrap();
    assert_eq!(moved["action"], "move_merge", "{moved}");
    assert_eq!(moved["moved_from"], OLD, "{moved}");
    let entry = files.iter().find(|f| f["path"] == NEW_ENTRY).unwrap();
    assert_eq!(entry["action"], "move", "{entry}");
    assert!(
        files.iter().all(|f| f["path"] != OLD),
        "the old path is no entry of its own: {status:#}"
    );

    assert_eq!(
        fx.run(&["regen", "--check"]).status.code(),
        Some(1),
        "a move is a change"
    );
    assert!(fx.run(&["diff"]).status.success());
    assert_eq!(fx.fingerprint(), before, "nothing was written");
}

#[test]
fn a_users_own_file_at_the_new_path_is_never_overwritten() {
    let fx = fixture();
    fx.add_user_method();
    fx.write(NEW, "// my own notes, not stanchion's\n");
    let before = fx.fingerprint();

    for args in [&["regen"][..], &["regen", "--dry-run"], &["diff"]] {
        let output = fx.run(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot move `src/ledger.rs` to `src/ledger/mod.rs`"),
            "{err}"
        );
        assert!(
            err.contains("help: nothing was written; rename your `src/ledger/mod.rs`"),
            "{err}"
        );
    }
    assert_eq!(fx.fingerprint(), before);

    // Out of the way, the move goes ahead.
    fs::rename(fx.project.join(NEW), fx.project.join("notes.rs")).unwrap();
    let output = fx.run(&["regen"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(fx.read(NEW).contains(USER_METHOD));
    assert_eq!(fx.read("notes.rs"), "// my own notes, not stanchion's\n");
}

#[test]
fn a_deleted_file_that_moved_stays_deleted_until_restored() {
    let fx = fixture();
    fs::remove_file(fx.project.join(OLD)).unwrap();

    let output = fx.run(&["regen"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("  skipped    src/ledger.rs -> src/ledger/mod.rs (you deleted it; `--restore` brings it back)"),
        "{err}"
    );
    assert!(!fx.exists(OLD) && !fx.exists(NEW));
    assert!(fx.recorded().iter().any(|p| p == NEW));
    assert!(fx.run(&["regen", "--check"]).status.success());

    let output = fx.run(&["regen", "--restore"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fx.read(NEW), v2_file(NEW));
}

#[test]
fn a_file_the_user_moved_by_hand_gets_the_templates_change() {
    let fx = fixture();
    fx.add_user_method();
    fs::create_dir_all(fx.project.join("src/ledger")).unwrap();
    fs::rename(fx.project.join(OLD), fx.project.join(NEW)).unwrap();

    let output = fx.run(&["regen"]);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    let module = fx.read(NEW);
    assert!(module.contains(USER_METHOD), "{module}");
    assert!(module.contains("pub mod entry;"), "{module}");
    assert!(fx.run(&["regen", "--check"]).status.success());
}
