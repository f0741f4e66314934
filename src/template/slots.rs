//! Slots: named places in a template that components fill.
//!
//! A base file declares `{{slot "lib.mods"}}` on a line of its own; components
//! fill it from their manifests (`[[fills]]`) or their `fills/` folder. The helper
//! only leaves a marker while handlebars renders the file; once every fill is
//! rendered, [`expand`] replaces each marker line with the slot's fills in order,
//! each line indented like the slot, and drops the line when nothing fills it.
//! Doing it after rendering means a fill is never parsed as part of another
//! template, so what one component writes cannot break another's file.
//!
//! `{{slot "name" spaced=true}}` puts a blank line between fills (sections of a
//! README); `{{slot "name" sorted=true}}` sorts the lines of all fills together
//! (module declarations and imports, which rustfmt wants sorted); a slot written
//! inside a line (`f({{slot "args"}})`) gets its fills joined without line
//! breaks.

use std::collections::BTreeMap;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};

const START: char = '\u{1}';
const SEP: char = '\u{2}';

/// Registers the `slot` helper.
pub fn register(hb: &mut Handlebars<'_>) {
    hb.register_helper("slot", Box::new(slot_helper));
}

fn slot_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let name = h
        .param(0)
        .and_then(|p| p.value().as_str())
        .ok_or_else(|| RenderErrorReason::Other("`slot` needs a name: {{slot \"name\"}}".into()))?;
    let flag = |key: &str| {
        h.hash_get(key)
            .and_then(|v| v.value().as_bool())
            .unwrap_or(false)
    };
    let mode = if flag("sorted") {
        "s"
    } else if flag("spaced") {
        "b"
    } else {
        "-"
    };
    out.write(&marker(name, mode))?;
    Ok(())
}

/// What the helper leaves for slot `name` (mode `-`, `s`orted or `b`lank
/// lines between fills), for [`expand`] to replace.
pub(crate) fn marker(name: &str, mode: &str) -> String {
    format!("{START}{name}{SEP}{mode}{START}")
}

/// The slots a template source declares, in order of appearance.
pub fn declared(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("{{slot ") {
        rest = &rest[at + "{{slot ".len()..];
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            if let Some(end) = quoted.find('"') {
                out.push(quoted[..end].to_owned());
            }
        }
    }
    out
}

/// `fills` with the slots that fills declare expanded, however deep (up to
/// eight levels); the name of a slot still unexpanded after that, which can
/// only be a fill that declares its own slot.
pub fn nest(
    mut fills: BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Vec<String>>, String> {
    for _ in 0..8 {
        if !fills.values().flatten().any(|t| t.contains(START)) {
            return Ok(fills);
        }
        fills = fills
            .iter()
            .map(|(slot, texts)| {
                let texts = texts
                    .iter()
                    .map(|t| {
                        if t.contains(START) {
                            expand(t, &fills)
                        } else {
                            t.clone()
                        }
                    })
                    .collect();
                (slot.clone(), texts)
            })
            .collect();
    }
    match fills
        .iter()
        .find(|(_, texts)| texts.iter().any(|t| t.contains(START)))
    {
        Some((slot, _)) => Err(slot.clone()),
        None => Ok(fills),
    }
}

/// Replaces the slot markers in `rendered` with `fills` (rendered texts by slot,
/// in order).
pub fn expand(rendered: &str, fills: &BTreeMap<String, Vec<String>>) -> String {
    if !rendered.contains(START) {
        return rendered.to_owned();
    }
    let mut out = String::with_capacity(rendered.len() * 2);
    // After an empty slot between blank lines, the second blank line goes too,
    // so an unfilled section leaves one blank line, not two.
    let mut skip_blank = false;
    for line in rendered.split_inclusive('\n') {
        if std::mem::take(&mut skip_blank) && line == "\n" {
            continue;
        }
        if !line.contains(START) {
            out.push_str(line);
            continue;
        }
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let markers = markers(body);
        // A slot that ends its line takes the whole line: what stands before it
        // (indentation, or a comment marker) starts each line of its fills.
        let ends_line = markers.len() == 1 && body[markers[0].0.end..].trim().is_empty();
        if ends_line {
            let (name, mode) = &markers[0].1;
            let indent = &body[..markers[0].0.start];
            let mut texts: Vec<String> = fills.get(name).cloned().unwrap_or_default();
            if *mode == Mode::Sorted {
                let mut lines: Vec<String> = texts
                    .iter()
                    .flat_map(|t| t.lines().map(str::to_owned))
                    .filter(|l| !l.trim().is_empty())
                    .collect();
                // As rustfmt orders imports: by path, whatever the visibility.
                lines.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
                lines.dedup();
                texts = lines;
            }
            let separator = if *mode == Mode::Spaced { "\n" } else { "" };
            let mut first = true;
            for text in &texts {
                if !first {
                    out.push_str(separator);
                }
                first = false;
                for fill_line in text.strip_suffix('\n').unwrap_or(text.as_str()).split('\n') {
                    if fill_line.is_empty() {
                        // No trailing whitespace on a blank line.
                        out.push_str(indent.trim_end());
                    } else {
                        out.push_str(indent);
                        out.push_str(fill_line);
                    }
                    out.push('\n');
                }
            }
            // An empty slot leaves no line behind; a last line keeps having no
            // newline.
            if newline.is_empty() && !texts.is_empty() {
                out.pop();
            }
            skip_blank = texts.is_empty() && (out.is_empty() || out.ends_with("\n\n"));
            continue;
        }
        let mut replaced = String::new();
        let mut last = 0;
        for (range, (name, _)) in &markers {
            replaced.push_str(&body[last..range.start]);
            for text in fills.get(name).map(Vec::as_slice).unwrap_or_default() {
                replaced.push_str(text.strip_suffix('\n').unwrap_or(text.as_str()));
            }
            last = range.end;
        }
        replaced.push_str(&body[last..]);
        out.push_str(&replaced);
        out.push_str(newline);
    }
    out
}

/// A line without its visibility (`pub use x` sorts as `use x`).
fn sort_key(line: &str) -> &str {
    let line = line.trim_start();
    ["pub(crate) ", "pub "]
        .iter()
        .find_map(|p| line.strip_prefix(p))
        .unwrap_or(line)
}

/// How a slot lays out its fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One after another.
    Plain,
    /// With a blank line between fills.
    Spaced,
    /// Every line of every fill, sorted, without duplicates.
    Sorted,
}

type Marker = (std::ops::Range<usize>, (String, Mode));

fn markers(body: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = body[from..].find(START).map(|i| i + from) {
        let Some(end) = body[start + 1..].find(START).map(|i| i + start + 1) else {
            break;
        };
        let inner = &body[start + 1..end];
        let (name, mode) = inner.split_once(SEP).unwrap_or((inner, "-"));
        let mode = match mode {
            "s" => Mode::Sorted,
            "b" => Mode::Spaced,
            _ => Mode::Plain,
        };
        out.push((start..end + 1, (name.to_owned(), mode)));
        from = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, fills: &[(&str, &[&str])]) -> String {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        register(&mut hb);
        let rendered = hb.render_template(source, &serde_json::json!({})).unwrap();
        let fills = fills
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect();
        expand(&rendered, &fills)
    }

    #[test]
    fn a_fill_may_declare_a_slot_that_other_fills_fill() {
        let fills: BTreeMap<String, Vec<String>> = [
            (
                "section".to_owned(),
                vec![format!("| a |\n{}\n", marker("rows", "-"))],
            ),
            (
                "rows".to_owned(),
                vec![
                    "| b |\n".to_owned(),
                    format!("| c{} |\n", marker("cell", "-")),
                ],
            ),
            ("cell".to_owned(), vec!["!".to_owned()]),
        ]
        .into();
        let nested = nest(fills).unwrap();
        assert_eq!(
            expand(&format!("# T\n{}\n", marker("section", "b")), &nested),
            "# T\n| a |\n| b |\n| c! |\n"
        );
        let cycle: BTreeMap<String, Vec<String>> = [(
            "loop".to_owned(),
            vec![format!("x\n{}\n", marker("loop", "-"))],
        )]
        .into();
        assert_eq!(nest(cycle), Err("loop".to_owned()));
    }

    #[test]
    fn fills_take_the_slot_line_and_its_indentation() {
        let source = "fn f() {\n    {{slot \"body\"}}\n}\n";
        assert_eq!(
            render(
                source,
                &[("body", &["let a = 1;\n", "let b = 2;\nlet c = 3;"])]
            ),
            "fn f() {\n    let a = 1;\n    let b = 2;\n    let c = 3;\n}\n"
        );
    }

    #[test]
    fn an_empty_slot_leaves_no_line() {
        let source = "a\n  {{slot \"x\"}}\nb\n";
        assert_eq!(render(source, &[]), "a\nb\n");
    }

    #[test]
    fn an_empty_slot_between_blank_lines_leaves_one() {
        let source = "a\n\n{{slot \"x\"}}\n\n{{slot \"y\"}}\n\nb\n";
        assert_eq!(render(source, &[]), "a\n\nb\n");
        assert_eq!(render(source, &[("y", &["y"])]), "a\n\ny\n\nb\n");
    }

    #[test]
    fn spaced_slots_separate_fills_with_a_blank_line() {
        let source = "# T\n\n{{slot \"sections\" spaced=true}}\n\nend\n";
        assert_eq!(
            render(source, &[("sections", &["## A\n\ntext a\n", "## B\n"])]),
            "# T\n\n## A\n\ntext a\n\n## B\n\nend\n"
        );
    }

    #[test]
    fn sorted_slots_sort_every_line() {
        let source = "{{slot \"mods\" sorted=true}}\nuse x;\n";
        assert_eq!(
            render(
                source,
                &[("mods", &["pub mod db;\npub mod products;", "pub mod auth;"])]
            ),
            "pub mod auth;\npub mod db;\npub mod products;\nuse x;\n"
        );
    }

    #[test]
    fn sorted_slots_order_imports_by_path_whatever_the_visibility() {
        let source = "{{slot \"uses\" sorted=true}}\n";
        assert_eq!(
            render(
                source,
                &[(
                    "uses",
                    &[
                        "use crate::db::A;",
                        "pub use crate::env::B;\nuse crate::cache::C;"
                    ]
                )]
            ),
            "use crate::cache::C;\nuse crate::db::A;\npub use crate::env::B;\n"
        );
    }

    #[test]
    fn a_blank_line_ending_a_fill_is_kept() {
        let source = "{{slot \"x\"}}\nnext\n";
        assert_eq!(render(source, &[("x", &["a;\n\n"])]), "a;\n\nnext\n");
    }

    #[test]
    fn a_slot_ending_a_commented_line_comments_every_fill_line() {
        let source = "#   {{slot \"x\"}}\n";
        assert_eq!(render(source, &[("x", &["a \\\nb"])]), "#   a \\\n#   b\n");
    }

    #[test]
    fn inline_slots_join_their_fills() {
        let source = "new(config{{slot \"args\"}});\n";
        assert_eq!(
            render(source, &[("args", &[", db", ", cache"])]),
            "new(config, db, cache);\n"
        );
    }

    #[test]
    fn declared_slots_are_found_in_the_source() {
        assert_eq!(
            declared("a {{slot \"one\"}}\n{{slot  \"two\" spaced=true}}"),
            ["one", "two"]
        );
    }
}
