//! Keeping a generated project current: `regen`, `add`, `remove` and `diff`.
//!
//! Every command follows the same three steps. It works out the new answers
//! (unchanged for `regen`, one component switched on or off for `add` and
//! `remove`, `--set` applied on top), renders the whole project in memory, and
//! [`plan`]s file by file against the record and the user's files — replace what
//! the user never touched, keep what only the user changed, three-way merge what
//! both changed. Only then does anything touch the disk, all files in one step;
//! a `--dry-run`, `diff` or `--check` stops before that.

mod merge;
mod plan;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use merge::{Merged, has_conflict_markers, merge_manifest, merge_text};
pub use plan::{Action, FileChange, Plan, Recorded, Snapshot, plan};

use crate::answers::{self, Answers, Fallback, Kind, Layer, Prompter, Value, question};
use crate::error::{Error, Result, closest};
use crate::project::record::{BASE_DIR, RECORD_FILE, Record, sha256_hex};
use crate::template::{KNOWN_COMPONENTS, TemplateSet, render};
use crate::tree::Tree;

/// A generated project found on disk.
#[derive(Debug)]
pub struct Project {
    /// Its root directory (where `stanchion.toml` is).
    pub root: PathBuf,
    /// Its parsed record.
    pub record: Record,
}

impl Project {
    /// Finds the project containing `start` (it or a parent holds `stanchion.toml`).
    pub fn find(start: &Path) -> Result<Project> {
        let start_abs = std::path::absolute(start).map_err(|e| Error::io("resolve", start, e))?;
        let root = start_abs
            .ancestors()
            .find(|dir| dir.join(RECORD_FILE).is_file())
            .ok_or_else(|| Error::NotAProject {
                path: start.to_owned(),
            })?
            .to_owned();
        let record = Record::load(&root)?;
        Ok(Project { root, record })
    }

    /// The answers recorded, validated; answers that no longer apply are dropped.
    pub fn answers(&self, overrides: &[Layer]) -> Result<Answers> {
        let mut layers = overrides.to_vec();
        let mut recorded = self.record.answers_layer();
        recorded.explicit = false;
        layers.push(recorded);
        answers::resolve(&layers, Fallback::Defaults)
    }

    /// Reads the user's files and base copies at `paths`.
    pub fn snapshot<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Result<Snapshot> {
        let mut snapshot = Snapshot {
            recorded: self.record.files(),
            ..Snapshot::default()
        };
        for path in paths {
            if let Some(bytes) = read_if_exists(&self.root.join(path))? {
                snapshot.current.insert(path.to_owned(), bytes);
            }
            if let Some(bytes) = read_if_exists(&self.root.join(BASE_DIR).join(path))? {
                snapshot.base.insert(path.to_owned(), bytes);
            }
        }
        Ok(snapshot)
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// What one run would do, decided and not yet written.
#[derive(Debug)]
pub struct Outcome {
    /// The per-file decisions.
    pub plan: Plan,
    /// The answers the project is rendered with.
    pub answers: Answers,
    /// The record as it will be written.
    pub record: Record,
    /// Whether the record changes (answers, hashes).
    pub record_changed: bool,
    /// Base copies as they are now, to write only those that change.
    base_before: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Outcome {
    /// Whether the run would change anything on disk.
    pub fn is_noop(&self) -> bool {
        !self.record_changed && self.plan.file_changes().next().is_none()
    }
}

/// Renders `answers` and plans the files of components in `scope`.
pub fn prepare(
    project: &Project,
    templates: &TemplateSet,
    answers: Answers,
    scope: &dyn Fn(&str) -> bool,
    restore: bool,
) -> Result<Outcome> {
    let rendered = render(templates, &answers)?;
    let recorded = project.record.files();
    let paths: BTreeSet<&str> = recorded
        .keys()
        .map(String::as_str)
        .chain(rendered.files.keys().map(String::as_str))
        .collect();
    let snapshot = project.snapshot(paths)?;
    let plan = plan::plan(&snapshot, &rendered, scope, restore);

    let marked: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| {
            c.before
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok())
                .is_some_and(has_conflict_markers)
        })
        .map(|c| c.path.clone())
        .collect();
    if !marked.is_empty() {
        return Err(Error::UnresolvedConflicts { paths: marked });
    }

    let mut record = project.record.clone();
    record.set_answers(answers.values());
    for change in &plan.changes {
        match &change.base_after {
            Some(base) => record.set_file(&change.path, &change.component, &sha256_hex(base)),
            None => record.remove_file(&change.path),
        }
    }
    let record_changed = record.to_string() != project.record.to_string();
    if record_changed {
        record.touch_version();
    }
    Ok(Outcome {
        plan,
        answers,
        record,
        record_changed,
        base_before: snapshot.base,
    })
}

/// Writes an outcome: files, base copies and record together.
pub fn apply(project: &Project, outcome: &Outcome) -> Result<()> {
    let mut writes = Tree::new();
    let mut deletes = Vec::new();
    for change in &outcome.plan.changes {
        if change.writes() {
            match &change.after {
                Some(after) => writes.insert(change.path.clone(), after.clone()),
                None => deletes.push(change.path.clone()),
            }
        }
        let base_path = format!("{BASE_DIR}/{}", change.path);
        match (&change.base_after, outcome.base_before.get(&change.path)) {
            (Some(new), Some(old)) if new == old => {}
            (Some(new), _) => writes.insert(base_path, new.clone()),
            (None, Some(_)) => deletes.push(base_path),
            (None, None) => {}
        }
    }
    if outcome.record_changed {
        writes.insert(RECORD_FILE, outcome.record.to_string());
    }
    crate::project::write::apply_changes(&project.root, &writes, &deletes)
}

/// How a command reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Report {
    /// Print a JSON status to stdout instead of lines to stderr.
    pub json: bool,
}

/// Prints what an outcome does (or would do).
pub fn report(outcome: &Outcome, how: Report, applied: bool) -> Result<()> {
    if how.json {
        let files: Vec<serde_json::Value> = outcome
            .plan
            .changes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "path": c.path,
                    "component": c.component,
                    "action": format!("{:?}", c.action).to_lowercase(),
                    "changes_file": c.writes(),
                })
            })
            .collect();
        let status = serde_json::json!({
            "applied": applied,
            "changed": !outcome.is_noop(),
            "conflicts": outcome.plan.conflicts().map(|c| c.path.clone()).collect::<Vec<_>>(),
            "files": files,
        });
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{status:#}").map_err(|e| Error::io("write", "<stdout>", e));
    }
    let mut err = std::io::stderr().lock();
    for change in &outcome.plan.changes {
        if matches!(change.action, Action::Unchanged) {
            continue;
        }
        let note = change.action.note();
        let _ = if note.is_empty() {
            writeln!(err, "  {:<10} {}", change.action.label(), change.path)
        } else {
            writeln!(
                err,
                "  {:<10} {} ({note})",
                change.action.label(),
                change.path
            )
        };
    }
    let verb = if applied { "" } else { " would be" };
    let _ = if outcome.is_noop() {
        writeln!(err, "up to date: nothing to regenerate")
    } else {
        writeln!(
            err,
            "{} file(s){verb} changed",
            outcome.plan.file_changes().count()
        )
    };
    Ok(())
}

/// Prints unified diffs of what would change.
pub fn print_diff(outcome: &Outcome) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for change in outcome.plan.file_changes() {
        let text = |b: &Option<Vec<u8>>| {
            b.as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let (before, after) = (text(&change.before), text(&change.after));
        let mut options = diffy::DiffOptions::new();
        options
            .set_original_filename(if change.before.is_some() {
                format!("a/{}", change.path)
            } else {
                "/dev/null".into()
            })
            .set_modified_filename(if change.after.is_some() {
                format!("b/{}", change.path)
            } else {
                "/dev/null".into()
            });
        let patch = options.create_patch(&before, &after);
        write!(out, "{patch}").map_err(|e| Error::io("write", "<stdout>", e))?;
    }
    Ok(())
}

/// Checks component names given on the command line.
pub fn check_component_names(templates: &TemplateSet, names: &[String]) -> Result<()> {
    let known: Vec<&str> = KNOWN_COMPONENTS
        .iter()
        .copied()
        .chain(templates.components.keys().map(String::as_str))
        .collect();
    for name in names {
        if !known.contains(&name.as_str()) {
            return Err(Error::UnknownComponent {
                name: name.clone(),
                suggestion: closest(name, known.iter().copied()),
            });
        }
    }
    Ok(())
}

/// The answer that switches `component` on, given the current answers; for a
/// choice, `choice` if given, else the first option that is not `none`.
pub fn enabling_answer(
    component: &str,
    answers: &Answers,
    choice: Option<&str>,
) -> Option<(&'static str, Value)> {
    let key = match component {
        "docker" | "kubernetes" | "ci" => {
            let mut deploy = answers.deploy.clone();
            deploy.push(component.to_owned());
            let value = question("deploy")?.parse(&Value::List(deploy)).ok()?;
            return Some(("deploy", value));
        }
        "http-cache" => "http_cache",
        "rate-limit" => "rate_limit",
        other => question(other)?.key,
    };
    let q = question(key)?;
    let value = match q.kind {
        Kind::Bool => Value::Bool(true),
        Kind::Choice(choices) => Value::Str(choice.map(str::to_owned).or_else(|| {
            choices
                .iter()
                .find(|c| c.value != "none")
                .map(|c| c.value.to_owned())
        })?),
        _ => return None,
    };
    Some((q.key, value))
}

/// The answer that switches `component` off.
pub fn disabling_answer(component: &str, answers: &Answers) -> Option<(&'static str, Value)> {
    match component {
        "docker" | "kubernetes" | "ci" => {
            let deploy = answers
                .deploy
                .iter()
                .filter(|d| *d != component)
                .cloned()
                .collect();
            Some(("deploy", Value::List(deploy)))
        }
        "base" => None,
        _ => {
            let (key, on) = enabling_answer(component, answers, None)?;
            Some((
                key,
                match on {
                    Value::Bool(_) => Value::Bool(false),
                    _ => Value::Str("none".into()),
                },
            ))
        }
    }
}

/// Resolves the answers for `add component`: the recorded ones, `--set`, the
/// component's enabling answer, and questions that now apply from `fallback`.
pub fn answers_for_add(
    project: &Project,
    component: &str,
    set: &Layer,
    fallback: Fallback<'_>,
) -> Result<Answers> {
    let current = project.answers(&[])?;
    let mut recorded = project.record.answers_layer();
    recorded.explicit = false;
    let mut layers = vec![set.clone()];
    let asks = matches!(fallback, Fallback::Ask(_));
    if let Some((key, value)) = enabling_answer(component, &current, None) {
        if !set.values.contains_key(key) {
            let choice = question(key).is_some_and(|q| matches!(q.kind, Kind::Choice(_)));
            if choice && asks {
                // Let the prompt ask which one.
                recorded.values.remove(key);
            } else {
                layers.push(Layer {
                    origin: format!("`stanchion add {component}`"),
                    explicit: false,
                    values: [(key.to_owned(), value)].into(),
                });
            }
        }
    }
    // Questions that apply only now (a limit once rate limiting is on) are asked
    // or defaulted; everything recorded stays as it was.
    layers.push(recorded);
    answers::resolve(&layers, fallback)
}

/// A prompter adapter that offers the enabling answer as the default.
pub struct AddPrompter<'a> {
    /// The real prompter.
    pub inner: &'a mut dyn Prompter,
    /// The enabling answer, used as the default of its question.
    pub enabling: Option<(&'static str, Value)>,
}

impl Prompter for AddPrompter<'_> {
    fn ask(&mut self, q: &answers::Question, default: Option<Value>) -> Result<Value> {
        let default = match &self.enabling {
            Some((key, value)) if *key == q.key => Some(value.clone()),
            _ => default,
        };
        self.inner.ask(q, default)
    }

    fn note(&mut self, message: &str) {
        self.inner.note(message);
    }
}
