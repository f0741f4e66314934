//! The record of what was generated: `stanchion.toml` and `.stanchion/base/`.
//!
//! `stanchion.toml` holds the stanchion version, every answer, and for each
//! generated file its owning component and a content hash; `.stanchion/base/`
//! holds the file exactly as generated. With both, a later `regen` can tell a
//! user's edit from a template change and merge the two with the base copy as
//! common ancestor — even after stanchion's own templates have moved on. Both are
//! meant to be committed. Secrets never enter the record: `.env` files are not
//! generated, hashed or copied.
//!
//! [`Record`] is the one typed wrapper through which `stanchion.toml` is read and
//! edited; it edits the user's document in place with toml_edit, so comments and
//! order they added survive every `regen` and `add`.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, InlineTable, Item, Table, value};

use crate::answers::{Answers, Layer, Value};
use crate::error::{Error, Result};
use crate::template::Rendered;
use crate::tree::Tree;

/// The record file at the project root.
pub const RECORD_FILE: &str = "stanchion.toml";

/// Where base copies live, relative to the project root.
pub const BASE_DIR: &str = ".stanchion/base";

const HEADER: &str = "\
# How this project was generated. Commit this file together with `.stanchion/`:
# `stanchion regen` and `stanchion add` read the answers below, and the base
# copies in `.stanchion/base/`, to merge template updates with your own edits.

";

/// Whether `path` may hold secrets and so must never be recorded.
pub fn is_secret(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == ".env" || (name.starts_with(".env.") && name != ".env.example")
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A generated file as the record knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Owning component.
    pub component: String,
    /// SHA-256 of the contents as generated.
    pub sha256: String,
}

/// `stanchion.toml`, parsed and validated, editable in place.
#[derive(Clone, Debug)]
pub struct Record {
    doc: DocumentMut,
}

impl Record {
    /// A new record for a freshly rendered project.
    pub fn new(answers: &Answers, rendered: &Rendered) -> Record {
        let mut doc = DocumentMut::new();
        doc.decor_mut().set_prefix(HEADER);
        let mut meta = Table::new();
        meta.insert("version", value(env!("CARGO_PKG_VERSION")));
        doc.insert("stanchion", Item::Table(meta));
        doc.insert("answers", Item::Table(Table::new()));
        doc.insert("files", Item::Table(Table::new()));
        let mut record = Record { doc };
        record.set_answers(answers);
        for (path, file) in &rendered.files {
            if !is_secret(path) {
                record.set_file(path, &file.component, &sha256_hex(&file.contents));
            }
        }
        record
    }

    /// Parses `text` (read from `path`), checking its shape; errors name the line.
    pub fn parse(text: &str, path: &Path) -> Result<Record> {
        let fail = |line: Option<usize>, message: String| Error::MalformedRecord {
            path: path.to_owned(),
            line,
            message,
        };
        let spanned = toml_edit::Document::parse(text.to_owned()).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            fail(line, e.message().trim_end().to_owned())
        })?;
        let line_of_item = |item: &Item| item.span().map(|s| line_of(text, s.start));
        for key in ["stanchion", "answers", "files"] {
            match spanned.get(key) {
                Some(item) if item.is_table_like() => {}
                Some(item) => {
                    return Err(fail(line_of_item(item), format!("`{key}` must be a table")));
                }
                None => return Err(fail(None, format!("the `[{key}]` table is missing"))),
            }
        }
        for (key, item) in spanned["answers"].as_table_like().expect("checked").iter() {
            if item.as_value().and_then(Value::from_toml).is_none() {
                return Err(fail(
                    line_of_item(item),
                    format!("answer `{key}` must be a string, boolean, integer or list of strings"),
                ));
            }
        }
        for (path, item) in spanned["files"].as_table_like().expect("checked").iter() {
            let ok = item.as_table_like().is_some_and(|t| {
                t.get("component").and_then(Item::as_str).is_some()
                    && t.get("sha256").and_then(Item::as_str).is_some()
            });
            if !ok {
                return Err(fail(
                    line_of_item(item),
                    format!("file entry `{path}` needs `component` and `sha256` strings"),
                ));
            }
        }
        Ok(Record {
            doc: spanned.into_mut(),
        })
    }

    /// Reads and parses the record of the project at `root`.
    pub fn load(root: &Path) -> Result<Record> {
        let path = root.join(RECORD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        Record::parse(&text, &path)
    }

    /// The recorded answers as an explicit answer layer.
    pub fn answers_layer(&self) -> Layer {
        let values = self.doc["answers"]
            .as_table_like()
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| {
                        Some((k.to_owned(), v.as_value().and_then(Value::from_toml)?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Layer {
            origin: format!("`{RECORD_FILE}`"),
            explicit: true,
            values,
        }
    }

    /// The recorded files.
    pub fn files(&self) -> BTreeMap<String, Recorded> {
        let mut out = BTreeMap::new();
        if let Some(files) = self.doc["files"].as_table_like() {
            for (path, item) in files.iter() {
                let get = |k: &str| {
                    item.get(k)
                        .and_then(Item::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                out.insert(
                    path.to_owned(),
                    Recorded {
                        component: get("component"),
                        sha256: get("sha256"),
                    },
                );
            }
        }
        out
    }

    /// Sets the answers: changed values are edited in place (keeping comments),
    /// new ones added in question order, answers that no longer apply removed.
    pub fn set_answers(&mut self, answers: &Answers) {
        let table = self.doc["answers"]
            .as_table_like_mut()
            .expect("validated: `answers` is a table");
        let stale: Vec<String> = table
            .iter()
            .map(|(k, _)| k.to_owned())
            .filter(|k| answers.values().get(k).is_none() && answers.knows(k))
            .collect();
        for key in stale {
            table.remove(&key);
        }
        for (key, new) in answers.values().iter() {
            match table.get_mut(key).and_then(Item::as_value_mut) {
                Some(old) if Value::from_toml(old).as_ref() == Some(new) => {}
                Some(old) => {
                    let decor = old.decor().clone();
                    *old = new.to_toml();
                    *old.decor_mut() = decor;
                }
                None => {
                    table.insert(key, value(new.to_toml()));
                }
            }
        }
    }

    /// Records `path` as generated by `component` with hash `sha256`.
    pub fn set_file(&mut self, path: &str, component: &str, sha256: &str) {
        let files = self.doc["files"]
            .as_table_like_mut()
            .expect("validated: `files` is a table");
        let mut entry = InlineTable::new();
        entry.insert("component", component.into());
        entry.insert("sha256", sha256.into());
        match files.get_mut(path) {
            Some(item)
                if item.get("sha256").and_then(Item::as_str) == Some(sha256)
                    && item.get("component").and_then(Item::as_str) == Some(component) => {}
            Some(item) => *item = value(entry),
            None => {
                files.insert(path, value(entry));
                if let Some(t) = self.doc["files"].as_table_mut() {
                    t.sort_values();
                }
            }
        }
    }

    /// Forgets `path`.
    pub fn remove_file(&mut self, path: &str) {
        if let Some(files) = self.doc["files"].as_table_like_mut() {
            files.remove(path);
        }
    }

    /// Marks the record as written by this stanchion version.
    pub fn touch_version(&mut self) {
        if let Some(meta) = self.doc["stanchion"].as_table_like_mut() {
            let current = env!("CARGO_PKG_VERSION");
            if meta.get("version").and_then(Item::as_str) != Some(current) {
                meta.insert("version", value(current));
            }
        }
    }
}

impl std::fmt::Display for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.doc)
    }
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Everything a freshly generated project holds: the rendered files, the record,
/// and a base copy of every recorded file.
pub fn project_tree(answers: &Answers, rendered: &Rendered) -> Tree {
    let mut tree = Tree::new();
    for (path, file) in &rendered.files {
        tree.insert(path.clone(), file.contents.clone());
        if !is_secret(path) {
            tree.insert(format!("{BASE_DIR}/{path}"), file.contents.clone());
        }
    }
    tree.insert(RECORD_FILE, Record::new(answers, rendered).to_string());
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised() {
        assert!(is_secret(".env"));
        assert!(is_secret("config/.env.production"));
        assert!(!is_secret(".env.example"));
        assert!(!is_secret("src/env.rs"));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_records_name_the_line() {
        let path = Path::new("stanchion.toml");
        let err = Record::parse("[stanchion]\nversion = \"0.1.0\"\n[answers\n", path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("stanchion.toml:3"), "{msg}");

        let text =
            "[stanchion]\n[answers]\nname = \"x\"\n[files]\n\"a\" = { component = \"base\" }\n";
        let msg = Record::parse(text, path).unwrap_err().to_string();
        assert!(
            msg.contains("stanchion.toml:5") && msg.contains("`a`"),
            "{msg}"
        );

        let msg = Record::parse("[stanchion]\n[files]\n", path)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("`[answers]` table is missing"), "{msg}");
    }

    #[test]
    fn editing_answers_keeps_comments_and_order() {
        let text = "[stanchion]\nversion = \"0.0.1\"\n\n[answers]\n# ours\nname = \"x\"\ndeploy = [\"docker\"] # why\nmy_note = 1\n\n[files]\n";
        let mut record = Record::parse(text, Path::new("s.toml")).unwrap();
        let mut values = crate::answers::Partial::default();
        values.insert("name", Value::Str("x".into()));
        values.insert("deploy", Value::List(vec!["docker".into(), "ci".into()]));
        values.insert("metrics", Value::Bool(true));
        let answers = Answers::new(&crate::answers::Catalog::default(), values).unwrap();
        record.set_answers(&answers);
        record.set_file("b.rs", "base", "00");
        record.set_file("a.rs", "base", "11");
        let out = record.to_string();
        assert!(out.contains("# ours\nname = \"x\"\ndeploy = [\"docker\", \"ci\"] # why\nmy_note = 1\nmetrics = true\n"), "{out}");
        assert!(
            out.find("\"a.rs\"").unwrap() < out.find("\"b.rs\"").unwrap(),
            "{out}"
        );
    }
}
