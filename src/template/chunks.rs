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
//! Whitespace control (`{{~` and `~}}`) can reach across a line break, so a
//! template that uses it is parsed whole.

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
pub(crate) fn pieces(source: &str) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut start = 0;
    for end in cut_points(source).into_iter().chain([source.len()]) {
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

/// Renders `source` piece by piece with `context`: the output of rendering it
/// whole, parsed faster. An error comes with the number of lines before the
/// piece it happened in, to add to its line number.
pub(crate) fn render(
    hb: &handlebars::Handlebars<'_>,
    context: &handlebars::Context,
    source: &str,
) -> Result<String, (handlebars::RenderError, usize)> {
    if !source.contains("{{") {
        return Ok(source.to_owned());
    }
    let mut out = String::with_capacity(source.len() + source.len() / 4);
    let mut line = 0;
    for piece in pieces(source) {
        match piece {
            Piece::Plain(text) => out.push_str(text),
            Piece::Template(text) => out.push_str(
                &hb.render_template_with_context(text, context)
                    .map_err(|e| (e, line))?,
            ),
        }
        line += piece.text().matches('\n').count();
    }
    Ok(out)
}

/// The byte offsets where `source` may be cut: just after each line break
/// outside every block, raw block and comment. None when whitespace control is
/// used, or when the blocks do not balance (handlebars then reports the error on
/// the whole text).
fn cut_points(source: &str) -> Vec<usize> {
    if source.contains("{{~") || source.contains("~}}") {
        return Vec::new();
    }
    let bytes = source.as_bytes();
    let mut cuts = Vec::new();
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
            skip_to("}}", 2)
        };
        match consumed {
            Some(n) => i += n,
            // Unbalanced: let handlebars report it, on the whole text.
            None => return Vec::new(),
        }
    }
    if depth != 0 {
        return Vec::new();
    }
    cuts
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
    fn unbalanced_templates_and_whitespace_control_are_not_cut() {
        let source = format!("{{{{#if a}}}}\n{}", "x\n".repeat(3000));
        assert_eq!(texts(&source), [source.as_str()]);
        let source = "a\n{{~x}}\nb\n";
        assert_eq!(texts(source), [source]);
    }
}
