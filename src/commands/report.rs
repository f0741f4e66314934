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
}

/// Writes a machine-readable status to `out`.
pub(super) fn json(out: &mut impl Write, outcome: &Outcome, applied: bool) -> Result<()> {
    let files: Vec<serde_json::Value> = outcome
        .plan
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "path": c.path,
                "component": c.component,
                "action": c.action.name(),
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
    writeln!(out, "{status:#}").map_err(|e| Error::io("write", "<stdout>", e))
}

/// Writes unified diffs of what would change to `out`.
pub(super) fn diff(out: &mut impl Write, outcome: &Outcome) -> Result<()> {
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
