//! Rendering: answers + templates → an in-memory tree. Pure and deterministic.
//!
//! Nothing here reads or writes the disk, so `--dry-run`, snapshots and (later)
//! three-way merges all work on exactly what `new` would write. Handlebars runs in
//! strict mode — a template that names a variable the context lacks is an error,
//! not an empty string — and without HTML escaping, since we emit code.

use std::collections::BTreeMap;

use handlebars::Handlebars;
use serde_json::json;

use super::set::{Component, Manifest, TemplateSet};
use crate::answers::{Answers, QUESTIONS};
use crate::error::{Error, Result};

/// Every component stanchion knows of, whether or not the template set has it,
/// so templates can test `has.<name>` for any of them.
pub const KNOWN_COMPONENTS: &[&str] = &[
    "base",
    "database",
    "cache",
    "http-cache",
    "rate-limit",
    "auth",
    "metrics",
    "tracing",
    "openapi",
    "docker",
    "kubernetes",
    "ci",
];

/// One generated file and the component that owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// Owning component.
    pub component: String,
    /// File contents.
    pub contents: Vec<u8>,
}

/// The generated project files, by relative path (`/` separators), sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Files by path.
    pub files: BTreeMap<String, RenderedFile>,
}

/// The components `answers` select, in order, checked against `set`: each must
/// exist and have its dependencies selected too.
pub fn select<'a>(set: &'a TemplateSet, answers: &Answers) -> Result<Vec<&'a Component>> {
    let wanted = answers.components();
    let mut selected = Vec::new();
    for (name, answer) in &wanted {
        let component = set
            .components
            .get(name)
            .ok_or_else(|| Error::ComponentUnavailable {
                component: name.clone(),
                answer: (*answer).to_owned(),
            })?;
        selected.push(component);
    }
    for component in &selected {
        for needs in &component.manifest.depends_on {
            if !wanted.iter().any(|(n, _)| n == needs) {
                return Err(Error::MissingDependency {
                    component: component.manifest.name.clone(),
                    needs: needs.clone(),
                });
            }
        }
    }
    Ok(selected)
}

/// The variables templates see.
pub fn context(set: &TemplateSet, answers: &Answers) -> serde_json::Value {
    let selected: Vec<String> = answers.components().into_iter().map(|(c, _)| c).collect();
    let has: serde_json::Map<String, serde_json::Value> = KNOWN_COMPONENTS
        .iter()
        .copied()
        .chain(set.components.keys().map(String::as_str))
        .map(|c| (c.replace('-', "_"), selected.iter().any(|s| s == c).into()))
        .collect();
    let values: serde_json::Map<String, serde_json::Value> = QUESTIONS
        .iter()
        .filter_map(|q| {
            let value = answers
                .values()
                .get(q.key)
                .cloned()
                .or_else(|| q.default_value())?;
            Some((q.key.to_owned(), value.to_json()))
        })
        .collect();
    json!({
        "project_name": answers.name.as_str(),
        "crate_name": answers.name.crate_name(),
        "dns_name": answers.name.dns_name(),
        "description": answers.description,
        "stanchion_version": env!("CARGO_PKG_VERSION"),
        "answers": values,
        "has": has,
    })
}

/// Renders the project for `answers` from `set`.
pub fn render(set: &TemplateSet, answers: &Answers) -> Result<Rendered> {
    let selected = select(set, answers)?;
    let context = context(set, answers);
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);

    // Every file to produce, in a fixed order: (component, template path, source).
    let jobs: Vec<(&str, &str, &[u8])> = selected
        .iter()
        .flat_map(|c| {
            c.files
                .iter()
                .map(|(path, bytes)| (c.manifest.name.as_str(), path.as_str(), bytes.as_slice()))
        })
        .collect();
    // Parsing dominates (handlebars computes a line and column for every element
    // it parses), so templates are rendered on every core; the results are put
    // together in the order above, so output and errors stay deterministic.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    // Largest first, each to the least loaded thread: parse time grows faster
    // than size, so balance matters more than order.
    let mut by_size: Vec<usize> = (0..jobs.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(jobs[i].2.len()));
    let mut shares: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); threads.max(1)];
    for i in by_size {
        let lightest = shares
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("a thread");
        lightest.0 += jobs[i].2.len();
        lightest.1.push(i);
    }
    let mut rendered: Vec<Option<Result<Output>>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = shares
            .iter()
            .map(|(_, share)| {
                let (hb, context, jobs) = (&hb, &context, &jobs);
                scope.spawn(move || {
                    share
                        .iter()
                        .map(|&i| {
                            let (component, path, bytes) = jobs[i];
                            (i, render_one(hb, context, component, path, bytes))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for (i, result) in worker.join().expect("a render thread panicked") {
                rendered[i] = Some(result);
            }
        }
    });
    let rendered = rendered
        .into_iter()
        .map(|r| r.expect("every file rendered"));

    let mut out = Rendered::default();
    for ((component, _, _), result) in jobs.iter().zip(rendered) {
        let (target, contents) = result?;
        if let Some(existing) = out.files.get(&target) {
            return Err(Error::FileCollision {
                path: target,
                first: existing.component.clone(),
                second: (*component).to_owned(),
            });
        }
        out.files.insert(
            target,
            RenderedFile {
                component: (*component).to_owned(),
                contents,
            },
        );
    }
    let manifests = selected
        .iter()
        .map(|component| {
            component
                .manifest
                .rendered(&hb, &context)
                .map_err(|message| Error::Render {
                    component: component.manifest.name.clone(),
                    path: "component.toml".into(),
                    message,
                })
        })
        .collect::<Result<Vec<_>>>()?;
    assemble_manifest(&mut out, &manifests)?;
    Ok(out)
}

/// A rendered file's output path and contents.
type Output = (String, Vec<u8>);

/// Renders one template file (`.hbs`) or passes a verbatim one through; returns
/// the output path and contents.
fn render_one(
    hb: &Handlebars<'_>,
    context: &serde_json::Value,
    component: &str,
    path: &str,
    bytes: &[u8],
) -> Result<Output> {
    let fail = |message: String| Error::Render {
        component: component.to_owned(),
        path: path.to_owned(),
        message,
    };
    match path.strip_suffix(".hbs") {
        Some(target) => {
            let source = std::str::from_utf8(bytes)
                .map_err(|_| fail("a `.hbs` template must be UTF-8".into()))?;
            let rendered = hb
                .render_template(source, context)
                .map_err(|e| fail(describe(&e)))?;
            Ok((target.to_owned(), rendered.into_bytes()))
        }
        None => Ok((path.to_owned(), bytes.to_vec())),
    }
}

/// A one-line description of a handlebars error, with its line when known.
fn describe(e: &handlebars::RenderError) -> String {
    let reason = match e.reason() {
        handlebars::RenderErrorReason::MissingVariable(Some(name)) => format!(
            "`{name}` is not defined; templates can use `project_name`, `crate_name`, `dns_name`, `description`, `stanchion_version`, `answers.<key>` and `has.<component>`"
        ),
        other => other.to_string(),
    };
    match e.line_no {
        Some(line) => format!("line {line}: {reason}"),
        None => reason,
    }
}

/// Adds every selected component's dependency tables to the generated `Cargo.toml`
/// with toml_edit, merging features when two components declare the same crate.
/// `manifests` are the selected components' manifests, already rendered.
fn assemble_manifest(out: &mut Rendered, manifests: &[Manifest]) -> Result<()> {
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
