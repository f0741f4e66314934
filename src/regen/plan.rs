//! Planning a regeneration: pure, in memory, one decision per file.
//!
//! Inputs are the project as it is (the record, the base copies, the user's
//! files) and the newly rendered output; the result says, for each file, what
//! happens and what its contents and base copy become. Nothing is written here,
//! so `diff`, `regen --dry-run`, `regen --check` and the property tests all see
//! exactly what `regen` would do. A file a component declares moved
//! (`[[moved]]`) is one decision for its new path, made in [`super::moves`].

use std::collections::{BTreeMap, BTreeSet};

use super::merge::{merge_manifest, merge_text};
use super::moves;
pub use crate::project::record::Recorded;
use crate::project::sha256_hex;
use crate::template::Rendered;
use crate::template::manifest::Move;

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
    /// Generated under a new path now, unedited: the old file is removed and
    /// the new one written.
    Move,
    /// Generated under a new path now, edited: the user's edits are merged into
    /// the new output, written at the new path; the old file is removed.
    MoveMerge,
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
            Action::Move | Action::MoveMerge => "moved",
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
            Action::Move => "move",
            Action::MoveMerge => "move_merge",
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
            Action::MoveMerge => "your edits carried over",
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
    /// The old path of a file that moved: it leaves the disk (if still there),
    /// the record and the base copies.
    pub moved_from: Option<MovedFrom>,
}

/// Where a moved file was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedFrom {
    /// The old path, as recorded.
    pub path: String,
    /// The user's file there now (absent: deleted).
    pub before: Option<Vec<u8>>,
}

impl FileChange {
    /// Whether a file on disk changes.
    pub fn writes(&self) -> bool {
        self.before != self.after || self.moved_from.as_ref().is_some_and(|m| m.before.is_some())
    }
}

/// The decisions for every file in scope, in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// One entry per file in scope (a moved file is one, at its new path).
    pub changes: Vec<FileChange>,
    /// Moves that cannot be made because a file the record does not know is
    /// already at the new path; `regen` refuses to run rather than lose it.
    pub blocked_moves: Vec<Move>,
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

/// Plans the regeneration of every file owned by a component in `scope`, for
/// templates that declare no moves.
pub fn plan(
    snapshot: &Snapshot,
    rendered: &Rendered,
    scope: &dyn Fn(&str) -> bool,
    restore: bool,
) -> Plan {
    plan_with_moves(snapshot, rendered, &BTreeMap::new(), scope, restore)
}

/// Plans the regeneration of every file owned by a component in `scope`;
/// `declared` holds each component's `[[moved]]` declarations.
pub fn plan_with_moves(
    snapshot: &Snapshot,
    rendered: &Rendered,
    declared: &BTreeMap<String, Vec<Move>>,
    scope: &dyn Fn(&str) -> bool,
    restore: bool,
) -> Plan {
    let found = moves::resolve(snapshot, rendered, declared, scope);
    let moved: BTreeSet<&str> = found
        .apply
        .iter()
        .flat_map(|m| [m.from.as_str(), m.to.as_str()])
        .collect();
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
    let mut changes: Vec<FileChange> = paths
        .into_iter()
        .filter(|path| !moved.contains(path))
        .map(|path| decide(snapshot, rendered, path, restore))
        .chain(
            found
                .apply
                .iter()
                .map(|m| moves::decide(snapshot, rendered, m, restore)),
        )
        .collect();
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Plan {
        changes,
        blocked_moves: found.blocked,
    }
}

/// Merges the user's `current` and the template's `new` output of `path`
/// against `base`; the result and whether it conflicts. A file that is not
/// text cannot be merged: the user's is kept, as a conflict.
pub(super) fn merge_file(path: &str, base: &[u8], current: &[u8], new: &[u8]) -> (Vec<u8>, bool) {
    let (Ok(b), Ok(c), Ok(n)) = (
        std::str::from_utf8(base),
        std::str::from_utf8(current),
        std::str::from_utf8(new),
    ) else {
        return (current.to_vec(), true);
    };
    let result = if path == "Cargo.toml" || path.ends_with("/Cargo.toml") {
        merge_manifest(b, c, n)
    } else {
        merge_text(b, c, n)
    };
    (result.text.into_bytes(), result.conflicted)
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
        moved_from: None,
    };
    let merged = |action_if_clean, base: &[u8], current: &Vec<u8>, new: &Vec<u8>| {
        let (text, conflicted) = merge_file(path, base, current, new);
        let action = if conflicted {
            Action::Conflict
        } else {
            action_if_clean
        };
        change(action, Some(&text), Some(new))
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
