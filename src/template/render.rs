//! Rendering: answers + templates → an in-memory tree. Pure and deterministic.
//!
//! Nothing here reads or writes the disk, so `--dry-run`, snapshots and three-way
//! merges all work on exactly what `new` would write. Handlebars runs in strict
//! mode — a template that names a variable the context lacks is an error, not an
//! empty string — and without HTML escaping, since we emit code.
//!
//! The steps: select the components the answers ask for; render their manifests
//! (a manifest may follow the answers); render every file and every fill; paste
//! the fills into the slots the files declare ([`super::slots`]); assemble
//! `Cargo.toml` from the dependency tables.

use std::collections::BTreeMap;

use handlebars::Handlebars;
use serde_json::json;

use super::manifest::{EnvVar, Fill, FillText, Manifest};
use super::set::{Component, TemplateSet};
use super::{cargo, chunks, slots};
use crate::answers::Answers;
use crate::error::{Error, Result, closest};

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
    /// The environment variables the selected components read, in order.
    pub env: Vec<EnvVar>,
}

/// The components `answers` select from `set`, base first, in component order;
/// each must have its dependencies selected too.
pub fn select<'a>(set: &'a TemplateSet, answers: &Answers) -> Result<Vec<&'a Component>> {
    let selected: Vec<&Component> = set
        .ordered()
        .into_iter()
        .filter(|c| c.manifest.is_selected(answers.values()))
        .collect();
    for component in &selected {
        for needs in &component.manifest.depends_on {
            if !selected.iter().any(|c| &c.manifest.name == needs) {
                return Err(Error::MissingDependency {
                    component: component.manifest.name.clone(),
                    needs: needs.clone(),
                });
            }
        }
    }
    Ok(selected)
}

/// The names of the components `answers` select, base first.
pub fn selected_names(set: &TemplateSet, answers: &Answers) -> Result<Vec<String>> {
    Ok(select(set, answers)?
        .into_iter()
        .map(|c| c.manifest.name.clone())
        .collect())
}

/// The variables templates see for the `selected` components (without `env` and
/// `filled`, which come from the rendered manifests).
pub fn context(set: &TemplateSet, answers: &Answers, selected: &[&Component]) -> serde_json::Value {
    let selected: Vec<&str> = selected.iter().map(|c| c.manifest.name.as_str()).collect();
    let has: serde_json::Map<String, serde_json::Value> = set
        .components
        .keys()
        .map(|c| (c.replace('-', "_"), selected.contains(&c.as_str()).into()))
        .collect();
    // Questions that do not apply still have their default, so a template may
    // test `answers.read_replica` without first testing the database.
    let values: serde_json::Map<String, serde_json::Value> = set
        .catalog
        .iter()
        .filter_map(|q| {
            let value = answers
                .values()
                .get(&q.key)
                .cloned()
                .or_else(|| q.default.clone())?;
            Some((q.key.clone(), value.to_json()))
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
        "components": selected,
    })
}

/// The handlebars registry every template renders with.
pub fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    slots::register(&mut hb);
    hb
}

/// What one render job produces.
enum Target {
    /// A generated file at this path.
    File(String),
    /// The text of one fill of this slot.
    Fill(usize),
}

/// One template to render (or file to copy).
struct Job<'a> {
    component: &'a str,
    /// Its path in the component, for messages.
    source_path: String,
    bytes: &'a [u8],
    template: bool,
    target: Target,
}

/// Renders the project for `answers` from `set`.
pub fn render(set: &TemplateSet, answers: &Answers) -> Result<Rendered> {
    let selected = select(set, answers)?;
    let names: Vec<&str> = selected.iter().map(|c| c.manifest.name.as_str()).collect();
    let mut context = context(set, answers, &selected);
    let hb = registry();
    let manifest_context = chunks::Context::new(context.clone());
    let manifest_size = |c: &&Component| c.manifest.template.as_ref().map_or(0, String::len);
    let manifests = crate::parallel::map(selected.clone(), manifest_size, |component| {
        component
            .manifest
            .rendered(&hb, &manifest_context)
            .map_err(|message| Error::Render {
                component: component.manifest.name.clone(),
                path: "component.toml".into(),
                message,
            })
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    let env = env_of(&manifests);
    context["env"] = serde_json::to_value(&env).expect("plain data");
    context["required_env"] = json!(
        env.iter()
            .filter(|e| e.required)
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
    );

    let mut fills: Vec<(usize, &Fill)> = Vec::new();
    let auto_fills = auto_fills(&selected, &manifests);
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for (index, (component, manifest)) in selected.iter().zip(&manifests).enumerate() {
        let name = component.manifest.name.as_str();
        for (path, bytes) in &component.files {
            let Some(target) = output_path(manifest, path, answers) else {
                continue;
            };
            jobs.push(Job {
                component: name,
                source_path: path.clone(),
                bytes,
                template: path.ends_with(".hbs"),
                target: Target::File(target),
            });
        }
        for fill in manifest.fills.iter().chain(&auto_fills[index]) {
            let applies = fill.when.iter().all(|w| names.contains(&w.as_str()))
                && fill.only_if.iter().all(|c| c.holds(answers.values()));
            if !applies {
                continue;
            }
            let at = fills.len();
            fills.push((index, fill));
            let (source_path, bytes, template): (String, &[u8], bool) = match &fill.text {
                FillText::Inline(text) => ("component.toml".into(), text.as_bytes(), false),
                FillText::File(file) => {
                    let bytes = component.fills.get(file).ok_or_else(|| Error::Render {
                        component: name.to_owned(),
                        path: "component.toml".into(),
                        message: format!("fill file `fills/{file}` does not exist"),
                    })?;
                    (format!("fills/{file}"), bytes, file.ends_with(".hbs"))
                }
            };
            jobs.push(Job {
                component: name,
                source_path,
                bytes,
                template,
                target: Target::Fill(at),
            });
        }
    }

    // Which slots have fills, for a template whose shape depends on it
    // (`{{#if filled.[lib.routes]}}`): known before anything is rendered.
    let filled: serde_json::Map<String, serde_json::Value> = fills
        .iter()
        .map(|(_, f)| (f.slot.clone(), true.into()))
        .collect();
    context["filled"] = serde_json::Value::Object(filled);

    // Every slot a generated file or an applied fill declares, to check fills
    // against.
    let mut declared: Vec<String> = jobs
        .iter()
        .filter(|j| j.template)
        .flat_map(|j| slots::declared(&String::from_utf8_lossy(j.bytes)))
        .collect();
    declared.sort();
    declared.dedup();
    for (index, fill) in &fills {
        if !declared.contains(&fill.slot) {
            return Err(Error::UnknownSlot {
                component: names[*index].to_owned(),
                slot: fill.slot.clone(),
                suggestion: closest(&fill.slot, declared.iter().map(String::as_str)),
            });
        }
    }

    let results = render_all(&hb, &context, &jobs);
    let mut by_slot: BTreeMap<String, Vec<(i64, usize, String)>> = BTreeMap::new();
    let mut files: Vec<(&Job<'_>, String, Vec<u8>)> = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        let contents = result?;
        match &job.target {
            Target::Fill(at) => {
                let (index, fill) = fills[*at];
                let text = String::from_utf8(contents).map_err(|_| Error::Render {
                    component: job.component.to_owned(),
                    path: job.source_path.clone(),
                    message: "a fill must be UTF-8".into(),
                })?;
                // A fill that renders to nothing (its own `{{#if}}` said no)
                // leaves no blank line behind.
                if !text.trim().is_empty() {
                    by_slot
                        .entry(fill.slot.clone())
                        .or_default()
                        .push((fill.order, index, text));
                }
            }
            Target::File(path) => files.push((job, path.clone(), contents)),
        }
    }
    let by_slot: BTreeMap<String, Vec<String>> = by_slot
        .into_iter()
        .map(|(slot, mut texts)| {
            texts.sort_by_key(|(order, index, _)| (*order, *index));
            (slot, texts.into_iter().map(|(_, _, t)| t).collect())
        })
        .collect();
    // A fill may declare slots of its own (a README section whose table other
    // components add rows to).
    let by_slot = slots::nest(by_slot).map_err(|slot| Error::Render {
        component: "base".into(),
        path: format!("slot `{slot}`"),
        message: "fills nest deeper than 8 slots (does a fill of this slot declare it?)".into(),
    })?;

    let mut out = Rendered {
        env,
        ..Rendered::default()
    };
    for (job, target, contents) in files {
        let contents = if job.template {
            slots::expand(
                &String::from_utf8(contents).expect("rendered text"),
                &by_slot,
            )
            .into_bytes()
        } else {
            contents
        };
        if let Some(existing) = out.files.get(&target) {
            return Err(Error::FileCollision {
                path: target,
                first: existing.component.clone(),
                second: job.component.to_owned(),
            });
        }
        out.files.insert(
            target,
            RenderedFile {
                component: job.component.to_owned(),
                contents,
            },
        );
    }
    cargo::assemble_manifest(&mut out, &manifests)?;
    Ok(out)
}

/// Where the template at `path` (under `files/`) is generated, if it is: its own
/// path without `.hbs`, or what a `[[files]]` rule of `manifest` says.
fn output_path(manifest: &Manifest, path: &str, answers: &Answers) -> Option<String> {
    let own = path.strip_suffix(".hbs").unwrap_or(path).to_owned();
    let Some(rule) = manifest.files.iter().find(|r| r.path == path) else {
        return Some(own);
    };
    if !rule.only_if.iter().all(|c| c.holds(answers.values())) {
        return None;
    }
    Some(rule.to.clone().unwrap_or(own))
}

/// The fills of each component's `fills/` folder that its manifest does not
/// name: `fills/SLOT.hbs` fills slot `SLOT` in the default order, and
/// `fills/SLOT.when-OTHER.hbs` does so only when component `OTHER` is
/// selected too.
fn auto_fills(selected: &[&Component], manifests: &[Manifest]) -> Vec<Vec<Fill>> {
    selected
        .iter()
        .zip(manifests)
        .map(|(component, manifest)| {
            component
                .fills
                .keys()
                .filter(|file| !file.contains('/'))
                .filter(|file| {
                    !manifest
                        .fills
                        .iter()
                        .any(|f| matches!(&f.text, FillText::File(named) if named == *file))
                })
                .map(|file| {
                    // `<slot>.when-<component>…[.hbs]`: only with those
                    // components selected.
                    let mut slot = file.strip_suffix(".hbs").unwrap_or(file);
                    let mut when = Vec::new();
                    while let Some((rest, component)) = slot.rsplit_once(".when-") {
                        when.insert(0, component.to_owned());
                        slot = rest;
                    }
                    Fill {
                        slot: slot.to_owned(),
                        order: super::manifest::DEFAULT_ORDER,
                        text: FillText::File(file.clone()),
                        when,
                        only_if: Vec::new(),
                    }
                })
                .collect()
        })
        .collect()
}

/// The variables of the selected components, in order; a variable two
/// components read (a shared `REDIS_URL`) is listed once, as the first declares
/// it.
fn env_of(manifests: &[Manifest]) -> Vec<EnvVar> {
    let mut out: Vec<EnvVar> = Vec::new();
    for var in manifests.iter().flat_map(|m| &m.env) {
        if !out.iter().any(|v| v.name == var.name) {
            out.push(var.clone());
        }
    }
    out
}

/// Renders every job, on every core. The results come back in job order, so
/// output and errors stay deterministic.
fn render_all(
    hb: &Handlebars<'_>,
    context: &serde_json::Value,
    jobs: &[Job<'_>],
) -> Vec<Result<Vec<u8>>> {
    // Serialized once here rather than by every `render_template` call.
    let context = &chunks::Context::new(context.clone());
    crate::parallel::map(
        jobs.iter().collect(),
        |job| if job.template { job.bytes.len() } else { 0 },
        |job| {
            if job.template {
                render_one(hb, context, job)
            } else {
                Ok(job.bytes.to_vec())
            }
        },
    )
}

/// Renders one template.
fn render_one(hb: &Handlebars<'_>, context: &chunks::Context, job: &Job<'_>) -> Result<Vec<u8>> {
    let fail = |message: String| Error::Render {
        component: job.component.to_owned(),
        path: job.source_path.clone(),
        message,
    };
    let source = std::str::from_utf8(job.bytes)
        .map_err(|_| fail("a `.hbs` template must be UTF-8".into()))?;
    // Rendered piece by piece (see `chunks`): the same output, parsed faster.
    chunks::render(hb, context, source)
        .map(String::into_bytes)
        .map_err(|(e, line)| fail(describe(&e, line)))
}

/// A one-line description of a handlebars error, with its line when known
/// (`offset`: the lines before the piece it happened in).
fn describe(e: &handlebars::RenderError, offset: usize) -> String {
    let reason = match e.reason() {
        handlebars::RenderErrorReason::MissingVariable(Some(name)) => format!(
            "`{name}` is not defined; templates can use `project_name`, `crate_name`, `dns_name`, `description`, `stanchion_version`, `answers.<key>`, `has.<component>`, `components`, `env`, `required_env` and `filled`"
        ),
        other => other.to_string(),
    };
    match e.line_no {
        Some(line) => format!("line {}: {reason}", line + offset),
        None => reason,
    }
}
