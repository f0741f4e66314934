//! The `Cargo.lock` a new project ships with: the tested dependency set, cut
//! down to the project's own dependencies.
//!
//! A template set may carry `lock.json`: the dependency graph that cargo
//! resolved for the union of every component's dependencies (every answer's
//! crates and features at once), with the versions stanchion's CI built and
//! tested. For one project, [`trim`] walks that graph from the project's own
//! `Cargo.toml` the way cargo does when it writes a lockfile — features
//! unified across build kinds and platforms, optional dependencies only when a
//! feature names them (weakly, `dep?/feature`, included), development
//! dependencies of the project only — and
//! writes what it reaches in cargo's own lockfile format, so that `cargo build
//! --locked` accepts it as it is.
//!
//! A dependency the graph does not know (a team's component added a crate the
//! set's lock was not made with) yields no lockfile: cargo resolves one at the
//! first build, and `new` says so.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The resolved dependency graph of a template set.
#[derive(Debug, Serialize, Deserialize)]
pub struct Graph {
    /// The union manifest the graph was resolved for, to tell when the
    /// templates have moved on.
    pub manifest: String,
    /// The union manifest's direct dependencies: name and version requirement
    /// as the templates write them, and the package they resolved to.
    pub root: Vec<RootDep>,
    /// Every package of the resolve.
    pub packages: Vec<Package>,
}

/// A direct dependency of the union manifest.
#[derive(Debug, Serialize, Deserialize)]
pub struct RootDep {
    /// Its key in `[dependencies]`.
    pub name: String,
    /// The version requirement the templates write.
    pub req: String,
    /// Index of its package in [`Graph::packages`].
    pub package: usize,
}

/// A package of the resolve, with what decides which of its dependencies are
/// used.
#[derive(Debug, Serialize, Deserialize)]
pub struct Package {
    /// Crate name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Where it comes from, when not crates.io.
    #[serde(default = "crates_io", skip_serializing_if = "is_crates_io")]
    pub source: Option<String>,
    /// Its registry checksum.
    pub checksum: Option<String>,
    /// Each feature with the dependencies it ends up enabling, as `dep:x`,
    /// `x/f` and `x?/f` (other features already expanded, implicit features
    /// of optional dependencies written out); features that enable no
    /// dependency are left out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, Vec<String>>,
    /// Its normal and build dependencies that the union resolve uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deps: Vec<Dep>,
}

/// One dependency declaration of a package. Short keys and omitted defaults
/// keep `lock.json` small: every `new` reads it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Dep {
    /// The name features refer to it by (its rename, or the crate name).
    #[serde(rename = "n")]
    pub name: String,
    /// Index of the package it resolved to.
    #[serde(rename = "p")]
    pub package: usize,
    /// Whether a feature must turn it on.
    #[serde(rename = "o", default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// Whether it asks for the package's default features.
    #[serde(rename = "d", default = "yes", skip_serializing_if = "is_true")]
    pub default_features: bool,
    /// The features it asks for.
    #[serde(rename = "f", default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// crates.io's source id, as lockfiles write it.
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

fn crates_io() -> Option<String> {
    Some(CRATES_IO.to_owned())
}

fn is_crates_io(source: &Option<String>) -> bool {
    source.as_deref() == Some(CRATES_IO)
}

fn is_false(b: &bool) -> bool {
    !b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// A dependency of the project that the graph cannot lock.
#[derive(Debug, PartialEq, Eq)]
pub struct Unknown(pub String);

/// The lockfile of a rendered project, cut from `set`'s graph: None when the
/// set has no `lock.json`.
pub fn for_project(
    set: &crate::template::TemplateSet,
    rendered: &crate::template::Rendered,
) -> Option<Result<String, Unknown>> {
    cut(parse(set.lock.as_deref()?), rendered)
}

/// Parses a `lock.json`. `new` calls it on a core of its own from its start,
/// so the parse overlaps loading the set, resolving the answers and
/// rendering.
pub fn parse(bytes: &[u8]) -> Result<Graph, Unknown> {
    serde_json::from_slice(bytes).map_err(|e| Unknown(format!("lock.json does not parse: {e}")))
}

/// The lockfile of a rendered project, cut from `graph`: None when the
/// project has no `Cargo.toml`.
pub fn cut(
    graph: Result<Graph, Unknown>,
    rendered: &crate::template::Rendered,
) -> Option<Result<String, Unknown>> {
    let manifest = rendered.files.get("Cargo.toml")?;
    Some(graph.and_then(|graph| trim(&graph, &String::from_utf8_lossy(&manifest.contents))))
}

/// The lockfile of the project whose `Cargo.toml` is `manifest`.
pub fn trim(graph: &Graph, manifest: &str) -> Result<String, Unknown> {
    let doc: toml_edit::DocumentMut = manifest
        .parse()
        .map_err(|e| Unknown(format!("Cargo.toml does not parse: {e}")))?;
    let name = doc["package"]["name"].as_str().unwrap_or_default();
    let version = doc["package"]["version"].as_str().unwrap_or("0.1.0");
    let mut walk = Walk::new(graph);
    let mut direct = BTreeSet::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = doc.get(table).and_then(toml_edit::Item::as_table_like) else {
            continue;
        };
        for (key, item) in deps.iter() {
            let (req, features, default) = requirement(item);
            let root = graph
                .root
                .iter()
                .find(|r| r.name == key && r.req == req)
                .ok_or_else(|| Unknown(format!("{key} {req}")))?;
            direct.insert(root.package);
            let mut wanted = features;
            if default {
                wanted.push("default");
            }
            walk.request(root.package, wanted);
        }
    }
    walk.run();
    Ok(encode(&walk, name, version, &direct))
}

/// A dependency's version requirement, features and default-features flag.
fn requirement(item: &toml_edit::Item) -> (&str, Vec<&str>, bool) {
    if let Some(req) = item.as_str() {
        return (req, Vec::new(), true);
    }
    let Some(table) = item.as_table_like() else {
        return ("", Vec::new(), true);
    };
    let req = table
        .get("version")
        .and_then(toml_edit::Item::as_str)
        .unwrap_or_default();
    let features = table
        .get("features")
        .and_then(toml_edit::Item::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let default = table
        .get("default-features")
        .and_then(toml_edit::Item::as_bool)
        .unwrap_or(true);
    (req, features, default)
}

/// Which packages a resolve reaches, and with which features. Feature names
/// are borrowed from the graph and the manifest.
struct Walk<'a> {
    graph: &'a Graph,
    /// Requested features of each reached package (None: not reached).
    active: Vec<Option<BTreeSet<&'a str>>>,
    /// The dependencies each reached package uses, as of its last expansion
    /// (which saw its final features: a package is expanded again whenever
    /// they grow).
    uses: Vec<Vec<usize>>,
    /// Packages whose features grew since they were last expanded.
    queue: Vec<usize>,
}

impl<'a> Walk<'a> {
    fn new(graph: &'a Graph) -> Self {
        Self {
            graph,
            active: vec![None; graph.packages.len()],
            uses: vec![Vec::new(); graph.packages.len()],
            queue: Vec::new(),
        }
    }

    /// Reaches `package` with `features` (on top of those it already has).
    fn request(&mut self, package: usize, features: impl IntoIterator<Item = &'a str>) {
        let reached = self.active[package].is_none();
        let set = self.active[package].get_or_insert_with(BTreeSet::new);
        let before = set.len();
        set.extend(features);
        if reached || set.len() > before {
            self.queue.push(package);
        }
    }

    /// Expands until nothing changes.
    fn run(&mut self) {
        let graph = self.graph;
        while let Some(id) = self.queue.pop() {
            let Some(requested) = &self.active[id] else {
                continue;
            };
            let on = enabled(&graph.packages[id], requested);
            self.uses[id] = on.iter().map(|(package, _)| *package).collect();
            for (package, features) in on {
                self.request(package, features);
            }
        }
    }
}

/// The dependencies of `package` that its `requested` features turn on (all
/// of its non-optional ones among them), each with the features asked of it.
fn enabled<'a>(package: &'a Package, requested: &BTreeSet<&str>) -> Vec<(usize, Vec<&'a str>)> {
    // What the requested features end up enabling.
    let mut effects: Vec<&str> = Vec::new();
    for feature in requested {
        // A feature missing from the map enables no dependency.
        if let Some(enables) = package.features.get(*feature) {
            effects.extend(enables.iter().map(String::as_str));
        }
    }
    let mut out = Vec::new();
    for dep in &package.deps {
        let mut features: Vec<&str> = dep.features.iter().map(String::as_str).collect();
        if dep.default_features {
            features.push("default");
        }
        let mut on = !dep.optional;
        for effect in &effects {
            match effect.split_once('/') {
                // `dep/feature`, and `dep?/feature` too: cargo's resolver
                // locks a weak dependency as if it were on (the feature
                // resolver drops it from the build later), so the lockfile
                // must list it.
                Some((name, feature)) if name.trim_end_matches('?') == dep.name => {
                    features.push(feature);
                    on = true;
                }
                Some(_) => {}
                None => on |= effect.strip_prefix("dep:") == Some(dep.name.as_str()),
            }
        }
        if on {
            out.push((dep.package, features));
        }
    }
    out
}

/// The lockfile text, in cargo's format (version 4): packages by name and
/// version, each with its dependencies named alone, or with their version
/// where two versions of one crate are locked.
fn encode(walk: &Walk<'_>, name: &str, version: &str, direct: &BTreeSet<usize>) -> String {
    let graph = walk.graph;
    let used: Vec<usize> = (0..graph.packages.len())
        .filter(|&i| walk.active[i].is_some())
        .collect();
    let mut versions_of: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &used {
        *versions_of
            .entry(graph.packages[i].name.as_str())
            .or_default() += 1;
    }
    *versions_of.entry(name).or_default() += 1;
    let id = |i: usize| {
        let p = &graph.packages[i];
        if versions_of[p.name.as_str()] > 1 {
            format!("{} {}", p.name, p.version)
        } else {
            p.name.clone()
        }
    };
    let ids = |deps: &mut dyn Iterator<Item = usize>| {
        let mut ids: Vec<String> = deps.map(id).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut entries: Vec<Entry<'_>> = used
        .iter()
        .map(|&i| {
            let p = &graph.packages[i];
            let deps = ids(&mut walk.uses[i].iter().copied());
            (p.name.as_str(), numeric(&p.version), Some(p), deps)
        })
        .collect();
    entries.push((
        name,
        numeric(version),
        None,
        ids(&mut direct.iter().copied()),
    ));
    entries.sort_by(|a, b| a.0.cmp(b.0).then_with(|| a.1.cmp(&b.1)));
    let mut out = String::with_capacity(entries.len() * 256);
    out.push_str(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n",
    );
    for (name, _, package, deps) in &entries {
        out.push('\n');
        let (version, source, checksum) = match package {
            Some(p) => (
                p.version.as_str(),
                p.source.as_deref(),
                p.checksum.as_deref(),
            ),
            None => (version, None, None),
        };
        package_text(&mut out, name, version, source, checksum, deps);
    }
    out
}

/// A package of the lockfile: name, version as numbers (for ordering), the
/// graph's package (None for the project itself) and its dependencies' ids.
type Entry<'g> = (&'g str, Vec<u64>, Option<&'g Package>, Vec<String>);

/// Appends one `[[package]]` entry to `out`.
fn package_text(
    out: &mut String,
    name: &str,
    version: &str,
    source: Option<&str>,
    checksum: Option<&str>,
    deps: &[String],
) {
    for part in [
        "[[package]]\nname = \"",
        name,
        "\"\nversion = \"",
        version,
        "\"\n",
    ] {
        out.push_str(part);
    }
    if let Some(source) = source {
        for part in ["source = \"", source, "\"\n"] {
            out.push_str(part);
        }
    }
    if let Some(checksum) = checksum {
        for part in ["checksum = \"", checksum, "\"\n"] {
            out.push_str(part);
        }
    }
    if !deps.is_empty() {
        out.push_str("dependencies = [\n");
        for dep in deps {
            for part in [" \"", dep, "\",\n"] {
                out.push_str(part);
            }
        }
        out.push_str("]\n");
    }
}

/// The numeric parts of a version, for ordering (`1.10.0` after `1.9.2`).
fn numeric(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests;
