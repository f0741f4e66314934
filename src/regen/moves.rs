//! Files that moved: the user's edits follow the file to its new path.
//!
//! A newer template set may generate a file under another path (`src/audit.rs`
//! becomes `src/audit/mod.rs`). Planned path by path, the old file would be an
//! orphan — kept if the user edited it, their edits then missing from the new
//! file, which is written fresh. A component's `[[moved]]` declarations join the
//! two paths into one decision instead: the old base copy is the common
//! ancestor, the user's old file one side and the new output the other, and the
//! result is written at the new path while the old one leaves the disk, the
//! record and the base copies.
//!
//! A declaration applies to a project only where it describes what happened to
//! it: its component recorded the old path, which is generated no longer, and
//! the new path (reached through a chain of declarations if the file moved more
//! than once) is generated now and not recorded yet. Anything else — a stale
//! declaration, a project generated after the move — is planned as usual, so
//! declarations can stay in a manifest for good.

use std::collections::{BTreeMap, BTreeSet};

use super::plan::{Action, FileChange, MovedFrom, Snapshot, merge_file};
use crate::project::record::is_secret;
use crate::project::sha256_hex;
use crate::template::Rendered;
use crate::template::manifest::Move;

/// The declared moves that apply to a project.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Found {
    /// Moves to make, from a recorded path to a newly generated one.
    pub(super) apply: Vec<Move>,
    /// Moves refused: the user's own file is at the new path.
    pub(super) blocked: Vec<Move>,
}

/// Finds the moves of `declared` (by component) that apply to the project in
/// `snapshot` rendered as `rendered`, for files of components in `scope`.
pub(super) fn resolve(
    snapshot: &Snapshot,
    rendered: &Rendered,
    declared: &BTreeMap<String, Vec<Move>>,
    scope: &dyn Fn(&str) -> bool,
) -> Found {
    let mut found = Found::default();
    let mut taken = BTreeSet::new();
    for (from, rec) in &snapshot.recorded {
        if rendered.files.contains_key(from) || is_secret(from) {
            continue; // still generated where it was: nothing moved
        }
        let Some(moves) = declared.get(&rec.component) else {
            continue;
        };
        let Some(to) = destination(moves, from, rendered) else {
            continue;
        };
        let owner = &rendered.files[to].component;
        if snapshot.recorded.contains_key(to)
            || is_secret(to)
            || !(scope(&rec.component) || scope(owner))
            || !taken.insert(to)
        {
            continue;
        }
        let moved = Move {
            from: from.clone(),
            to: to.to_owned(),
        };
        let old = snapshot.current.get(from);
        match (old, snapshot.current.get(to)) {
            // Two files of the user's, one of which stanchion does not know.
            (Some(old), Some(theirs)) if old != theirs => found.blocked.push(moved),
            _ => found.apply.push(moved),
        }
    }
    found
}

/// Where the file at `from` is generated now, following `moves` as long as the
/// path they lead to is not generated (a file may have moved twice since).
fn destination<'a>(moves: &'a [Move], from: &str, rendered: &Rendered) -> Option<&'a str> {
    let mut step = moves.iter().find(|m| m.from == from)?;
    // Each step takes another declaration, so a cycle ends here too.
    for _ in 0..moves.len() {
        if rendered.files.contains_key(&step.to) {
            return Some(&step.to);
        }
        step = moves.iter().find(|m| m.from == step.to)?;
    }
    None
}

/// Decides one move: the file at `moved.to` after the run, made from the
/// user's file at `moved.from` (or at `moved.to`, when they moved it by hand).
pub(super) fn decide(
    snapshot: &Snapshot,
    rendered: &Rendered,
    moved: &Move,
    restore: bool,
) -> FileChange {
    let rec = &snapshot.recorded[&moved.from];
    let new = &rendered.files[&moved.to];
    let old = snapshot.current.get(&moved.from);
    let at_new_path = snapshot.current.get(&moved.to);
    let change = |action, after: Option<Vec<u8>>| FileChange {
        path: moved.to.clone(),
        component: new.component.clone(),
        action,
        before: at_new_path.cloned(),
        after,
        base_after: Some(new.contents.clone()),
        moved_from: Some(MovedFrom {
            path: moved.from.clone(),
            before: old.cloned(),
        }),
    };
    match old.or(at_new_path) {
        None if restore => change(Action::Restore, Some(new.contents.clone())),
        // Deleted: it stays deleted under its new name, as any deleted file.
        None => change(Action::KeepDeleted, None),
        Some(yours) if sha256_hex(yours) == rec.sha256 => {
            change(Action::Move, Some(new.contents.clone()))
        }
        Some(yours) => {
            let base = snapshot
                .base
                .get(&moved.from)
                .map_or(&[][..], Vec::as_slice);
            let (text, conflicted) = merge_file(&moved.to, base, yours, &new.contents);
            let action = if conflicted {
                Action::Conflict
            } else {
                Action::MoveMerge
            };
            change(action, Some(text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regen::plan::{Recorded, plan_with_moves};
    use crate::template::RenderedFile;

    const OLD: &str = "//! audit\nfn a() {}\n\nfn b() {}\n";
    const NEW: &str = "//! audit\nmod entry;\nfn a() {}\n\nfn b() {}\n";

    fn moves(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<Move>> {
        let all = pairs
            .iter()
            .map(|(from, to)| Move {
                from: (*from).into(),
                to: (*to).into(),
            })
            .collect();
        [("audit".to_owned(), all)].into()
    }

    /// A project that recorded `src/audit.rs` (now `current`), rendered anew
    /// with the file at `to`.
    fn fixture(current: Option<&str>, to: &str) -> (Snapshot, Rendered) {
        let mut snapshot = Snapshot::default();
        snapshot.recorded.insert(
            "src/audit.rs".into(),
            Recorded {
                component: "audit".into(),
                sha256: sha256_hex(OLD.as_bytes()),
            },
        );
        snapshot.base.insert("src/audit.rs".into(), OLD.into());
        if let Some(current) = current {
            snapshot
                .current
                .insert("src/audit.rs".into(), current.into());
        }
        let mut rendered = Rendered::default();
        rendered.files.insert(
            to.into(),
            RenderedFile {
                component: "audit".into(),
                contents: NEW.into(),
            },
        );
        (snapshot, rendered)
    }

    #[test]
    fn an_edited_file_is_merged_into_its_new_path() {
        let edited = "//! audit\nfn a() {}\n\nfn b() {}\nfn mine() {}\n";
        let (snapshot, rendered) = fixture(Some(edited), "src/audit/mod.rs");
        let declared = moves(&[("src/audit.rs", "src/audit/mod.rs")]);
        let plan = plan_with_moves(&snapshot, &rendered, &declared, &|_| true, false);
        assert_eq!(plan.changes.len(), 1, "{plan:?}");
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::MoveMerge);
        assert_eq!(change.path, "src/audit/mod.rs");
        assert_eq!(
            String::from_utf8_lossy(change.after.as_deref().unwrap()),
            "//! audit\nmod entry;\nfn a() {}\n\nfn b() {}\nfn mine() {}\n"
        );
        let from = change.moved_from.as_ref().unwrap();
        assert_eq!(from.path, "src/audit.rs");
        assert!(change.writes());
    }

    #[test]
    fn without_a_declaration_the_edited_file_is_an_orphan() {
        let (snapshot, rendered) = fixture(Some("mine\n"), "src/audit/mod.rs");
        let plan = plan_with_moves(&snapshot, &rendered, &BTreeMap::new(), &|_| true, false);
        let actions: Vec<(&str, Action)> = plan
            .changes
            .iter()
            .map(|c| (c.path.as_str(), c.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("src/audit.rs", Action::KeepOrphan),
                ("src/audit/mod.rs", Action::Create)
            ]
        );
    }

    #[test]
    fn a_chain_of_moves_is_followed_and_a_stale_one_ignored() {
        let (snapshot, rendered) = fixture(Some(OLD), "src/audit/core.rs");
        let declared = moves(&[
            ("src/audit.rs", "src/audit/mod.rs"),
            ("src/audit/mod.rs", "src/audit/core.rs"),
            ("src/gone.rs", "src/audit/other.rs"),
        ]);
        let plan = plan_with_moves(&snapshot, &rendered, &declared, &|_| true, false);
        assert_eq!(plan.changes.len(), 1, "{plan:?}");
        assert_eq!(plan.changes[0].action, Action::Move);
        assert_eq!(plan.changes[0].path, "src/audit/core.rs");
        assert_eq!(plan.changes[0].after.as_deref(), Some(NEW.as_bytes()));
    }

    #[test]
    fn a_cycle_of_declarations_ends() {
        let (snapshot, rendered) = fixture(Some(OLD), "src/elsewhere.rs");
        let declared = moves(&[("src/audit.rs", "src/a.rs"), ("src/a.rs", "src/audit.rs")]);
        let found = resolve(&snapshot, &rendered, &declared, &|_| true);
        assert_eq!(found, Found::default());
    }

    #[test]
    fn another_components_declaration_does_not_move_the_file() {
        let (snapshot, rendered) = fixture(Some(OLD), "src/audit/mod.rs");
        let mut declared = moves(&[("src/audit.rs", "src/audit/mod.rs")]);
        let theirs = declared.remove("audit").unwrap();
        declared.insert("other".into(), theirs);
        let found = resolve(&snapshot, &rendered, &declared, &|_| true);
        assert!(found.apply.is_empty(), "{found:?}");
    }

    #[test]
    fn the_users_own_file_at_the_new_path_blocks_the_move() {
        let (mut snapshot, rendered) = fixture(Some(OLD), "src/audit/mod.rs");
        snapshot
            .current
            .insert("src/audit/mod.rs".into(), b"my own module\n".to_vec());
        let declared = moves(&[("src/audit.rs", "src/audit/mod.rs")]);
        let plan = plan_with_moves(&snapshot, &rendered, &declared, &|_| true, false);
        assert_eq!(
            plan.blocked_moves,
            [Move {
                from: "src/audit.rs".into(),
                to: "src/audit/mod.rs".into()
            }]
        );
    }

    #[test]
    fn a_file_moved_by_hand_is_merged_where_it_is() {
        let (mut snapshot, rendered) = fixture(None, "src/audit/mod.rs");
        let edited = "//! audit\nfn a() {}\n\nfn b() {}\nfn mine() {}\n";
        snapshot
            .current
            .insert("src/audit/mod.rs".into(), edited.into());
        let declared = moves(&[("src/audit.rs", "src/audit/mod.rs")]);
        let plan = plan_with_moves(&snapshot, &rendered, &declared, &|_| true, false);
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::MoveMerge);
        let after = String::from_utf8_lossy(change.after.as_deref().unwrap()).into_owned();
        assert!(
            after.contains("mod entry;") && after.contains("fn mine"),
            "{after}"
        );
    }

    #[test]
    fn a_deleted_file_stays_deleted_under_its_new_name_unless_restored() {
        let (snapshot, rendered) = fixture(None, "src/audit/mod.rs");
        let declared = moves(&[("src/audit.rs", "src/audit/mod.rs")]);
        let plan = plan_with_moves(&snapshot, &rendered, &declared, &|_| true, false);
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::KeepDeleted);
        assert_eq!(change.after, None);
        assert_eq!(change.base_after.as_deref(), Some(NEW.as_bytes()));
        assert!(!change.writes());
        let plan = plan_with_moves(&snapshot, &rendered, &declared, &|_| true, true);
        assert_eq!(plan.changes[0].action, Action::Restore);
        assert_eq!(plan.changes[0].after.as_deref(), Some(NEW.as_bytes()));
    }
}
