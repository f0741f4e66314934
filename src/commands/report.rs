//! Printing what a regeneration does: one line per changed file, a JSON
//! status, or unified diffs. Each writes to the `impl Write` it is given.

use std::io::Write;

use crate::error::{Error, Result};
use crate::regen::{Action, Outcome};

/// Writes one line per file that changes, then a summary, to `err`.
pub(super) fn lines(err: &mut impl Write, outcome: &Outcome, applied: bool) {
    for change in &outcome.plan.changes {
        if matches!(change.action, Action::Unchanged) {
            continue;
        }
        let note = change.action.note();
        let path = match &change.moved_from {
            Some(moved) => format!("{} -> {}", moved.path, change.path),
            None => change.path.clone(),
        };
        let _ = if note.is_empty() {
            writeln!(err, "  {:<10} {path}", change.action.label())
        } else {
            writeln!(err, "  {:<10} {path} ({note})", change.action.label())
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
}

/// Writes a machine-readable status to `out`.
pub(super) fn json(out: &mut impl Write, outcome: &Outcome, applied: bool) -> Result<()> {
    let files: Vec<serde_json::Value> = outcome
        .plan
        .changes
        .iter()
        .map(|c| {
            let mut file = serde_json::json!({
                "path": c.path,
                "component": c.component,
                "action": c.action.name(),
                "changes_file": c.writes(),
            });
            if let Some(moved) = &c.moved_from {
                file["moved_from"] = moved.path.clone().into();
            }
            file
        })
        .collect();
    let status = serde_json::json!({
        "applied": applied,
        "changed": !outcome.is_noop(),
        "conflicts": outcome.plan.conflicts().map(|c| c.path.clone()).collect::<Vec<_>>(),
        "files": files,
    });
    writeln!(out, "{status:#}").map_err(|e| Error::io("write", "<stdout>", e))
}

/// Writes unified diffs of what would change to `out`; a moved file's diff
/// runs from its old path (or from the new one, if the user moved it by hand).
pub(super) fn diff(out: &mut impl Write, outcome: &Outcome) -> Result<()> {
    for change in outcome.plan.file_changes() {
        let text = |b: Option<&Vec<u8>>| {
            b.map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let (original, old) = match &change.moved_from {
            Some(moved) if change.before.is_none() => (&moved.path, moved.before.as_ref()),
            _ => (&change.path, change.before.as_ref()),
        };
        let (before, after) = (text(old), text(change.after.as_ref()));
        let mut options = diffy::DiffOptions::new();
        options
            .set_original_filename(if old.is_some() {
                format!("a/{original}")
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
