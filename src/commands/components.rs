//! `stanchion components`: what each component of a template set adds.

use std::fmt::Write as _;

use crate::cli::ComponentsArgs;
use crate::error::Result;
use crate::template::TemplateSet;

pub(crate) fn components(args: &ComponentsArgs) -> Result<()> {
    let set = TemplateSet::load(args.template_dir.as_deref())?;
    super::stdout(&listing(&set))
}

/// The listing: each component in order with what selects it, what it needs,
/// its crates, variables and files; then the presets.
fn listing(set: &TemplateSet) -> String {
    let mut text = String::new();
    let pad = "";
    for component in set.ordered() {
        let m = &component.manifest;
        let _ = writeln!(text, "{:<12} {}", m.name, m.summary);
        if !m.selected_if.is_empty() {
            let _ = writeln!(text, "{pad:<12} selected when {}", m.selection());
        }
        if !m.depends_on.is_empty() {
            let _ = writeln!(text, "{pad:<12} depends on: {}", m.depends_on.join(", "));
        }
        let crates: Vec<&str> = m.dependencies.iter().map(|(k, _)| k).collect();
        if !crates.is_empty() {
            let _ = writeln!(text, "{pad:<12} crates: {}", crates.join(", "));
        }
        let vars: Vec<&str> = m.env.iter().map(|e| e.name.as_str()).collect();
        if !vars.is_empty() {
            let _ = writeln!(text, "{pad:<12} reads: {}", vars.join(", "));
        }
        let files: Vec<&str> = component.outputs().collect();
        if !files.is_empty() {
            let _ = writeln!(text, "{pad:<12} files: {}", files.join(", "));
        }
    }
    if !set.presets.is_empty() {
        let _ = writeln!(text, "\npresets:");
        for preset in set.presets.values() {
            let mark = if preset.recommended {
                " (recommended)"
            } else {
                ""
            };
            let _ = writeln!(text, "{:<12} {}{mark}", preset.name, preset.summary);
        }
    }
    text
}
