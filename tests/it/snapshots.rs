//! Snapshots of what each preset renders: the file list and every file's
//! contents (base copies are listed, not repeated; nor are binary files and
//! large vendored ones, whose hash stands in). A template change shows up
//! here as a reviewable diff (`cargo insta review`).

use sha2::{Digest, Sha256};
use stanchion::answers::{Layer, Value};

use crate::support::{preset_answers, render, stanchion};

/// The whole tree as one reviewable text.
fn tree_text(preset: &str) -> String {
    text_of(preset_answers(preset, "snap-api").and_then(|a| render(&a)))
}

/// The tree of the `minimal` preset with `overrides` on top.
fn minimal_with(overrides: &[(&str, Value)]) -> String {
    let layer = Layer {
        origin: "test".into(),
        explicit: true,
        values: [("name", Value::Str("snap-api".into()))]
            .iter()
            .chain(overrides)
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    };
    let templates = stanchion::template::TemplateSet::embedded().expect("embedded templates");
    let answers = stanchion::answers::resolve(
        &templates.catalog,
        &[layer, Layer::from_preset(&templates.presets["minimal"])],
        stanchion::answers::Fallback::Defaults,
    );
    text_of(answers.and_then(|a| render(&a)))
}

fn text_of(tree: stanchion::Result<stanchion::tree::Tree>) -> String {
    let tree = match tree {
        Ok(tree) => tree,
        Err(e) => return format!("error: {e}\n"),
    };
    let mut text = String::from("# files\n");
    // The lockfile follows crate releases, not templates: tests/it/lockfile.rs
    // checks it, and cargo's `--locked` builds of every row.
    let files = || tree.iter().filter(|(p, _)| *p != "Cargo.lock");
    for (path, contents) in files() {
        text.push_str(&format!("{:>7}  {path}\n", contents.len()));
    }
    for (path, contents) in files().filter(|(p, _)| !p.starts_with(".stanchion/")) {
        text.push_str(&format!("\n# ==== {path} ====\n"));
        match std::str::from_utf8(contents) {
            Ok(contents) if contents.len() <= VERBATIM_LIMIT => text.push_str(contents),
            // Vendored files (Swagger UI's minified bundle, icons): a hash says
            // whether they changed, and nobody reviews them line by line.
            _ => {
                text.push_str("sha256 ");
                for byte in Sha256::digest(contents) {
                    text.push_str(&format!("{byte:02x}"));
                }
                text.push('\n');
            }
        }
    }
    text
}

/// The largest text file whose contents a snapshot repeats.
const VERBATIM_LIMIT: usize = 100_000;

#[test]
fn minimal_preset() {
    insta::assert_snapshot!(tree_text("minimal"));
}

#[test]
fn local_preset() {
    insta::assert_snapshot!(tree_text("local"));
}

#[test]
fn minimal_with_postgres_and_a_read_replica() {
    insta::assert_snapshot!(minimal_with(&[
        ("database", Value::Str("postgres".into())),
        ("read_replica", Value::Bool(true)),
    ]));
}

#[test]
fn minimal_with_sqlite() {
    insta::assert_snapshot!(minimal_with(&[("database", Value::Str("sqlite".into()))]));
}

#[test]
fn minimal_with_sqlite_memory_cache_and_rate_limit_and_auth() {
    insta::assert_snapshot!(minimal_with(&[
        ("database", Value::Str("sqlite".into())),
        ("cache", Value::Str("memory".into())),
        ("rate_limit", Value::Str("memory".into())),
        ("auth", Value::Str("jwt".into())),
    ]));
}

#[test]
fn minimal_with_postgres_redis_cache_and_rate_limit_and_auth() {
    insta::assert_snapshot!(minimal_with(&[
        ("database", Value::Str("postgres".into())),
        ("cache", Value::Str("redis".into())),
        ("rate_limit", Value::Str("redis".into())),
        ("rate_limit_max", Value::Int(50)),
        ("rate_limit_window_secs", Value::Int(60)),
        ("auth", Value::Str("jwt".into())),
    ]));
}

#[test]
fn full_preset() {
    insta::assert_snapshot!(tree_text("full"));
}

#[test]
fn dry_run_output_with_temp_paths_redacted() {
    let tmp = tempfile::tempdir().unwrap();
    let output = stanchion()
        .args([
            "new",
            "snap-api",
            "--preset",
            "minimal",
            "--yes",
            "--dry-run",
            "--dir",
        ])
        .arg(tmp.path().join("snap-api"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let tmp_path = regex::escape(&tmp.path().display().to_string());
    insta::with_settings!({ filters => vec![(tmp_path.as_str(), "[TMP]")] }, {
        insta::assert_snapshot!(text);
    });
}
