//! Splitting a template into pieces that render on their own.
//!
//! handlebars' parser records a line and column for every element it parses,
//! computed from the start of the text each time, so parsing costs grow with
//! the square of a template's size, and its grammar walks plain text a
//! character at a time. A template is the concatenation of its top-level parts,
//! so it can be cut at any line break outside every block, raw block and
//! comment, each piece rendered alone, and the outputs joined: the result is the
//! same. [`pieces`] cuts at every such line break and joins neighbours back into
//! runs: a run of lines without a tag is copied as it is, and only the lines
//! with tags are parsed, in runs of at most [`TARGET`] bytes.
//!
//! Inside a block, where no cut is possible, each run of lines without a tag
//! is punched out before parsing and put back into the output ([`punch`]), so
//! handlebars parses only the lines with tags, blocks included.
//!
//! Whitespace control (`{{~` and `~}}`) can reach across a line break, so a
//! template that uses it is parsed whole, holes and all.

use std::ops::Range;

/// Runs of lines with tags longer than this are parsed in several pieces.
const TARGET: usize = 512;

/// One run of a template: plain text to copy, or text to render.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Text without a tag: it renders as itself.
    Plain(&'a str),
    /// Text with tags, complete blocks only.
    Template(&'a str),
}

impl<'a> Piece<'a> {
    /// The piece's source text.
    pub(crate) fn text(&self) -> &'a str {
        match self {
            Piece::Plain(text) | Piece::Template(text) => text,
        }
    }
}

/// `source` in runs: plain lines together, lines with tags together (each run
/// at most about [`TARGET`] bytes unless one block is larger). Concatenated,
/// the pieces' texts are `source`.
#[cfg(test)]
fn pieces(source: &str) -> Vec<Piece<'_>> {
    split(source, &scan(source).cuts)
}

/// `source` cut at `cuts` into runs, as [`pieces`] says.
fn split<'a>(source: &'a str, cuts: &[usize]) -> Vec<Piece<'a>> {
    let mut out: Vec<Piece<'a>> = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain([&source.len()]) {
        if end == start {
            continue;
        }
        let line = &source[start..end];
        let templated = line.contains("{{");
        match out.last_mut() {
            Some(Piece::Plain(text)) if !templated => {
                *text = &source[end - line.len() - text.len()..end];
            }
            Some(Piece::Template(text)) if templated && text.len() < TARGET => {
                *text = &source[end - line.len() - text.len()..end];
            }
            _ if templated => out.push(Piece::Template(line)),
            _ => out.push(Piece::Plain(line)),
        }
        start = end;
    }
    out
}

/// The data templates are rendered with, and whether [`punch`]'s holes can be
/// told apart from it. Built once per render: the check reads every value.
pub(crate) struct Context {
    data: handlebars::Context,
    holes: bool,
}

impl Context {
    /// The context for `data`.
    pub(crate) fn new(data: serde_json::Value) -> Self {
        // Holes are told apart from the text only if no value can contain one.
        let holes = !holds_hole(&data);
        Self {
            data: handlebars::Context::from(data),
            holes,
        }
    }
}

/// Renders `source` with `context`: the output of rendering it whole with
/// handlebars, faster. The subset [`super::fast`] knows renders without
/// handlebars, whole or piece by piece; the rest goes piece by piece to
/// handlebars. An error comes with the number of lines before the piece it
/// happened in, to add to its line number.
pub(crate) fn render(
    hb: &handlebars::Handlebars<'_>,
    context: &Context,
    source: &str,
) -> Result<String, (handlebars::RenderError, usize)> {
    render_with(
        hb,
        &context.data,
        source,
        Paths {
            fast: true,
            holes: context.holes,
        },
    )
}

/// Which of the faster paths [`render_with`] may take.
#[derive(Clone, Copy)]
struct Paths {
    /// [`super::fast`], where the subset allows.
    fast: bool,
    /// Holes for plain lines in blocks (see [`punch`]).
    holes: bool,
}

/// [`render`], with the faster paths `paths` allows.
fn render_with(
    hb: &handlebars::Handlebars<'_>,
    context: &handlebars::Context,
    source: &str,
    paths: Paths,
) -> Result<String, (handlebars::RenderError, usize)> {
    if !source.contains("{{") {
        return Ok(source.to_owned());
    }
    let fast = |text: &str| {
        paths
            .fast
            .then(|| super::fast::render(text, context.data(), hb.strict_mode()))
            .flatten()
    };
    if let Some(rendered) = fast(source) {
        return Ok(rendered);
    }
    let scan = scan(source);
    let tags = scan.tags.filter(|_| paths.holes);
    let mut out = String::with_capacity(source.len() + source.len() / 4);
    let (mut line, mut offset) = (0, 0);
    for piece in split(source, &scan.cuts) {
        match piece {
            Piece::Plain(text) => out.push_str(text),
            Piece::Template(text) => {
                let rendered = fast(text).or_else(|| {
                    let (punched, runs) = punch(text, offset, tags.as_deref()?)?;
                    let rendered = hb.render_template_with_context(&punched, context).ok()?;
                    fill(&rendered, &runs)
                });
                // Whole by handlebars (and for every error, so it reads as before).
                match rendered {
                    Some(rendered) => out.push_str(&rendered),
                    None => out.push_str(
                        &hb.render_template_with_context(text, context)
                            .map_err(|e| (e, line))?,
                    ),
                }
            }
        }
        line += piece.text().matches('\n').count();
        offset += piece.text().len();
    }
    Ok(out)
}

/// Marks a hole: where a run of plain lines was taken out of a piece.
const HOLE: char = '\u{E000}';

/// `text` (a piece starting `offset` bytes into its template) with each run of
/// lines that no tag touches replaced by a hole, `HOLE index HOLE`, keeping the
/// run's last line break; and the runs, without that line break. None when no
/// line is plain.
///
/// handlebars copies plain text as it is, and what it does around a tag (the
/// standalone rule drops a line holding only a block tag) looks no further than
/// the tag's own line, which stays. So inside blocks, where pieces cannot be
/// cut, only the lines with tags are parsed.
fn punch<'a>(
    text: &'a str,
    offset: usize,
    tags: &[Range<usize>],
) -> Option<(String, Vec<&'a str>)> {
    let mut punched = String::with_capacity(text.len() / 4);
    let mut runs: Vec<&str> = Vec::new();
    let mut tags = tags.iter().skip_while(|t| t.end <= offset).peekable();
    let mut run: Option<Range<usize>> = None;
    let mut start = 0;
    let close = |run: Range<usize>, punched: &mut String, runs: &mut Vec<&'a str>| {
        let run = &text[run];
        let (body, newline) = run.strip_suffix('\n').map_or((run, ""), |b| (b, "\n"));
        punched.push(HOLE);
        punched.push_str(&runs.len().to_string());
        punched.push(HOLE);
        punched.push_str(newline);
        runs.push(body);
    };
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        while tags.next_if(|t| t.end <= offset + start).is_some() {}
        let tagged = tags.peek().is_some_and(|t| t.start < offset + end);
        if tagged {
            if let Some(run) = run.take() {
                close(run, &mut punched, &mut runs);
            }
            punched.push_str(line);
        } else {
            run = Some(run.map_or(start..end, |r| r.start..end));
        }
        start = end;
    }
    if let Some(run) = run.take() {
        close(run, &mut punched, &mut runs);
    }
    (!runs.is_empty()).then_some((punched, runs))
}

/// `rendered` with every hole replaced by its run; None if a hole is not one
/// that [`punch`] made.
fn fill(rendered: &str, runs: &[&str]) -> Option<String> {
    let mut out =
        String::with_capacity(rendered.len() + runs.iter().map(|r| r.len()).sum::<usize>());
    let mut parts = rendered.split(HOLE);
    out.push_str(parts.next()?);
    while let Some(index) = parts.next() {
        out.push_str(runs.get(index.parse::<usize>().ok()?)?);
        out.push_str(parts.next()?);
    }
    Some(out)
}

/// Whether a string in `value` holds a [`HOLE`].
fn holds_hole(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains(HOLE),
        serde_json::Value::Array(items) => items.iter().any(holds_hole),
        serde_json::Value::Object(map) => {
            map.iter().any(|(k, v)| k.contains(HOLE) || holds_hole(v))
        }
        _ => false,
    }
}

/// What [`scan`] finds in a template.
struct Scan {
    /// The byte offsets where it may be cut: just after each line break
    /// outside every block, raw block and comment. None when whitespace control
    /// is used, or when the blocks do not balance (handlebars then reports the
    /// error on the whole text).
    cuts: Vec<usize>,
    /// Where its tags, comments and raw blocks are, in order; None when holes
    /// are not safe: the cases without cuts, a tag over several lines, partials
    /// and decorators (which indent or reuse text), a hole in the text.
    tags: Option<Vec<Range<usize>>>,
}

fn scan(source: &str) -> Scan {
    let none = Scan {
        cuts: Vec::new(),
        tags: None,
    };
    if source.contains("{{~") || source.contains("~}}") {
        return none;
    }
    let bytes = source.as_bytes();
    let mut cuts = Vec::new();
    let mut tags = Vec::new();
    let mut safe = !source.contains(HOLE);
    let mut depth: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            i += 1;
            if depth == 0 && i < bytes.len() {
                cuts.push(i);
            }
            continue;
        }
        // Only at a `{` (ASCII, so a character boundary) can a tag start.
        if bytes[i] != b'{' || !source[i..].starts_with("{{") {
            i += 1;
            continue;
        }
        let rest = &source[i..];
        let skip_to = |end: &str, from: usize| rest[from..].find(end).map(|e| from + e + end.len());
        let consumed = if let Some(raw) = rest.strip_prefix("{{{{") {
            // A raw block: nothing inside it is a tag.
            raw.find("}}}}").and_then(|n| {
                let name = raw[..n].trim();
                skip_to(&format!("{{{{{{{{/{name}}}}}}}"), n + 8)
            })
        } else if rest.starts_with("{{!--") {
            skip_to("--}}", 5)
        } else if rest.starts_with("{{!") {
            skip_to("}}", 3)
        } else {
            let inner = rest[2..].trim_start_matches('~');
            if inner.starts_with('#') {
                depth += 1;
            } else if inner.starts_with('/') {
                depth -= 1;
            }
            safe &= !inner.starts_with(['>', '*']) && !inner.starts_with("#>");
            safe &= !inner.starts_with("#*");
            let end = skip_to("}}", 2);
            safe &= end.is_some_and(|n| !rest[..n].contains('\n'));
            end
        };
        match consumed {
            Some(n) => {
                tags.push(i..i + n);
                i += n;
            }
            // Unbalanced: let handlebars report it, on the whole text.
            None => return none,
        }
    }
    if depth != 0 {
        return none;
    }
    Scan {
        cuts,
        tags: safe.then_some(tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<&str> {
        pieces(source).iter().map(Piece::text).collect()
    }

    #[test]
    fn plain_lines_are_copied_and_lines_with_tags_rendered() {
        let source = "a\nb\n{{x}}\n{{y}}\nc\n{{#if a}}\nd\n{{/if}}\ne";
        assert_eq!(
            pieces(source),
            [
                Piece::Plain("a\nb\n"),
                Piece::Template("{{x}}\n{{y}}\n"),
                Piece::Plain("c\n"),
                Piece::Template("{{#if a}}\nd\n{{/if}}\n"),
                Piece::Plain("e"),
            ]
        );
    }

    #[test]
    fn cuts_fall_outside_blocks_raw_blocks_and_comments() {
        let line = format!("{}\n", "x".repeat(100));
        let tagged = format!("{}{{{{y}}}}\n", "x".repeat(100));
        let block = format!("{{{{#if a}}}}\n{}{{{{/if}}}}\n", line.repeat(30));
        let raw = format!(
            "{{{{{{{{raw}}}}}}}}\n{}{{{{{{{{/raw}}}}}}}}\n",
            line.repeat(30)
        );
        let comment = format!("{{{{!-- {} --}}}}\n", line.repeat(30));
        let source = format!(
            "{block}{raw}{comment}{}{}",
            line.repeat(30),
            tagged.repeat(30)
        );
        for piece in pieces(&source) {
            if let Piece::Template(text) = piece {
                let one_block = text.starts_with("{{");
                assert!(one_block || text.len() < TARGET + 200, "{}", text.len());
            }
        }
        let parts = texts(&source);
        assert!(parts.len() > 5, "{}", parts.len());
        assert_eq!(parts.concat(), source);
        for part in &parts {
            let opens = part.matches("{{#").count();
            let closes = part.matches("{{/if").count();
            assert_eq!(opens, closes, "a block is cut: {part:.80}");
            assert_eq!(
                part.matches("{{{{raw").count(),
                part.matches("{{{{/raw").count()
            );
            assert_eq!(part.matches("{{!--").count(), part.matches("--}}").count());
        }
    }

    #[test]
    fn text_beyond_ascii_is_cut_on_line_breaks_only() {
        let source = format!("{}{{{{x}}}}\n", "é — ü\n".repeat(600));
        assert_eq!(texts(&source).concat(), source);
    }

    #[test]
    fn holes_take_out_plain_lines_only_and_go_back_in() {
        let source = "a\n{{#if x}}\n  b\n\n  c\n{{else}}\n{{y}} d\n{{/if}}\ne";
        let tags = scan(source).tags.unwrap();
        let (punched, runs) = punch(source, 0, &tags).unwrap();
        assert_eq!(
            punched,
            "\u{E000}0\u{E000}\n{{#if x}}\n\u{E000}1\u{E000}\n{{else}}\n{{y}} d\n{{/if}}\n\u{E000}2\u{E000}"
        );
        assert_eq!(runs, ["a", "  b\n\n  c", "e"]);
        assert_eq!(fill(&punched, &runs).unwrap(), source);
        let multi_line_tag = "{{#if (eq\n a b)}}\nc\n{{/if}}\n";
        assert!(scan(multi_line_tag).tags.is_none());
        assert!(scan("{{> part}}\n").tags.is_none());
    }

    /// Every embedded template, for every preset's answers (and every slot
    /// filled), renders the same with holes, and by the fast path, as by
    /// handlebars whole.
    #[test]
    fn holes_and_the_fast_path_change_no_output_of_the_embedded_templates() {
        use crate::answers::{self, Fallback, Layer, Value};
        use crate::template::{TemplateSet, context, registry, select, slots};
        let set = TemplateSet::embedded().unwrap();
        let hb = registry();
        let mut rendered = 0;
        for preset in set.presets.values() {
            let name = Layer {
                origin: "test".into(),
                explicit: true,
                values: [("name".to_owned(), Value::Str("holes-test".into()))].into(),
            };
            let layers = [name, Layer::from_preset(preset)];
            let answers = answers::resolve(&set.catalog, &layers, Fallback::Defaults).unwrap();
            let mut data = context(&set, &answers, &select(&set, &answers).unwrap());
            data["env"] = serde_json::json!([{ "name": "A", "required": true }]);
            data["required_env"] = serde_json::json!(["A"]);
            let templates = set.components.values().flat_map(|c| {
                c.files
                    .iter()
                    .chain(&c.fills)
                    .filter(|(p, _)| p.ends_with(".hbs"))
            });
            let slots: Vec<String> = templates
                .clone()
                .flat_map(|(_, b)| slots::declared(std::str::from_utf8(b).unwrap()))
                .collect();
            data["filled"] = slots
                .iter()
                .map(|s| (s.clone(), serde_json::Value::Bool(true)))
                .collect();
            let context = handlebars::Context::from(data);
            for (path, bytes) in templates {
                let source = std::str::from_utf8(bytes).unwrap();
                let holes = !holds_hole(context.data());
                let with = render_with(&hb, &context, source, Paths { fast: false, holes });
                let fast = render_with(&hb, &context, source, Paths { fast: true, holes });
                let without = render_with(
                    &hb,
                    &context,
                    source,
                    Paths {
                        fast: false,
                        holes: false,
                    },
                );
                match (&fast, &without) {
                    (Ok(a), Ok(b)) => assert!(a == b, "{path}: the fast path changes the output"),
                    (Err(a), Err(b)) => assert_eq!(a.0.to_string(), b.0.to_string()),
                    (a, b) => panic!("{path}: {:?} / {:?}", a.is_ok(), b.is_ok()),
                }
                match (with, without) {
                    (Ok(a), Ok(b)) => assert!(a == b, "{path}: holes change the output"),
                    (Err(a), Err(b)) => assert_eq!(a.0.to_string(), b.0.to_string()),
                    (a, b) => panic!("{path}: {:?} / {:?}", a.is_ok(), b.is_ok()),
                }
                rendered += 1;
            }
        }
        assert!(rendered > 100, "{rendered}");
    }

    #[test]
    fn the_fast_path_changes_no_answerless_render_of_the_embedded_manifests() {
        // As `manifest::parse_manifest` renders them: no answers, not strict.
        let set = crate::template::TemplateSet::embedded().unwrap();
        let mut hb = handlebars::Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        let context = handlebars::Context::from(serde_json::json!({}));
        let mut rendered = 0;
        for component in set.components.values() {
            let Some(source) = &component.manifest.template else {
                continue;
            };
            let fast = render_with(
                &hb,
                &context,
                source,
                Paths {
                    fast: true,
                    holes: true,
                },
            );
            let slow = render_with(
                &hb,
                &context,
                source,
                Paths {
                    fast: false,
                    holes: false,
                },
            );
            let name = &component.manifest.name;
            assert!(
                fast.unwrap() == slow.unwrap(),
                "{name}: the fast path changes the output"
            );
            rendered += 1;
        }
        assert!(rendered > 5, "{rendered}");
    }

    #[test]
    fn unbalanced_templates_and_whitespace_control_are_not_cut() {
        let source = format!("{{{{#if a}}}}\n{}", "x\n".repeat(3000));
        assert_eq!(texts(&source), [source.as_str()]);
        let source = "a\n{{~x}}\nb\n";
        assert_eq!(texts(source), [source]);
    }
}
