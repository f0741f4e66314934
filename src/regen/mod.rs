//! Keeping a generated project current: `regen`, `add`, `remove` and `diff`.
//!
//! Every command follows the same three steps. It works out the new answers
//! (unchanged for `regen`, one component switched on or off for `add` and
//! `remove`, `--set` applied on top), renders the whole project in memory, and
//! [`plan`]s file by file against the record and the user's files — replace what
//! the user never touched, keep what only the user changed, three-way merge what
//! both changed. Only then does anything touch the disk, all files in one step;
//! a `--dry-run`, `diff` or `--check` stops before that. Files the templates
//! now generate under another path carry the user's edits along ([`moves`]).

mod merge;
mod moves;
mod plan;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use merge::{Merged, has_conflict_markers, merge_manifest, merge_text};
pub use plan::{Action, FileChange, MovedFrom, Plan, Recorded, Snapshot, plan, plan_with_moves};

use crate::answers::{self, Answers, Fallback, Kind, Layer, Prompter, Test, Value};
use crate::error::{Error, Result, closest};
use crate::project::record::{BASE_DIR, RECORD_FILE, Record, sha256_hex};
use crate::template::{TemplateSet, render};
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

    /// The answers recorded, validated against `templates`' questions; answers
    /// that no longer apply are dropped.
    pub fn answers(&self, templates: &TemplateSet, overrides: &[Layer]) -> Result<Answers> {
        let mut layers = overrides.to_vec();
        let mut recorded = self.record.answers_layer();
        recorded.explicit = false;
        layers.push(recorded);
        answers::resolve(&templates.catalog, &layers, Fallback::Defaults)
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
    let declared = templates
        .components
        .iter()
        .filter(|(_, c)| !c.manifest.moved.is_empty())
        .map(|(name, c)| (name.clone(), c.manifest.moved.clone()))
        .collect();
    let plan = plan::plan_with_moves(&snapshot, &rendered, &declared, scope, restore);

    let marked_text = |b: &Option<Vec<u8>>| {
        b.as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
            .is_some_and(has_conflict_markers)
    };
    let marked: Vec<String> = plan
        .changes
        .iter()
        .flat_map(|c| {
            let old = c.moved_from.as_ref().filter(|m| marked_text(&m.before));
            let here = marked_text(&c.before).then(|| c.path.clone());
            here.into_iter().chain(old.map(|m| m.path.clone()))
        })
        .collect();
    if !marked.is_empty() {
        return Err(Error::UnresolvedConflicts { paths: marked });
    }
    if let Some(blocked) = plan.blocked_moves.first() {
        return Err(Error::MoveBlocked {
            from: blocked.from.clone(),
            to: blocked.to.clone(),
        });
    }

    let mut record = project.record.clone();
    record.set_answers(&answers);
    for change in &plan.changes {
        if let Some(moved) = &change.moved_from {
            record.remove_file(&moved.path);
        }
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
        if change.before != change.after {
            match &change.after {
                Some(after) => writes.insert(change.path.clone(), after.clone()),
                None => deletes.push(change.path.clone()),
            }
        }
        if let Some(moved) = &change.moved_from {
            if moved.before.is_some() {
                deletes.push(moved.path.clone());
            }
            if outcome.base_before.contains_key(&moved.path) {
                deletes.push(format!("{BASE_DIR}/{}", moved.path));
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

/// Checks component names given on the command line.
pub fn check_component_names(templates: &TemplateSet, names: &[String]) -> Result<()> {
    for name in names {
        if !templates.components.contains_key(name) {
            return Err(Error::UnknownComponent {
                name: name.clone(),
                suggestion: closest(name, templates.components.keys().map(String::as_str)),
            });
        }
    }
    Ok(())
}

/// The one answer that selects `component`; none for the base, or for a
/// component that several answers select (it follows them).
fn only_condition<'a>(
    templates: &'a TemplateSet,
    component: &str,
) -> Option<&'a answers::Condition> {
    match templates
        .components
        .get(component)?
        .manifest
        .selected_if
        .as_slice()
    {
        [one] => Some(one),
        _ => None,
    }
}

/// The answer that switches `component` on, read from its `selected_if`; for a
/// choice that must not be some value, `choice` if given, else the first other
/// option.
pub fn enabling_answer(
    templates: &TemplateSet,
    component: &str,
    answers: &Answers,
    choice: Option<&str>,
) -> Option<(String, Value)> {
    let condition = only_condition(templates, component)?;
    let q = templates.catalog.get(&condition.key)?;
    let value = match (&condition.test, &q.kind) {
        (Test::Is(v), _) => v.clone(),
        (Test::Not(Value::Bool(b)), _) => Value::Bool(!b),
        (Test::Not(v), Kind::Choice(choices)) => {
            Value::Str(choice.map(str::to_owned).or_else(|| {
                choices
                    .iter()
                    .find(|c| Value::Str(c.value.clone()) != *v)
                    .map(|c| c.value.clone())
            })?)
        }
        (Test::Contains(item), Kind::Multi(_)) => {
            let mut items = answers
                .values()
                .list(&q.key)
                .map(<[String]>::to_vec)
                .unwrap_or_default();
            items.push(item.clone());
            q.parse(&Value::List(items)).ok()?
        }
        _ => return None,
    };
    Some((q.key.clone(), value))
}

/// The answer that switches `component` off, read from its `selected_if`.
pub fn disabling_answer(
    templates: &TemplateSet,
    component: &str,
    answers: &Answers,
) -> Option<(String, Value)> {
    let condition = only_condition(templates, component)?;
    let q = templates.catalog.get(&condition.key)?;
    let value = match &condition.test {
        Test::Not(v) => v.clone(),
        Test::Is(Value::Bool(b)) => Value::Bool(!b),
        Test::Is(v) => q.default.clone().filter(|d| d != v)?,
        Test::Contains(item) => Value::List(
            answers
                .values()
                .list(&q.key)
                .unwrap_or_default()
                .iter()
                .filter(|i| *i != item)
                .cloned()
                .collect(),
        ),
    };
    Some((q.key.clone(), value))
}

/// Resolves the answers for `add component`: the recorded ones, `--set`, the
/// component's enabling answer, and questions that now apply from `fallback`.
pub fn answers_for_add(
    project: &Project,
    templates: &TemplateSet,
    component: &str,
    set: &Layer,
    fallback: Fallback<'_>,
) -> Result<Answers> {
    let current = project.answers(templates, &[])?;
    let mut recorded = project.record.answers_layer();
    recorded.explicit = false;
    let mut layers = vec![set.clone()];
    let asks = matches!(fallback, Fallback::Ask(_));
    if let Some((key, value)) = enabling_answer(templates, component, &current, None) {
        if !set.values.contains_key(&key) {
            let choice = templates
                .catalog
                .get(&key)
                .is_some_and(|q| matches!(q.kind, Kind::Choice(_)));
            if choice && asks {
                // Let the prompt ask which one.
                recorded.values.remove(&key);
            } else {
                layers.push(Layer {
                    origin: format!("`stanchion add {component}`"),
                    explicit: false,
                    values: [(key, value)].into(),
                });
            }
        }
    }
    // Questions that apply only now (a limit once rate limiting is on) are asked
    // or defaulted; everything recorded stays as it was.
    layers.push(recorded);
    answers::resolve(&templates.catalog, &layers, fallback)
}

/// A prompter adapter that offers the enabling answer as the default.
pub struct AddPrompter<'a> {
    /// The real prompter.
    pub inner: &'a mut dyn Prompter,
    /// The enabling answer, used as the default of its question.
    pub enabling: Option<(String, Value)>,
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
