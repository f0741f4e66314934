//! `[[moved]]`: files a component used to generate under another path.
//!
//! When a newer template set renames a generated file, a project generated
//! earlier still records the old path, and the user may have edited that file.
//! Without a declaration, `regen` could only keep the edited old file as an
//! orphan and write the new one fresh; with one, it carries the edits over (see
//! `regen`'s planning). The paths are output paths as `stanchion.toml` records
//! them, read when the template set loads, so they are literal: they cannot
//! follow the answers. They are checked here, where the template's author sees
//! the mistake, not in a user's project.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Move;
use crate::project::record::{BASE_DIR, RECORD_FILE};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMove {
    from: String,
    to: String,
}

/// Checks the declared moves: both paths inside the project, distinct, and no
/// path moved twice or two files moved onto one.
pub(super) fn moves(raw: Vec<RawMove>) -> Result<Vec<Move>, String> {
    let mut froms = BTreeSet::new();
    let mut tos = BTreeSet::new();
    raw.into_iter()
        .map(|m| {
            let fail = |why: String| format!("`[[moved]]` from `{}` to `{}`: {why}", m.from, m.to);
            for path in [&m.from, &m.to] {
                if let Some(why) = not_a_project_path(path) {
                    return Err(fail(format!("`{path}` {why}")));
                }
            }
            if m.from == m.to {
                return Err(fail("`from` and `to` are the same path".into()));
            }
            if m.to.starts_with(&format!("{}/", m.from)) || m.from.starts_with(&format!("{}/", m.to)) {
                return Err(fail(
                    "one path is inside the other: a file cannot become the folder it was in, or the reverse"
                        .into(),
                ));
            }
            if !froms.insert(m.from.clone()) {
                return Err(fail(format!("`{}` is moved more than once", m.from)));
            }
            if !tos.insert(m.to.clone()) {
                return Err(fail(format!(
                    "another file is moved to `{}` too; one file can take only one's edits",
                    m.to
                )));
            }
            Ok(Move {
                from: m.from,
                to: m.to,
            })
        })
        .collect()
}

/// Why `path` is not a generated file's path relative to the project root.
fn not_a_project_path(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("is empty".into());
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Some(
            "must be relative to the project root, with `/` separators (as `stanchion.toml` records it)"
                .into(),
        );
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Some("must not hold empty, `.` or `..` parts".into());
    }
    if path == RECORD_FILE || path == ".stanchion" || path.starts_with(".stanchion/") {
        return Some(format!(
            "is stanchion's record (`{RECORD_FILE}`, `{BASE_DIR}/`), not a generated file"
        ));
    }
    if path.ends_with(".hbs") {
        return Some(
            "ends in `.hbs`: give the output path, as the project has it, not the template's"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::parse_manifest;

    fn manifest(moved: &str) -> Result<Vec<super::Move>, String> {
        let text = format!(
            "name = \"audit\"\nsummary = \"s\"\nselected_if = {{ key = \"audit\", is = true }}\n{moved}"
        );
        parse_manifest("audit", text.as_bytes()).map(|m| m.moved)
    }

    #[test]
    fn moves_are_read_in_order() {
        let moved = manifest(
            "[[moved]]\nfrom = \"src/audit.rs\"\nto = \"src/audit/mod.rs\"\n\
             [[moved]]\nfrom = \"docs/audit.md\"\nto = \"docs/audit/README.md\"\n",
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = moved
            .iter()
            .map(|m| (m.from.as_str(), m.to.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("src/audit.rs", "src/audit/mod.rs"),
                ("docs/audit.md", "docs/audit/README.md")
            ]
        );
        assert!(manifest("").unwrap().is_empty());
    }

    #[test]
    fn a_move_onto_itself_is_refused() {
        let err = manifest("[[moved]]\nfrom = \"src/a.rs\"\nto = \"src/a.rs\"\n").unwrap_err();
        assert!(err.contains("`from` and `to` are the same path"), "{err}");
        assert!(err.contains("`[[moved]]` from `src/a.rs`"), "{err}");
        let err = manifest("[[moved]]\nfrom = \"src/a\"\nto = \"src/a/mod.rs\"\n").unwrap_err();
        assert!(err.contains("one path is inside the other"), "{err}");
    }

    #[test]
    fn paths_outside_the_project_are_refused() {
        for (path, why) in [
            ("/etc/passwd", "must be relative"),
            ("..\\\\x.rs", "must be relative"),
            ("C:/x.rs", "must be relative"),
            ("../x.rs", "`..` parts"),
            ("src//x.rs", "empty"),
            ("", "is empty"),
            ("stanchion.toml", "stanchion's record"),
            (".stanchion/base/src/x.rs", "stanchion's record"),
            ("src/x.rs.hbs", "not the template's"),
        ] {
            let err = manifest(&format!(
                "[[moved]]\nfrom = \"src/a.rs\"\nto = \"{path}\"\n"
            ))
            .unwrap_err();
            assert!(err.contains(why), "{path}: {err}");
            let err = manifest(&format!(
                "[[moved]]\nfrom = \"{path}\"\nto = \"src/a.rs\"\n"
            ))
            .unwrap_err();
            assert!(err.contains(why), "{path}: {err}");
        }
    }

    #[test]
    fn a_path_moved_twice_or_two_onto_one_are_refused() {
        let err = manifest(
            "[[moved]]\nfrom = \"a.rs\"\nto = \"b.rs\"\n[[moved]]\nfrom = \"a.rs\"\nto = \"c.rs\"\n",
        )
        .unwrap_err();
        assert!(err.contains("`a.rs` is moved more than once"), "{err}");
        let err = manifest(
            "[[moved]]\nfrom = \"a.rs\"\nto = \"c.rs\"\n[[moved]]\nfrom = \"b.rs\"\nto = \"c.rs\"\n",
        )
        .unwrap_err();
        assert!(err.contains("another file is moved to `c.rs`"), "{err}");
    }

    #[test]
    fn a_move_needs_both_paths_and_nothing_else() {
        let err = manifest("[[moved]]\nfrom = \"a.rs\"\n").unwrap_err();
        assert!(err.contains("missing field `to`"), "{err}");
        let err = manifest("[[moved]]\nfrom = \"a.rs\"\nto = \"b.rs\"\nwhy = \"x\"\n").unwrap_err();
        assert!(err.contains("unknown field `why`"), "{err}");
    }
}
