//! Project names as a validated type.
//!
//! A project name becomes a Cargo package, a Rust crate identifier, a binary, a
//! Docker image and Kubernetes object names. Checking it once, here, with cargo's
//! rules plus the stricter ones of those other worlds (lowercase, short), means no
//! code downstream ever meets a name it cannot use. Every rejection suggests a name
//! that would pass.

use std::fmt;

use crate::error::{Error, Result};

/// Rust keywords, strict and reserved, across editions up to 2024.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Crates of the standard distribution, which a package must not shadow.
const STD_CRATES: &[&str] = &["alloc", "core", "proc_macro", "std", "test"];

/// Names cargo refuses because they collide with its own output directories.
const CARGO_RESERVED: &[&str] = &["build", "deps", "examples", "incremental"];

/// Device names Windows refuses as file names.
const WINDOWS_RESERVED: &[&str] = &[
    "aux", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "con", "lpt1",
    "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "nul", "prn",
];

/// Longest accepted name: Kubernetes label values and DNS labels stop at 63.
const MAX_LEN: usize = 63;

/// A project name that is a valid Cargo package name, not a keyword or reserved
/// name, lowercase and short enough for container and Kubernetes names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectName(String);

impl ProjectName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self> {
        match problem(name) {
            None => Ok(ProjectName(name.to_owned())),
            Some(reason) => Err(Error::InvalidName {
                name: name.to_owned(),
                reason,
                suggestion: suggest(name),
            }),
        }
    }

    /// The package name as given, e.g. `orders-api`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The crate identifier, e.g. `orders_api`.
    pub fn crate_name(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The name in DNS-label form for Kubernetes objects and images, e.g. `orders-api`.
    pub fn dns_name(&self) -> String {
        self.0.replace('_', "-")
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `name` is not acceptable, or `None` when it is.
fn problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if name.len() > MAX_LEN {
        return Some(format!("it is longer than {MAX_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "the character {c:?} is not allowed; use lowercase letters, digits, `-` and `_`"
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(
            "uppercase letters are not allowed (image and Kubernetes names are lowercase)".into(),
        );
    }
    let first = name.chars().next().expect("checked non-empty");
    if !first.is_ascii_lowercase() {
        return Some("the name must start with a letter".into());
    }
    if name.ends_with(['-', '_']) {
        return Some("the name must end with a letter or digit".into());
    }
    let ident = name.replace('-', "_");
    if KEYWORDS.contains(&ident.as_str()) {
        return Some("it is a Rust keyword".into());
    }
    if STD_CRATES.contains(&ident.as_str()) {
        return Some("it is the name of a standard library crate".into());
    }
    if CARGO_RESERVED.contains(&name) {
        return Some("cargo reserves it for its own output directories".into());
    }
    if WINDOWS_RESERVED.contains(&name) {
        return Some("it is a reserved device name on Windows".into());
    }
    None
}

/// A valid name close to `name`, to offer in the error message.
fn suggest(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches(['-', '_']).to_owned();
    out.truncate(MAX_LEN - 4);
    let mut out = out.trim_end_matches(['-', '_']).to_owned();
    if out.is_empty() {
        out = "my-api".into();
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("api-{out}");
    }
    if problem(&out).is_some() {
        out = format!("{out}-api");
    }
    (out != name && problem(&out).is_none()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(name: &str) -> (String, Option<String>) {
        match ProjectName::new(name) {
            Err(Error::InvalidName {
                reason, suggestion, ..
            }) => (reason, suggestion),
            other => panic!("expected `{name}` to be rejected, got {other:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_names() {
        for name in ["api", "orders-api", "orders_api", "a1", "x-2-y"] {
            let parsed = ProjectName::new(name).unwrap();
            assert_eq!(parsed.as_str(), name);
        }
        let name = ProjectName::new("orders-api").unwrap();
        assert_eq!(name.crate_name(), "orders_api");
        assert_eq!(
            ProjectName::new("orders_api").unwrap().dns_name(),
            "orders-api"
        );
    }

    #[test]
    fn rejects_keywords_std_and_reserved_names_with_a_suggestion() {
        for (name, reason) in [
            ("fn", "keyword"),
            ("async", "keyword"),
            ("gen", "keyword"),
            ("test", "standard library"),
            ("std", "standard library"),
            ("proc-macro", "standard library"),
            ("deps", "cargo reserves"),
            ("con", "Windows"),
            ("lpt1", "Windows"),
        ] {
            let (got, suggestion) = rejected(name);
            assert!(got.contains(reason), "{name}: {got}");
            let suggestion = suggestion.expect("a suggestion");
            assert!(ProjectName::new(&suggestion).is_ok(), "{suggestion}");
        }
        assert_eq!(rejected("fn").1.as_deref(), Some("fn-api"));
    }

    #[test]
    fn rejects_bad_characters_case_and_shape() {
        assert_eq!(rejected("My API").1.as_deref(), Some("my-api"));
        assert_eq!(rejected("Orders").1.as_deref(), Some("orders"));
        assert_eq!(rejected("1password").1.as_deref(), Some("api-1password"));
        assert_eq!(rejected("orders-").1.as_deref(), Some("orders"));
        assert!(rejected("").0.contains("empty"));
        assert!(rejected(&"a".repeat(64)).0.contains("longer"));
        assert!(rejected("caf\u{e9}").0.contains("not allowed"));
    }
}
