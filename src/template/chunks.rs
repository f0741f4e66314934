//! Splitting a template into pieces that render on their own.
//!
//! handlebars' parser records a line and column for every element it parses,
//! computed from the start of the text each time, so parsing costs grow with
//! the square of a template's size; on the largest templates that was most of
//! `stanchion new`'s time. A template is the concatenation of its top-level
//! parts, so it can be cut at any line break outside every block, raw block and
//! comment, each piece rendered alone, and the outputs joined: the result is the
//! same, and each piece is small.

/// Pieces smaller than this are not cut further.
const TARGET: usize = 512;

/// The byte offsets where `source` may be cut into pieces of about [`TARGET`]
/// bytes: just after a line break outside every block, raw block and comment.
pub(crate) fn cut_points(source: &str) -> Vec<usize> {
    if source.len() <= TARGET {
        return Vec::new();
    }
    let bytes = source.as_bytes();
    let mut cuts = Vec::new();
    let mut depth: i64 = 0;
    let mut last_cut = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            i += 1;
            if depth == 0 && i - last_cut >= TARGET && i < bytes.len() {
                cuts.push(i);
                last_cut = i;
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

    fn pieces(source: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        for cut in cut_points(source) {
            out.push(&source[start..cut]);
            start = cut;
        }
        out.push(&source[start..]);
        out
    }

    #[test]
    fn small_templates_stay_whole() {
        assert!(cut_points("{{#if a}}\nx\n{{/if}}\n").is_empty());
    }

    #[test]
    fn cuts_fall_outside_blocks_raw_blocks_and_comments() {
        let line = format!("{}\n", "x".repeat(100));
        let block = format!("{{{{#if a}}}}\n{}{{{{/if}}}}\n", line.repeat(30));
        let raw = format!(
            "{{{{{{{{raw}}}}}}}}\n{}{{{{{{{{/raw}}}}}}}}\n",
            line.repeat(30)
        );
        let comment = format!("{{{{!-- {} --}}}}\n", line.repeat(30));
        let source = format!("{block}{raw}{comment}{}", line.repeat(30));
        let parts = pieces(&source);
        assert!(parts.len() > 2, "{}", parts.len());
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
        assert_eq!(pieces(&source).concat(), source);
    }

    #[test]
    fn unbalanced_templates_are_not_cut() {
        let source = format!("{{{{#if a}}}}\n{}", "x\n".repeat(3000));
        assert!(cut_points(&source).is_empty());
    }
}
