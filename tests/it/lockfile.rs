//! The lockfile every new project ships with (`templates/lock.json`, see
//! `src/lockfile.rs`): made for the dependencies the templates write today,
//! cut to exactly what cargo itself would lock, and accepted by `--locked`.
//!
//! When a template changes a dependency, `the_graph_is_made_for_the_templates`
//! fails; `STANCHION_UPDATE_LOCK=1 cargo test --test it -- lockfile` then
//! resolves the union of every combination's dependencies with cargo, keeping
//! every version the old lock pinned, and rewrites `templates/lock.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;
use stanchion::lockfile::{Dep, Graph, Package, RootDep, trim};

use crate::support::{preset_answers, render, repo_root};

const LOCK: &str = "templates/lock.json";

/// What a dependency table asks of one crate: its version requirement, the
/// features, and whether default features are on.
type Wanted = (String, BTreeSet<String>, bool);

/// Every dependency table the templates can write, merged: each crate with
/// the union of the features any combination asks for, default features on
/// if any combination keeps them. Combinations: the presets and every
/// pairwise row, which together give every answer and every pair of answers.
fn union_manifest() -> String {
    let mut trees: Vec<stanchion::tree::Tree> = ["minimal", "local", "full"]
        .iter()
        .map(|p| render(&preset_answers(p, "lock").unwrap()).unwrap())
        .collect();
    trees.extend(crate::pairwise::rendered_rows().into_iter().map(|(_, t)| t));
    let mut tables: BTreeMap<String, BTreeMap<String, Wanted>> = BTreeMap::new();
    for tree in &trees {
        let manifest = tree
            .iter()
            .find(|(p, _)| *p == "Cargo.toml")
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .expect("a Cargo.toml");
        let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
        for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(deps) = doc.get(table).and_then(|t| t.as_table_like()) else {
                continue;
            };
            for (name, item) in deps.iter() {
                let (req, features, default) = match item.as_str() {
                    Some(req) => (req.to_owned(), Vec::new(), true),
                    None => {
                        let t = item.as_table_like().unwrap();
                        assert!(t.get("package").is_none(), "{name}: renamed dependencies");
                        let features = t
                            .get("features")
                            .and_then(|f| f.as_array())
                            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                            .unwrap_or_default();
                        let default = t
                            .get("default-features")
                            .and_then(|d| d.as_bool())
                            .unwrap_or(true);
                        (
                            t.get("version")
                                .and_then(|v| v.as_str())
                                .unwrap()
                                .to_owned(),
                            features,
                            default,
                        )
                    }
                };
                let entry = tables
                    .entry(table.to_owned())
                    .or_default()
                    .entry(name.to_owned())
                    .or_insert_with(|| (req.clone(), BTreeSet::new(), false));
                assert_eq!(
                    entry.0, req,
                    "{name}: two version requirements in the templates"
                );
                entry.1.extend(features);
                entry.2 |= default;
            }
        }
    }
    let mut text = String::from(
        "[package]\nname = \"stanchion-lock\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n",
    );
    for (table, deps) in &tables {
        text.push_str(&format!("\n[{table}]\n"));
        for (name, (req, features, default)) in deps {
            let features: Vec<String> = features.iter().map(|f| format!("{f:?}")).collect();
            text.push_str(&format!(
                "{name} = {{ version = {req:?}, default-features = {default}, features = [{}] }}\n",
                features.join(", ")
            ));
        }
    }
    text
}

fn shipped() -> Option<Graph> {
    let bytes = std::fs::read(repo_root().join(LOCK)).ok()?;
    Some(serde_json::from_slice(&bytes).expect("lock.json parses"))
}

/// Runs cargo in `dir`, returning stdout; panics with stderr on failure.
fn cargo(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "`cargo {}` failed in {}:\n{}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A crate for `manifest` (and `lock`, if any) in a temporary directory.
fn project(manifest: &str, lock: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
    if let Some(lock) = lock {
        std::fs::write(dir.path().join("Cargo.lock"), lock).unwrap();
    }
    dir
}

/// Resolves `manifest` with cargo, starting from `previous` (so its versions
/// stay), and records the graph.
fn resolve(manifest: &str, previous: Option<&Graph>) -> Graph {
    let seed = previous.map(|g| trim(g, &g.manifest).expect("the old lock covers its manifest"));
    let dir = project(manifest, seed.as_deref());
    let metadata: Json =
        serde_json::from_str(&cargo(dir.path(), &["metadata", "--format-version", "1"])).unwrap();
    let lock: toml_edit::DocumentMut = std::fs::read_to_string(dir.path().join("Cargo.lock"))
        .unwrap()
        .parse()
        .unwrap();
    let checksums: BTreeMap<(String, String), String> = lock["package"]
        .as_array_of_tables()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let key = (
                p["name"].as_str()?.to_owned(),
                p["version"].as_str()?.to_owned(),
            );
            Some((key, p.get("checksum")?.as_str()?.to_owned()))
        })
        .collect();
    let root_id = metadata["resolve"]["root"].as_str().unwrap().to_owned();
    let packages: Vec<&Json> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] != root_id.as_str())
        .collect();
    let index: BTreeMap<&str, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p["id"].as_str().unwrap(), i))
        .collect();
    let nodes: BTreeMap<&str, &Json> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let all: Vec<&Json> = metadata["packages"].as_array().unwrap().iter().collect();
    let by_id: BTreeMap<&str, &Json> = all
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), *p))
        .collect();
    // The package a declaration resolved to, among its node's dependencies.
    let resolved = |node: &str, dep: &Json| -> Option<&str> {
        let req = semver::VersionReq::parse(dep["req"].as_str().unwrap()).unwrap();
        nodes[node]["deps"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|d| {
                let id = d["pkg"].as_str().unwrap();
                let p = by_id[id];
                let version = semver::Version::parse(p["version"].as_str().unwrap()).unwrap();
                (p["name"] == dep["name"] && req.matches(&version)).then_some(id)
            })
    };
    let graph_packages = packages
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap();
            let declared: Vec<&Json> = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"] != "dev")
                .collect();
            let key = |d: &Json| {
                d["rename"]
                    .as_str()
                    .unwrap_or(d["name"].as_str().unwrap())
                    .to_owned()
            };
            let deps: Vec<Dep> = declared
                .iter()
                .filter_map(|d| {
                    Some(Dep {
                        name: key(d),
                        package: index[resolved(id, d)?],
                        optional: d["optional"].as_bool().unwrap(),
                        default_features: d["uses_default_features"].as_bool().unwrap(),
                        features: d["features"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|f| f.as_str().unwrap().to_owned())
                            .collect(),
                    })
                })
                .collect();
            let mut map: BTreeMap<String, Vec<String>> = p["features"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let values = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap().to_owned());
                    (k.clone(), values.collect())
                })
                .collect();
            // Implicit features: an optional dependency no `dep:` names.
            for d in declared.iter().filter(|d| d["optional"] == true) {
                let name = key(d);
                let explicit = map.values().flatten().any(|v| *v == format!("dep:{name}"));
                if !explicit {
                    map.entry(name.clone())
                        .or_insert_with(|| vec![format!("dep:{name}")]);
                }
            }
            Package {
                name: p["name"].as_str().unwrap().to_owned(),
                version: p["version"].as_str().unwrap().to_owned(),
                source: p["source"].as_str().map(str::to_owned),
                checksum: checksums
                    .get(&(
                        p["name"].as_str().unwrap().to_owned(),
                        p["version"].as_str().unwrap().to_owned(),
                    ))
                    .cloned(),
                features: expanded(&map),
                deps,
            }
        })
        .collect();
    let root = by_id[root_id.as_str()];
    let mut root_deps: Vec<RootDep> = root["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| RootDep {
            name: d["name"].as_str().unwrap().to_owned(),
            req: manifest_req(manifest, d["name"].as_str().unwrap()),
            package: index[resolved(&root_id, d).expect("a direct dependency resolves")],
        })
        .collect();
    root_deps.sort_by(|a, b| (&a.name, a.package).cmp(&(&b.name, b.package)));
    root_deps.dedup_by(|a, b| a.name == b.name && a.package == b.package);
    Graph {
        manifest: manifest.to_owned(),
        root: root_deps,
        packages: graph_packages,
    }
}

/// The requirement `name` is written with in `manifest` (cargo metadata
/// normalises `0.8` to `^0.8`).
fn manifest_req(manifest: &str, name: &str) -> String {
    let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .find_map(|t| {
            doc.get(t)?
                .get(name)?
                .get("version")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap()
}

/// Each feature with the dependencies it ends up enabling; features that
/// enable none are left out.
fn expanded(map: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    fn walk(
        map: &BTreeMap<String, Vec<String>>,
        feature: &str,
        seen: &mut BTreeSet<String>,
        out: &mut BTreeSet<String>,
    ) {
        if !seen.insert(feature.to_owned()) {
            return;
        }
        for value in map.get(feature).into_iter().flatten() {
            if value.starts_with("dep:") || value.contains('/') {
                out.insert(value.clone());
            } else {
                walk(map, value, seen, out);
            }
        }
    }
    map.keys()
        .filter_map(|feature| {
            let mut out = BTreeSet::new();
            walk(map, feature, &mut BTreeSet::new(), &mut out);
            (!out.is_empty()).then(|| (feature.clone(), out.into_iter().collect()))
        })
        .collect()
}

#[test]
fn the_graph_is_made_for_the_templates() {
    let manifest = union_manifest();
    let previous = shipped();
    if previous.as_ref().is_some_and(|g| g.manifest == manifest) {
        return;
    }
    if std::env::var_os("STANCHION_UPDATE_LOCK").is_none() {
        panic!(
            "{LOCK} was made for other dependencies than the templates write; \
             run `STANCHION_UPDATE_LOCK=1 cargo test --test it -- lockfile` and commit it"
        );
    }
    let graph = resolve(&manifest, previous.as_ref());
    let text = serde_json::to_string(&graph).unwrap();
    std::fs::write(repo_root().join(LOCK), text + "\n").unwrap();
}

/// Cut for the union manifest itself, the graph gives back the lockfile cargo
/// wrote for it, byte for byte, and cargo accepts it with `--locked`.
#[test]
fn the_whole_graph_is_the_lockfile_cargo_writes() {
    let graph = shipped().expect("templates/lock.json");
    let lock = trim(&graph, &graph.manifest).unwrap();
    let dir = project(&graph.manifest, Some(&lock));
    cargo(
        dir.path(),
        &["metadata", "--locked", "--format-version", "1"],
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Cargo.lock")).unwrap(),
        lock
    );
}

/// Every preset, through the real binary, ships a lockfile cargo accepts with
/// `--locked`. (The pairwise rows and the end-to-end projects build with
/// `--locked` too.)
#[test]
fn every_preset_ships_a_lockfile_cargo_accepts_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    for preset in ["minimal", "local", "full"] {
        crate::support::stanchion()
            .current_dir(tmp.path())
            .args(["new", preset, "--preset", preset, "--yes"])
            .assert()
            .success();
        let project = tmp.path().join(preset);
        let lock = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
        cargo(&project, &["metadata", "--locked", "--format-version", "1"]);
        assert_eq!(
            std::fs::read_to_string(project.join("Cargo.lock")).unwrap(),
            lock
        );
    }
}

/// `regen` and `add` never write `Cargo.lock`: the user's lockfile is theirs,
/// and cargo adds a new component's crates to it at the next build, keeping
/// every version it already pinned.
#[test]
fn adding_a_component_leaves_the_lockfile_to_the_user_and_cargo() {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::stanchion()
        .current_dir(tmp.path())
        .args(["new", "shop", "--preset", "minimal", "--yes"])
        .assert()
        .success();
    let project = tmp.path().join("shop");
    let before = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    crate::support::stanchion()
        .current_dir(&project)
        .args(["add", "metrics", "--yes"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(project.join("Cargo.lock")).unwrap(),
        before
    );
    cargo(&project, &["metadata", "--format-version", "1"]);
    let after = std::fs::read_to_string(project.join("Cargo.lock")).unwrap();
    assert!(
        after.contains("name = \"metrics\""),
        "cargo added the new crates"
    );
    let pinned = |lock: &str| -> BTreeSet<String> {
        let doc: toml_edit::DocumentMut = lock.parse().unwrap();
        doc["package"]
            .as_array_of_tables()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                )
            })
            .collect()
    };
    let (before, after) = (pinned(&before), pinned(&after));
    assert!(
        before.is_subset(&after),
        "cargo kept every pinned version: {:?}",
        before.difference(&after).collect::<Vec<_>>()
    );
}
