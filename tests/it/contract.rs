//! The component contract, checked on stanchion's own templates: the base names
//! no component. Everything a component adds reaches the base through the slots
//! the base declares, so a team's component plugs in exactly like a built-in one
//! (`team.rs` shows it) and no combination can leave a component half wired.

use std::collections::BTreeSet;

use stanchion::template::TemplateSet;
use stanchion::template::manifest::FillText;

use crate::support::repo_root;

/// Every file of `templates/base/` with its text.
fn base_files() -> Vec<(String, String)> {
    let root = repo_root().join("templates/base");
    walkdir::WalkDir::new(&root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let path = e.path().strip_prefix(&root).unwrap().display().to_string();
            (path, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect()
}

/// The handlebars expressions of `text`: what stands between `{{` and `}}`.
fn expressions(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(&after[..end]);
        rest = &after[end + 2..];
    }
    out
}

/// The words of `text`, split on everything but letters, digits, `_` and `-`.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn the_base_names_no_component() {
    let set = TemplateSet::embedded().unwrap();
    let components: Vec<&str> = set
        .components
        .keys()
        .map(String::as_str)
        .filter(|c| *c != "base")
        .collect();
    let base_questions: Vec<&str> = set.components["base"]
        .manifest
        .questions
        .iter()
        .map(|q| q.key.as_str())
        .collect();
    let other_questions: Vec<&str> = set
        .catalog
        .keys()
        .filter(|k| !base_questions.contains(k))
        .collect();
    // The Rust modules the components add, from their `lib.mods` fills.
    let modules: Vec<String> = set
        .components
        .values()
        .filter(|c| c.manifest.name != "base")
        .flat_map(|c| &c.manifest.fills)
        .filter(|f| f.slot == "lib.mods")
        .filter_map(|f| match &f.text {
            FillText::Inline(text) => Some(text.clone()),
            FillText::File(_) => None,
        })
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("pub mod "))
                .map(|m| m.trim_end_matches(';').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(modules.contains(&"db".to_owned()), "{modules:?}");

    let mut problems = Vec::new();
    for (path, text) in base_files() {
        for expression in expressions(&text) {
            let named: Vec<&str> = words(expression)
                .into_iter()
                .filter(|w| {
                    let w = w.trim_start_matches("has.");
                    components.contains(&w) || other_questions.contains(&w)
                })
                .collect();
            if expression.contains("has.") || !named.is_empty() {
                problems.push(format!("{path}: `{{{{{expression}}}}}`"));
            }
        }
        for module in &modules {
            for reference in [format!("crate::{module}"), format!("use {module}")] {
                if text.contains(&reference) {
                    problems.push(format!("{path}: `{reference}`"));
                }
            }
        }
        for component in &components {
            if text.contains(&format!("`{component}`")) {
                problems.push(format!("{path}: names `{component}`"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the base names components; move this into the components' fills:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_contract_check_sees_a_component_reference() {
    // The check above, on a line it must refuse: a test that never fails proves
    // nothing.
    let line = "{{#if has.metrics}}x{{/if}} {{#if (eq answers.cache \"redis\")}}";
    let found: Vec<&str> = expressions(line);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].contains("has."));
    assert!(words(found[2]).contains("answers.cache") || words(found[2]).contains("cache"));
}
