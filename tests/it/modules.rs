//! Generated modules form no import cycle.
//!
//! Each component's module depends on the base's small leaf modules (`env`,
//! `error`, `health`, `shutdown`) and on the components it builds on, never on
//! `state` or `config`, which sit at the top and import the components: handlers
//! take the parts of the state they use through `FromRef`. A cycle would mean
//! two modules that can only be understood, tested and changed together — the
//! coupling the component contract exists to prevent — so every preset, every
//! pairwise row and a team's component are checked here, in memory.
//!
//! The graph is read from the sources: `crate::NAME` paths outside comments in
//! each top-level module of `src/` (a folder module counts as one), a path to
//! something `lib.rs` re-exports (`crate::AppState`) counting as a dependency on
//! `lib.rs`, and in `lib.rs` also the bare `NAME::` paths of its own modules.

use std::collections::{BTreeMap, BTreeSet};

use stanchion::answers::{self, Fallback, Layer, Value};
use stanchion::template::TemplateSet;
use stanchion::tree::Tree;

use crate::support::{preset_answers, render};
use crate::team::team_templates;

/// The crate root's node in the graph.
const ROOT: &str = "lib";

/// The top-level module of a source path (`src/auth/token.rs` → `auth`), or
/// `None` for files outside the library (`main.rs`, tests).
fn module_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "main" && path.ends_with(".rs")).then(|| name.to_owned())
}

/// `text` without its `//` comments (doc comments included: an intra-doc
/// link is not an import).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers that follow each `prefix` in `code`; after `prefix{`, the
/// first identifier of each item of the group.
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let ident = |s: &'a str| {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        out.push(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|name| !name.is_empty() && *name != "self");
    out
}

/// Which module depends on which, for the library crate of `tree`.
fn graph(tree: &Tree) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = tree.iter().filter_map(|(p, _)| module_of(p)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, bytes) in tree.iter() {
        let Some(module) = module_of(path) else {
            continue;
        };
        let code = code(&String::from_utf8_lossy(bytes));
        let mut used: Vec<&str> = names_after(&code, "crate::");
        if module == ROOT {
            used.extend(
                modules
                    .iter()
                    .filter(|m| !names_after(&code, &format!("{m}::")).is_empty())
                    .map(String::as_str),
            );
        }
        let targets = edges.entry(module.clone()).or_default();
        for name in used {
            let target = if modules.contains(name) { name } else { ROOT };
            if target != module {
                targets.insert(target.to_owned());
            }
        }
    }
    edges
}

/// A cycle of `graph`, as the modules along it, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = path.iter().position(|n| n == node).expect("on the path");
                let mut found = path[from..].to_vec();
                found.push(node.to_owned());
                return Some(found);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, path) {
                return Some(found);
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut marks, &mut Vec::new()))
}

/// Panics with the cycle and the graph when `tree`'s modules form one.
pub(crate) fn assert_no_import_cycle(what: &str, tree: &Tree) {
    let graph = graph(tree);
    assert!(graph.len() > 3, "{what}: too few modules read: {graph:?}");
    if let Some(found) = cycle(&graph) {
        let lines: Vec<String> = graph
            .iter()
            .map(|(m, to)| {
                format!(
                    "  {m} -> {}",
                    to.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        panic!(
            "{what}: modules import one another in a circle: {}\n{}",
            found.join(" -> "),
            lines.join("\n")
        );
    }
}

#[test]
fn the_presets_modules_form_no_import_cycle() {
    for preset in ["minimal", "local", "full"] {
        let tree = render(&preset_answers(preset, "shop").unwrap()).unwrap();
        assert_no_import_cycle(preset, &tree);
        let graph = graph(&tree);
        // `state` is at the top: only the crate root may use it.
        let users: Vec<&String> = graph
            .iter()
            .filter(|(_, to)| to.contains("state"))
            .map(|(m, _)| m)
            .collect();
        assert_eq!(users, [ROOT], "{preset}: {graph:?}");
    }
}

#[test]
fn the_cycle_check_sees_a_cycle_through_a_state_and_a_reexport() {
    // The check above, on trees it must refuse: a test that never fails proves
    // nothing.
    let mut tree = Tree::new();
    tree.insert(
        "src/lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub use crate::a::A;\n",
    );
    tree.insert("src/a.rs", "use crate::b::B; // crate::d in a comment\n");
    tree.insert("src/b/mod.rs", "use crate::{c::C, d};\n");
    tree.insert("src/c.rs", "/// [`crate::a`]\npub struct C;\n");
    tree.insert("src/d.rs", "pub struct D;\n");
    assert_eq!(cycle(&graph(&tree)), None, "{:?}", graph(&tree));
    tree.insert("src/c.rs", "use crate::{d::D, a::{self, A}};\n");
    assert_eq!(
        cycle(&graph(&tree)).unwrap().join(" "),
        "a b c a",
        "{:?}",
        graph(&tree)
    );
    tree.insert("src/c.rs", "use crate::A;\n");
    let found = cycle(&graph(&tree)).unwrap();
    assert!(found.contains(&ROOT.to_owned()), "{found:?}");
    // The binary is another crate.
    tree.insert("src/c.rs", "pub struct C;\n");
    tree.insert("src/main.rs", "use shop::a;\n");
    assert_eq!(cycle(&graph(&tree)), None);
}

#[test]
fn a_project_with_a_teams_component_forms_no_import_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    let set = TemplateSet::from_dir(&team_templates(tmp.path())).unwrap();
    let explicit = Layer {
        origin: "test".into(),
        explicit: true,
        values: [
            ("name".to_owned(), Value::Str("shop".into())),
            ("audit".to_owned(), Value::Bool(true)),
        ]
        .into(),
    };
    let layers = [explicit, Layer::from_preset(&set.presets["full"])];
    let answers = answers::resolve(&set.catalog, &layers, Fallback::Defaults).unwrap();
    let tree = stanchion::generate(&set, &answers).unwrap();
    assert!(tree.get("src/audit.rs").is_some());
    assert_no_import_cycle("full with audit", &tree);
}
