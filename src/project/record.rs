//! The record of what was generated: `stanchion.toml` and `.stanchion/base/`.
//!
//! `stanchion.toml` holds the stanchion version, every answer, and for each
//! generated file its owning component and a content hash; `.stanchion/base/`
//! holds the file exactly as generated. With both, a later `regen` can tell a
//! user's edit from a template change and merge the two with the base copy as
//! common ancestor — even after stanchion's own templates have moved on. Both are
//! meant to be committed. Secrets never enter the record: `.env` files are not
//! generated, hashed or copied.

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, InlineTable, Item, Table, value};

use crate::answers::Answers;
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

/// The `stanchion.toml` document for `answers` and `rendered`.
pub fn record_document(answers: &Answers, rendered: &Rendered) -> DocumentMut {
    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(HEADER);

    let mut meta = Table::new();
    meta.insert("version", value(env!("CARGO_PKG_VERSION")));
    doc.insert("stanchion", Item::Table(meta));

    let mut table = Table::new();
    for (key, v) in answers.values().iter() {
        table.insert(key, value(v.to_toml()));
    }
    doc.insert("answers", Item::Table(table));

    let mut files = Table::new();
    for (path, file) in &rendered.files {
        if is_secret(path) {
            continue;
        }
        let mut entry = InlineTable::new();
        entry.insert("component", file.component.as_str().into());
        entry.insert("sha256", sha256_hex(&file.contents).into());
        files.insert(path, value(entry));
    }
    doc.insert("files", Item::Table(files));
    doc
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
    tree.insert(RECORD_FILE, record_document(answers, rendered).to_string());
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
}
