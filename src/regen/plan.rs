//! Planning a regeneration: pure, in memory, one decision per file.
//!
//! Inputs are the project as it is (the record, the base copies, the user's
//! files) and the newly rendered output; the result says, for each file, what
//! happens and what its contents and base copy become. Nothing is written here,
//! so `diff`, `regen --dry-run`, `regen --check` and the property tests all see
//! exactly what `regen` would do.

use std::collections::{BTreeMap, BTreeSet};

use super::merge::{merge_manifest, merge_text};
pub use crate::project::record::Recorded;
use crate::project::sha256_hex;
use crate::template::Rendered;

/// The project before regeneration.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Files in `stanchion.toml`.
    pub recorded: BTreeMap<String, Recorded>,
    /// Base copies from `.stanchion/base/`.
    pub base: BTreeMap<String, Vec<u8>>,
    /// The user's files at the recorded and newly rendered paths (absent: deleted).
    pub current: BTreeMap<String, Vec<u8>>,
}

/// What happens to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Nothing to do.
    Unchanged,
    /// A new file is created.
    Create,
    /// An unedited file is replaced by the new template output.
    Update,
    /// Both sides changed; merged cleanly.
    Merge,
    /// Both sides changed the same lines; written with conflict markers.
    Conflict,
    /// The user edited it and the template did not change: kept as is.
    KeepEdited,
    /// The user deleted it: not recreated (without `--restore`).
    KeepDeleted,
    /// The user deleted it and `--restore` brings it back.
    Restore,
    /// No longer generated and unedited: removed.
    Remove,
    /// No longer generated but edited: kept, and no longer tracked.
    KeepOrphan,
}

impl Action {
    /// A short word for reports.
    pub fn label(self) -> &'static str {
        match self {
            Action::Unchanged => "unchanged",
            Action::Create => "created",
            Action::Update => "updated",
            Action::Merge => "merged",
            Action::Conflict => "conflict",
            Action::KeepEdited => "kept",
            Action::KeepDeleted => "skipped",
            Action::Restore => "restored",
            Action::Remove => "removed",
            Action::KeepOrphan => "kept",
        }
    }

    /// The action's name in `--json` output, in snake_case.
    pub fn name(self) -> &'static str {
        match self {
            Action::Unchanged => "unchanged",
            Action::Create => "create",
            Action::Update => "update",
            Action::Merge => "merge",
            Action::Conflict => "conflict",
            Action::KeepEdited => "keep_edited",
            Action::KeepDeleted => "keep_deleted",
            Action::Restore => "restore",
            Action::Remove => "remove",
            Action::KeepOrphan => "keep_orphan",
        }
    }

    /// A note explaining the decision, for reports.
    pub fn note(self) -> &'static str {
        match self {
            Action::Merge => "your edits and the template's merged",
            Action::Conflict => "both changed the same lines: resolve the markers",
            Action::KeepEdited => "your edits; the template did not change",
            Action::KeepDeleted => "you deleted it; `--restore` brings it back",
            Action::KeepOrphan => "no longer generated, but you edited it; now yours",
            _ => "",
        }
    }
}

/// The decision for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Project-relative path.
    pub path: String,
    /// The component that owns (or owned) it.
    pub component: String,
    /// What happens.
    pub action: Action,
    /// The user's file now (absent: deleted or never there).
    pub before: Option<Vec<u8>>,
    /// The file after the run (absent: deleted or left deleted).
    pub after: Option<Vec<u8>>,
    /// The base copy after the run; absent: the file leaves the record.
    pub base_after: Option<Vec<u8>>,
}

impl FileChange {
    /// Whether the file on disk changes.
    pub fn writes(&self) -> bool {
        self.before != self.after
    }
}

/// The decisions for every file in scope, in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// One entry per file in scope.
    pub changes: Vec<FileChange>,
}

impl Plan {
    /// Files left with conflict markers.
    pub fn conflicts(&self) -> impl Iterator<Item = &FileChange> {
        self.changes.iter().filter(|c| c.action == Action::Conflict)
    }

    /// Files whose contents change on disk.
    pub fn file_changes(&self) -> impl Iterator<Item = &FileChange> {
        self.changes.iter().filter(|c| c.writes())
    }
}

/// Plans the regeneration of every file owned by a component in `scope`.
pub fn plan(
    snapshot: &Snapshot,
    rendered: &Rendered,
    scope: &dyn Fn(&str) -> bool,
    restore: bool,
) -> Plan {
    let mut paths = BTreeSet::new();
    for (path, rec) in &snapshot.recorded {
        if scope(&rec.component) {
            paths.insert(path.as_str());
        }
    }
    for (path, file) in &rendered.files {
        if scope(&file.component) && !crate::project::record::is_secret(path) {
            paths.insert(path.as_str());
        }
    }
    let changes = paths
        .into_iter()
        .map(|path| decide(snapshot, rendered, path, restore))
        .collect();
    Plan { changes }
}

fn decide(snapshot: &Snapshot, rendered: &Rendered, path: &str, restore: bool) -> FileChange {
    let recorded = snapshot.recorded.get(path);
    let new = rendered.files.get(path);
    let current = snapshot.current.get(path);
    let base = snapshot.base.get(path);
    let component = new
        .map(|n| n.component.clone())
        .or_else(|| recorded.map(|r| r.component.clone()))
        .unwrap_or_default();
    let change = |action, after: Option<&Vec<u8>>, base_after: Option<&Vec<u8>>| FileChange {
        path: path.to_owned(),
        component: component.clone(),
        action,
        before: current.cloned(),
        after: after.cloned(),
        base_after: base_after.cloned(),
    };
    let merged = |action_if_clean, base: &[u8], current: &Vec<u8>, new: &Vec<u8>| {
        let (Ok(b), Ok(c), Ok(n)) = (
            std::str::from_utf8(base),
            std::str::from_utf8(current),
            std::str::from_utf8(new),
        ) else {
            // Not text: keep the user's file and report it.
            return change(Action::Conflict, Some(current), Some(new));
        };
        let result = if path == "Cargo.toml" || path.ends_with("/Cargo.toml") {
            merge_manifest(b, c, n)
        } else {
            merge_text(b, c, n)
        };
        let action = if result.conflicted {
            Action::Conflict
        } else {
            action_if_clean
        };
        change(action, Some(&result.text.into_bytes()), Some(new))
    };

    match (recorded, new.map(|n| &n.contents)) {
        (Some(rec), Some(new)) => match current {
            None if restore => change(Action::Restore, Some(new), Some(new)),
            None => change(Action::KeepDeleted, None, Some(new)),
            Some(cur) if sha256_hex(cur) == rec.sha256 => {
                let action = if cur == new {
                    Action::Unchanged
                } else {
                    Action::Update
                };
                change(action, Some(new), Some(new))
            }
            Some(cur) if cur == new => change(Action::Unchanged, Some(new), Some(new)),
            Some(cur) if sha256_hex(new) == rec.sha256 => {
                change(Action::KeepEdited, Some(cur), Some(new))
            }
            Some(cur) => merged(Action::Merge, base.map_or(&[][..], Vec::as_slice), cur, new),
        },
        (None, Some(new)) => match current {
            None => change(Action::Create, Some(new), Some(new)),
            Some(cur) if cur == new => change(Action::Unchanged, Some(new), Some(new)),
            // A file of the user's is in the way: never overwrite it silently.
            Some(cur) => merged(Action::Merge, &[], cur, new),
        },
        (Some(rec), None) => match current {
            None => change(Action::Unchanged, None, None),
            Some(cur) if sha256_hex(cur) == rec.sha256 => change(Action::Remove, None, None),
            Some(cur) => change(Action::KeepOrphan, Some(cur), None),
        },
        (None, None) => unreachable!("a planned path is recorded or rendered"),
    }
}
