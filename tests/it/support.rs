//! Helpers shared by the integration tests: run the binary, render presets in
//! memory, and build generated projects in one shared target directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stanchion::answers::{self, Answers, Fallback, Layer, Value};
use stanchion::template::TemplateSet;
use stanchion::tree::Tree;

/// The `stanchion` binary, with colour off and a clean environment for answers.
pub(crate) fn stanchion() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("stanchion").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Answers for `preset` with project `name`.
pub(crate) fn preset_answers(preset: &str, name: &str) -> stanchion::Result<Answers> {
    let templates = TemplateSet::embedded()?;
    let layer = Layer {
        origin: "test".into(),
        explicit: true,
        values: [("name".to_owned(), Value::Str(name.into()))].into(),
    };
    answers::resolve(
        &templates.catalog,
        &[layer, Layer::from_preset(&templates.presets[preset])],
        Fallback::Defaults,
    )
}

/// Answers from explicit `key=value` pairs plus defaults.
pub(crate) fn answers_from(pairs: &[(&str, Value)]) -> stanchion::Result<Answers> {
    let layer = Layer {
        origin: "test".into(),
        explicit: true,
        values: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    };
    answers::resolve(
        &TemplateSet::embedded()?.catalog,
        &[layer],
        Fallback::Defaults,
    )
}

/// Renders the full project tree for `answers` from the embedded templates.
pub(crate) fn render(answers: &Answers) -> stanchion::Result<Tree> {
    stanchion::generate(&TemplateSet::embedded()?, answers)
}

/// Every file under `dir`, relative, sorted.
pub(crate) fn list_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

/// The repository root.
pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The one target directory every generated project builds into, so their
/// dependencies compile once.
pub(crate) fn generated_target_dir() -> PathBuf {
    std::env::var_os("STANCHION_GENERATED_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/generated"))
}

/// The PostgreSQL server the generated projects' tests use: `DATABASE_URL` when
/// set, else the machine's own if it answers at 127.0.0.1:5432 (trust
/// authentication, as `.ci/run` starts it), else a private one for this test
/// process; see [`crate::services`].
pub(crate) fn postgres_url() -> String {
    crate::services::postgres_url()
}

/// The Redis server the generated projects' tests use: `REDIS_URL` when set,
/// else the machine's own if it answers at 127.0.0.1:6379, else a private one
/// for this test process; see [`crate::services`].
pub(crate) fn redis_url() -> String {
    crate::services::redis_url()
}

/// Runs `cargo ARGS` in `project` with the shared target directory; panics with
/// the output when it fails.
pub(crate) fn cargo(project: &Path, args: &[&str]) -> Output {
    cargo_with_env(project, args, &[])
}

/// [`cargo`] with extra environment variables, such as `DATABASE_URL` for a
/// project's own tests.
pub(crate) fn cargo_with_env(project: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(project)
        .env("CARGO_TARGET_DIR", generated_target_dir())
        // One-shot builds: no debug info and no incremental caches keep the
        // shared target directory a fraction of the size, and links fast.
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "`cargo {}` failed in {}:\n{}\n{}",
        args.join(" "),
        project.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
