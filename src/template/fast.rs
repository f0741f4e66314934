//! A fast path for the templates' common shape, with handlebars as the judge.
//!
//! Profiled, handlebars spends about 35 µs parsing one `{{#if}}…{{/if}}` block
//! and 10 µs on a lone `{{name}}` (its pest grammar tries every alternative at
//! every tag), which made parsing half of `stanchion new`'s CPU. Most template
//! pieces use only a small subset: `{{#if}}` / `{{#unless}}` on a value or on
//! `(eq value "literal")`, `{{else}}`, values, and the `slot` helper. [`render`]
//! renders exactly that subset as handlebars does — the standalone-line rule
//! included — and answers None for anything else, or whenever handlebars would
//! report an error (a missing value), so that the caller renders the piece with
//! handlebars and the result or the error is handlebars' own. Tests compare the
//! two on every embedded template and on generated ones.

use serde_json::Value;

use super::slots;

/// A tag of the subset.
#[derive(Debug)]
enum Tag<'a> {
    /// `{{#if …}}` (`negate` false) or `{{#unless …}}`.
    Open { negate: bool, cond: Cond<'a> },
    /// `{{else}}`.
    Else,
    /// `{{/if}}` or `{{/unless}}`; `negate` says which.
    Close { negate: bool },
    /// `{{path}}`.
    Value(&'a str),
    /// `{{slot "name"}}`, with its mode.
    Slot { name: &'a str, mode: &'static str },
}

impl Tag<'_> {
    /// Block tags follow the standalone-line rule; values and helpers do not.
    fn is_block(&self) -> bool {
        matches!(self, Tag::Open { .. } | Tag::Else | Tag::Close { .. })
    }
}

/// A block's condition.
#[derive(Debug)]
enum Cond<'a> {
    /// A value's truthiness.
    Truthy(&'a str),
    /// `(eq path "literal")`.
    Eq(&'a str, &'a str),
}

/// One part of a template: text, or a tag with its byte range.
#[derive(Debug)]
enum Part<'a> {
    Text(&'a str),
    Tag(Tag<'a>, usize, usize),
}

/// `source` rendered with `data` as handlebars (no escaping, the `slot`
/// helper; in strict mode when `strict`) renders it, or None when the source
/// leaves the subset or handlebars would fail. Out of strict mode (a manifest's
/// first, answerless render) a missing value is empty, as in handlebars.
pub(crate) fn render(source: &str, data: &Value, strict: bool) -> Option<String> {
    let mut parts = parse(source)?;
    standalone(source, &mut parts);
    let mut out = String::with_capacity(source.len());
    // For each open block: whether its current branch is output.
    // Each open block: whether the text around it is output, its condition,
    // whether it is `unless`, and whether its `{{else}}` was seen.
    let mut stack: Vec<(bool, bool, bool, bool)> = Vec::new();
    let mut active = true;
    for part in &parts {
        match part {
            Part::Text(text) => {
                if active {
                    out.push_str(text);
                }
            }
            Part::Tag(tag, ..) => match tag {
                Tag::Open { negate, cond } => {
                    let holds = if active {
                        eval(cond, data, strict)?
                    } else {
                        false
                    };
                    stack.push((active, holds, *negate, false));
                    active = active && (holds != *negate);
                }
                Tag::Else => {
                    let (outer, holds, negate, seen) = stack.last_mut()?;
                    if std::mem::replace(seen, true) {
                        return None;
                    }
                    active = *outer && (*holds == *negate);
                }
                Tag::Close { negate } => {
                    let (outer, _, opened, _) = stack.pop()?;
                    if opened != *negate {
                        return None;
                    }
                    active = outer;
                }
                Tag::Value(path) => {
                    if active {
                        let Some(value) = lookup(data, path) else {
                            // Handlebars renders a missing value empty, or
                            // reports it in strict mode.
                            if strict {
                                return None;
                            }
                            continue;
                        };
                        match value {
                            Value::String(s) => out.push_str(s),
                            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                            Value::Number(n) => out.push_str(&n.to_string()),
                            _ => return None,
                        }
                    }
                }
                Tag::Slot { name, mode } => {
                    if active {
                        out.push_str(&slots::marker(name, mode));
                    }
                }
            },
        }
    }
    stack.is_empty().then_some(out)
}

/// The tags around a raw block.
const RAW_OPEN: &str = "{{{{raw}}}}";
const RAW_CLOSE: &str = "{{{{/raw}}}}";

/// The parts of `source`, or None if anything is outside the subset.
fn parse(source: &str) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut at = 0;
    while let Some(found) = source[at..].find("{{") {
        let start = at + found;
        // An escaped `\{{` is literal text in handlebars.
        if source[..start].ends_with('\\') {
            return None;
        }
        // A raw block on one line (`{{{{raw}}}}{{ $value }}{{{{/raw}}}}`, as
        // Prometheus and GitHub expressions are written) is text as it stands.
        if let Some(rest) = source[start..].strip_prefix(RAW_OPEN) {
            let length = rest.find(RAW_CLOSE)?;
            let raw = &rest[..length];
            if raw.trim().is_empty() || raw.contains('\n') {
                return None;
            }
            if start > at {
                parts.push(Part::Text(&source[at..start]));
            }
            parts.push(Part::Text(raw));
            at = start + RAW_OPEN.len() + length + RAW_CLOSE.len();
            continue;
        }
        let end = start + 2 + source[start + 2..].find("}}")? + 2;
        let inner = &source[start + 2..end - 2];
        if inner.contains(['{', '}', '\n', '~', '\\']) || inner.starts_with(char::is_whitespace) {
            return None;
        }
        if start > at {
            parts.push(Part::Text(&source[at..start]));
        }
        parts.push(Part::Tag(tag(inner.trim())?, start, end));
        at = end;
    }
    if at < source.len() {
        parts.push(Part::Text(&source[at..]));
    }
    Some(parts)
}

/// The tag whose text between the braces is `inner`.
fn tag(inner: &str) -> Option<Tag<'_>> {
    if let Some(rest) = inner.strip_prefix('#') {
        let (name, cond) = rest.split_once(' ')?;
        let negate = match name {
            "if" => false,
            "unless" => true,
            _ => return None,
        };
        return Some(Tag::Open {
            negate,
            cond: condition(cond.trim())?,
        });
    }
    if let Some(name) = inner.strip_prefix('/') {
        return match name.trim() {
            "if" => Some(Tag::Close { negate: false }),
            "unless" => Some(Tag::Close { negate: true }),
            _ => None,
        };
    }
    if inner == "else" {
        return Some(Tag::Else);
    }
    if let Some(rest) = inner.strip_prefix("slot ") {
        let (name, rest) = quoted(rest.trim_start())?;
        let mode = match rest.trim() {
            "" => "-",
            "sorted=true" => "s",
            "spaced=true" => "b",
            _ => return None,
        };
        return Some(Tag::Slot { name, mode });
    }
    path(inner).then_some(Tag::Value(inner))
}

/// `path` or `(eq path "literal")`.
fn condition(text: &str) -> Option<Cond<'_>> {
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        let rest = inner.strip_prefix("eq ")?.trim_start();
        let (left, right) = rest.split_once(' ')?;
        let (literal, tail) = quoted(right.trim_start())?;
        return (path(left) && tail.trim().is_empty()).then_some(Cond::Eq(left, literal));
    }
    path(text).then_some(Cond::Truthy(text))
}

/// A `"literal"` at the start of `text` (no escapes), and what follows it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let end = body.find('"')?;
    Some((&body[..end], &body[end + 1..]))
}

/// Whether `text` is a path of plain names and `[bracketed]` segments,
/// separated by dots, looked up from the root.
fn path(text: &str) -> bool {
    !text.is_empty() && segments(text).is_some_and(|s| !s.is_empty())
}

fn segments(text: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let (segment, tail) = if let Some(bracketed) = rest.strip_prefix('[') {
            let end = bracketed.find(']')?;
            (&bracketed[..end], &bracketed[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let name = &rest[..end];
            let plain = name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if name.is_empty() || !plain || name == "this" || name.starts_with('-') {
                return None;
            }
            (name, &rest[end..])
        };
        out.push(segment);
        if tail.is_empty() {
            return Some(out);
        }
        rest = tail.strip_prefix('.')?;
    }
}

/// The value at `path`, None when it is missing.
fn lookup<'v>(data: &'v Value, path: &str) -> Option<&'v Value> {
    segments(path)?
        .into_iter()
        .try_fold(data, |value, segment| value.as_object()?.get(segment))
}

/// A block condition's value, or None where handlebars would report an error.
fn eval(cond: &Cond<'_>, data: &Value, strict: bool) -> Option<bool> {
    match cond {
        // A missing value is false for `if` (no error, even in strict mode).
        Cond::Truthy(path) => Some(lookup(data, path).is_some_and(truthy)),
        // `eq` reports a missing parameter in strict mode; otherwise it is
        // null, equal to no string.
        Cond::Eq(path, literal) => match lookup(data, path) {
            Some(value) => Some(value.as_str() == Some(*literal)),
            None => (!strict).then_some(false),
        },
    }
}

/// handlebars' truthiness (`if` without `includeZero`).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(f64::is_normal),
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Applies handlebars' standalone-line rule: a block tag alone on its line
/// (only spaces and tabs beside it, the end of the text counting as a line
/// break) takes the spaces before it and the rest of its line with it.
fn standalone(source: &str, parts: &mut [Part<'_>]) {
    let blank = |c: char| c == ' ' || c == '\t';
    for i in 0..parts.len() {
        let Part::Tag(tag, start, end) = &parts[i] else {
            continue;
        };
        if !tag.is_block() {
            continue;
        }
        let after = source[*end..].trim_start_matches(blank);
        let trailing =
            source[*end..].is_empty() || after.starts_with('\n') || after.starts_with("\r\n");
        let before = source[..*start].trim_end_matches(blank);
        if !(trailing && (before.is_empty() || before.ends_with('\n'))) {
            continue;
        }
        if i > 0 {
            if let Part::Text(text) = &mut parts[i - 1] {
                *text = text.trim_end_matches(blank);
            }
        }
        if let Some(Part::Text(text)) = parts.get_mut(i + 1) {
            let rest = text.trim_start_matches(blank);
            *text = rest
                .strip_prefix("\r\n")
                .or_else(|| rest.strip_prefix('\n'))
                .unwrap_or(rest);
        }
    }
}

#[cfg(test)]
mod tests;
