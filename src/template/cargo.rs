//! The generated `Cargo.toml`: the base's, plus every selected component's
//! dependency tables, merged with toml_edit.

use super::Rendered;
use super::manifest::Manifest;
use crate::error::{Error, Result};

/// Adds every selected component's dependency tables to the generated `Cargo.toml`
/// with toml_edit, merging features when two components declare the same crate.
/// `manifests` are the selected components' manifests, already rendered.
pub(super) fn assemble_manifest(out: &mut Rendered, manifests: &[Manifest]) -> Result<()> {
    let Some(file) = out.files.get_mut("Cargo.toml") else {
        return Err(Error::Render {
            component: "base".into(),
            path: "Cargo.toml".into(),
            message: "the base component must generate a `Cargo.toml`".into(),
        });
    };
    let fail = |message: String| Error::Render {
        component: file.component.clone(),
        path: "Cargo.toml".into(),
        message,
    };
    let text = String::from_utf8(file.contents.clone())
        .map_err(|_| fail("the rendered `Cargo.toml` is not UTF-8".into()))?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        fail(format!("the rendered `Cargo.toml` is invalid: {e}"))
    })?;
    let mut profile = match doc.remove("profile") {
        Some(toml_edit::Item::Table(t)) => t,
        Some(_) => return Err(fail("`profile` must be a table".into())),
        None => toml_edit::Table::new(),
    };
    for manifest in manifests {
        merge_tables(&mut profile, &manifest.profile);
    }
    if !profile.is_empty() {
        profile.set_implicit(true);
        doc.insert("profile", toml_edit::Item::Table(profile));
    }
    for (key, pick) in [
        (
            "dependencies",
            (|m: &Manifest| &m.dependencies) as fn(&Manifest) -> &toml_edit::Table,
        ),
        ("dev-dependencies", |m: &Manifest| &m.dev_dependencies),
    ] {
        let mut merged = match doc.remove(key) {
            Some(toml_edit::Item::Table(t)) => t,
            Some(_) => return Err(fail(format!("`{key}` must be a table"))),
            None => toml_edit::Table::new(),
        };
        for manifest in manifests {
            let table = pick(manifest);
            for (name, item) in table.iter() {
                let (key, _) = table.get_key_value(name).expect("iterated key");
                merge_dependency(&mut merged, key, item).map_err(|m| Error::Render {
                    component: manifest.name.clone(),
                    path: "component.toml".into(),
                    message: m,
                })?;
            }
        }
        if !merged.is_empty() {
            merged.sort_values();
            merged.set_implicit(false);
            doc.insert(key, toml_edit::Item::Table(merged));
        }
    }
    file.contents = doc.to_string().into_bytes();
    Ok(())
}

/// Inserts dependency `key`, or unions its features with an existing entry of the
/// same version. The key keeps its comments, so a component's note on why a
/// feature is off reaches the generated `Cargo.toml`.
fn merge_dependency(
    table: &mut toml_edit::Table,
    key: &toml_edit::Key,
    item: &toml_edit::Item,
) -> std::result::Result<(), String> {
    let name = key.get();
    let Some(existing) = table.get_mut(name) else {
        table.insert_formatted(key, item.clone());
        return Ok(());
    };
    let version = |i: &toml_edit::Item| -> Option<String> {
        i.as_str()
            .map(str::to_owned)
            .or_else(|| i.get("version").and_then(|v| v.as_str()).map(str::to_owned))
    };
    if version(existing) != version(item) {
        return Err(format!(
            "dependency `{name}` is declared with two versions ({:?} and {:?})",
            version(existing),
            version(item)
        ));
    }
    let features = |i: &toml_edit::Item| -> Vec<String> {
        i.get("features")
            .and_then(|f| f.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all = features(existing);
    for f in features(item) {
        if !all.contains(&f) {
            all.push(f);
        }
    }
    if all.is_empty() {
        return Ok(());
    }
    if existing.is_str() {
        let mut inline = toml_edit::InlineTable::new();
        inline.insert("version", version(existing).unwrap_or_default().into());
        *existing = toml_edit::value(inline);
    }
    let array: toml_edit::Array = all.iter().map(String::as_str).collect();
    match existing.as_inline_table_mut() {
        Some(t) => {
            t.insert("features", array.into());
        }
        None => existing["features"] = toml_edit::value(array),
    }
    Ok(())
}

/// Adds `src` to `dst`, table by table; a value `src` sets replaces `dst`'s.
fn merge_tables(dst: &mut toml_edit::Table, src: &toml_edit::Table) {
    for (key, item) in src.iter() {
        match (dst.get_mut(key), item) {
            (Some(toml_edit::Item::Table(mine)), toml_edit::Item::Table(theirs)) => {
                merge_tables(mine, theirs);
            }
            _ => {
                let (key, _) = src.get_key_value(key).expect("iterated key");
                dst.insert_formatted(key, item.clone());
            }
        }
    }
}
