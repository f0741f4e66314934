//! Three-way merges of one file: the stored base copy is the common ancestor, the
//! user's file is one side and the newly rendered template output the other.
//!
//! Text files merge line by line with diffy; a conflict is written with standard
//! git-style markers (`<<<<<<< yours`, `=======`, `>>>>>>> stanchion`) so every
//! editor and merge tool recognises it. `Cargo.toml` gets one more step: its
//! dependency tables are merged entry by entry with toml_edit, so adding a
//! component's crates never collides with a dependency the user added on a
//! neighbouring line, and the user's own entries, comments and order are kept.

use toml_edit::{DocumentMut, Item, Table};

/// Marker opening the user's side of a conflict.
pub(super) const OURS_MARKER: &str = "<<<<<<< yours";
/// Marker closing the template's side of a conflict.
pub(super) const THEIRS_MARKER: &str = ">>>>>>> stanchion";

/// The outcome of merging one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The merged text, with conflict markers where the sides disagree.
    pub text: String,
    /// Whether it holds conflict markers.
    pub conflicted: bool,
}

/// Merges `current` (the user's) and `new` (the template's) against `base`.
pub fn merge_text(base: &str, current: &str, new: &str) -> Merged {
    let mut options = diffy::MergeOptions::new();
    options.set_conflict_style(diffy::ConflictStyle::Merge);
    match options.merge(base, current, new) {
        Ok(text) => Merged {
            text,
            conflicted: false,
        },
        Err(text) => Merged {
            text: relabel(&text),
            conflicted: true,
        },
    }
}

/// diffy labels the sides `ours`/`theirs`; say whose they are.
fn relabel(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        match body {
            "<<<<<<< ours" => out.push_str(OURS_MARKER),
            ">>>>>>> theirs" => out.push_str(THEIRS_MARKER),
            _ => out.push_str(body),
        }
        out.push_str(end);
    }
    out
}

/// Whether `text` holds an unresolved conflict from an earlier run.
pub fn has_conflict_markers(text: &str) -> bool {
    let mut open = false;
    for line in text.lines() {
        if line.starts_with("<<<<<<< ") {
            open = true;
        } else if open && line.starts_with(">>>>>>> ") {
            return true;
        }
    }
    false
}

const DEPENDENCY_TABLES: &[&str] = &["dependencies", "dev-dependencies", "build-dependencies"];

/// Merges a `Cargo.toml`: dependency tables entry by entry, everything else as
/// text. Falls back to a plain text merge if any side is not valid TOML.
pub fn merge_manifest(base: &str, current: &str, new: &str) -> Merged {
    let parse = |s: &str| s.parse::<DocumentMut>().ok();
    let (Some(base_doc), Some(mut current_doc), Some(new_doc)) =
        (parse(base), parse(current), parse(new))
    else {
        return merge_text(base, current, new);
    };
    let strip = |doc: &DocumentMut| {
        let mut doc = doc.clone();
        for key in DEPENDENCY_TABLES {
            doc.remove(key);
        }
        doc.to_string()
    };
    // Merge the dependency tables into the user's document first, keeping the
    // user's tables (and so their position, order and comments).
    let mut conflicted = false;
    let mut tables: Vec<(&str, Item)> = Vec::new();
    for key in DEPENDENCY_TABLES {
        let empty = Table::new();
        let table_of = |doc: &DocumentMut| doc.get(key).and_then(Item::as_table).cloned();
        let base_t = table_of(&base_doc).unwrap_or_else(|| empty.clone());
        let new_t = table_of(&new_doc).unwrap_or_else(|| empty.clone());
        let Some(mut mine) = table_of(&current_doc).or_else(|| {
            (!new_t.is_empty()).then(|| {
                let mut t = Table::new();
                t.set_implicit(false);
                t
            })
        }) else {
            continue;
        };
        // Keep an alphabetical table alphabetical: new crates go in their place.
        let sorted = is_sorted(&mine);
        conflicted |= merge_dependency_table(&base_t, &mut mine, &new_t);
        if sorted && !is_sorted(&mine) {
            mine.sort_values();
        }
        if mine.is_empty() && table_of(&current_doc).is_none() {
            continue; // the user has no such table and nothing needs one
        }
        tables.push((key, Item::Table(mine)));
    }
    let rest = merge_text(&strip(&base_doc), &strip(&current_doc), &strip(&new_doc));
    if rest.conflicted {
        // Markers make the text unparseable: append the merged tables as text.
        let mut text = rest.text;
        for (key, item) in tables {
            let mut doc = DocumentMut::new();
            doc.insert(key, item);
            text.push('\n');
            text.push_str(&doc.to_string());
        }
        return Merged {
            text,
            conflicted: true,
        };
    }
    current_doc = match rest.text.parse::<DocumentMut>() {
        Ok(doc) => doc,
        Err(_) => return merge_text(base, current, new),
    };
    for (key, item) in tables {
        current_doc.insert(key, item);
    }
    Merged {
        text: current_doc.to_string(),
        conflicted,
    }
}

/// Whether the table's keys are in alphabetical order.
fn is_sorted(table: &Table) -> bool {
    let keys: Vec<&str> = table.iter().map(|(k, _)| k).collect();
    keys.windows(2).all(|w| w[0] <= w[1])
}

/// Applies the template's change of one dependency table (`base` → `new`) to the
/// user's table. An entry the user changed wins over a template change to it;
/// that is reported as a conflict only when both changed the same entry
/// differently (the user's entry is kept, with a comment above it).
fn merge_dependency_table(base: &Table, mine: &mut Table, new: &Table) -> bool {
    // An entry is its value and the comment lines above it.
    let entry = |table: &Table, name: &str| {
        table.get_key_value(name).map(|(key, item)| {
            let comment = key
                .leaf_decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or_default()
                .trim()
                .to_owned();
            format!("{comment}\n{}", item.to_string().trim())
        })
    };
    let mut conflicted = false;
    let names: Vec<String> = base
        .iter()
        .chain(new.iter())
        .map(|(k, _)| k.to_owned())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if !seen.insert(name.clone()) {
            continue;
        }
        let (b, n, m) = (entry(base, &name), entry(new, &name), entry(mine, &name));
        if b == n || n == m {
            continue; // the template did not change it, or the user already has it
        }
        match (&n, &m) {
            // The user's entry is as generated (or absent as before): take the template's.
            _ if m == b => match new.get_key_value(&name) {
                Some((key, item)) => {
                    mine.insert_formatted(key, item.clone());
                }
                None => {
                    mine.remove(&name);
                }
            },
            // The template dropped it but the user changed it: keep the user's.
            (None, Some(_)) => {}
            // Both changed it differently: keep the user's, flag it.
            (Some(_), _) => {
                conflicted = true;
                let declared = new.get(&name).map(|i| i.to_string()).unwrap_or_default();
                let note = format!(
                    "# stanchion: the template now declares `{name} = {}`; merge it by hand, then delete this line\n",
                    declared.trim()
                );
                if let Some(mut key) = mine.key_mut(&name) {
                    let prefix = key
                        .leaf_decor()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .unwrap_or_default()
                        .to_owned();
                    key.leaf_decor_mut().set_prefix(format!("{prefix}{note}"));
                } else if let Some((key, item)) = new.get_key_value(&name) {
                    mine.insert_formatted(key, item.clone());
                }
            }
            (None, None) => {}
        }
    }
    conflicted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_overlapping_edits_merge_cleanly() {
        let base = "a\nb\nc\nd\ne\n";
        let mine = "a\nmine\nb\nc\nd\ne\n";
        let new = "a\nb\nc\nd\ntemplate\ne\n";
        let merged = merge_text(base, mine, new);
        assert!(!merged.conflicted);
        assert_eq!(merged.text, "a\nmine\nb\nc\nd\ntemplate\ne\n");
    }

    #[test]
    fn overlapping_edits_get_standard_markers() {
        let merged = merge_text("a\nb\nc\n", "a\nmine\nc\n", "a\ntheirs\nc\n");
        assert!(merged.conflicted);
        assert_eq!(
            merged.text,
            "a\n<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> stanchion\nc\n"
        );
        assert!(has_conflict_markers(&merged.text));
        assert!(!has_conflict_markers("<<<<<<< only an opener\n"));
    }

    #[test]
    fn manifest_dependencies_merge_entry_by_entry() {
        let base = "[package]\nname = \"x\"\n\n[dependencies]\naxum = \"0.8\"\ntokio = \"1\"\n";
        let mine = "[package]\nname = \"x\"\n# mine\nedition = \"2024\"\n\n[dependencies]\naxum = \"0.8\"\n# my crate\nanyhow = \"1\"\ntokio = \"1\"\n";
        let new = "[package]\nname = \"x\"\n\n[dependencies]\naxum = \"0.8\"\nsqlx = \"0.9\"\ntokio = { version = \"1\", features = [\"rt\"] }\n";
        let merged = merge_manifest(base, mine, new);
        assert!(!merged.conflicted, "{}", merged.text);
        assert_eq!(
            merged.text,
            "[package]\nname = \"x\"\n# mine\nedition = \"2024\"\n\n[dependencies]\naxum = \"0.8\"\n# my crate\nanyhow = \"1\"\ntokio = { version = \"1\", features = [\"rt\"] }\nsqlx = \"0.9\"\n"
        );
    }

    #[test]
    fn manifest_entries_changed_on_both_sides_keep_the_users_and_flag_it() {
        let base = "[dependencies]\ntokio = \"1\"\n";
        let mine = "[dependencies]\ntokio = \"1.40\"\n";
        let new = "[dependencies]\ntokio = \"1.54\"\n";
        let merged = merge_manifest(base, mine, new);
        assert!(merged.conflicted);
        assert!(merged.text.contains("tokio = \"1.40\""), "{}", merged.text);
        assert!(
            merged.text.contains("now declares `tokio = \"1.54\"`"),
            "{}",
            merged.text
        );
    }

    #[test]
    fn template_comments_on_entries_arrive_and_deleted_tables_stay_deleted() {
        let base = "[package]\nname = \"x\"\n\n[dependencies]\na = \"1\"\n";
        let mine = "[package]\nname = \"x\"\nlicense = \"MIT\"\n\n[dependencies]\na = \"1\"\n";
        let new = "[package]\nname = \"x\"\n\n[dependencies]\n# why a\na = \"1\"\n";
        let merged = merge_manifest(base, mine, new);
        assert!(
            merged.text.contains("# why a\na = \"1\""),
            "{}",
            merged.text
        );

        let mine = "[package]\nname = \"x\"\n";
        let new = "# new comment\n[package]\nname = \"x\"\n\n[dependencies]\na = \"1\"\n";
        let merged = merge_manifest(base, mine, new);
        assert!(!merged.text.contains("[dependencies]"), "{}", merged.text);
    }

    #[test]
    fn removed_template_dependencies_go_only_if_unedited() {
        let base = "[dependencies]\na = \"1\"\nb = \"1\"\n";
        let mine = "[dependencies]\na = \"1\"\nb = \"2\"\n";
        let new = "[dependencies]\n";
        let merged = merge_manifest(base, mine, new);
        assert_eq!(merged.text, "[dependencies]\nb = \"2\"\n");
    }
}
