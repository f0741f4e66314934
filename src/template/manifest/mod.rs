//! `component.toml`: what a component declares about itself, as data.
//!
//! A manifest names the component and says what it needs (`depends_on`), what
//! selects it (`selected_if`, a test on one answer, or a list of which any one
//! selects it), the questions it asks, the
//! options it adds to another component's question (`[[choices]]`), the
//! environment variables its code reads (`[[env]]`), the slots of other files it
//! fills (`[[fills]]`), files that exist only under a condition (`[[files]]`),
//! files it generated under another path before (`[[moved]]`) and the crates it
//! adds to the generated `Cargo.toml`. Nothing in stanchion's Rust
//! code names a component: everything a component does is said here.
//!
//! A manifest that contains `{{` is itself a handlebars template, so what it
//! declares can follow the answers (`features = [{{#if ...}}...]`). It is rendered
//! with the project's variables when the project is rendered; its name, order,
//! selection, dependencies and questions are read at load time from a lenient
//! render without answers, so they must not depend on them.

use crate::answers::{Choice, Condition, Question};

/// What a component declares about itself in `component.toml`.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The component name; equals its folder name.
    pub name: String,
    /// One line saying what it adds.
    pub summary: String,
    /// Where its questions, fills and variables come among the components'
    /// (smaller first; ties by name). The base is always first.
    pub order: i64,
    /// Components it needs.
    pub depends_on: Vec<String>,
    /// The answers that select it, any one of them; empty only for the base,
    /// which is always selected.
    pub selected_if: Vec<Condition>,
    /// Its questions, in asking order.
    pub questions: Vec<Question>,
    /// Options it adds to another component's question: (question key, option,
    /// whether the option is part of the question's default).
    pub choices: Vec<(String, Choice, bool)>,
    /// Where each of its questions is asked among all, by key, when that
    /// differs from the component's order.
    pub question_order: Vec<(String, i64)>,
    /// The environment variables its code reads.
    pub env: Vec<EnvVar>,
    /// What it pastes into other files' slots.
    pub fills: Vec<Fill>,
    /// Files of its `files/` tree generated only under a condition, or under
    /// another path.
    pub files: Vec<FileRule>,
    /// Output paths it generated under another path in earlier versions, so
    /// that `regen` carries the user's edits to the new path.
    pub moved: Vec<Move>,
    /// Text for the "next steps" after `new` when the project needs services
    /// (`{services}` and `{vars}` are replaced), e.g. a compose command.
    pub services_command: Option<String>,
    /// `[dependencies]` it adds to the generated `Cargo.toml`.
    pub dependencies: toml_edit::Table,
    /// `[dev-dependencies]` it adds.
    pub dev_dependencies: toml_edit::Table,
    /// `[profile.*]` settings it adds (optimising a crate in development builds,
    /// say).
    pub profile: toml_edit::Table,
    /// The manifest's text when it is a handlebars template (it contains `{{`):
    /// what depends on the answers is then read again from its rendering for
    /// each project ([`Manifest::rendered`]).
    pub template: Option<String>,
}

/// An environment variable a component's code reads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EnvVar {
    /// Its name, e.g. `DATABASE_URL`.
    pub name: String,
    /// The value used when it is unset, as written in `.env.example` (empty: no
    /// default, or "off").
    pub default: String,
    /// What it does, in a sentence or two.
    pub doc: String,
    /// `doc` line by line, for comments.
    pub doc_lines: Vec<String>,
    /// `doc` on one line, for tables.
    pub doc_line: String,
    /// Whether it holds a secret: kept out of ConfigMaps and example files.
    pub secret: bool,
    /// Whether the service refuses to start without it.
    pub required: bool,
    /// For a development `.env`, a random value of this many bytes (hex).
    pub generate_bytes: Option<usize>,
    /// The compose service that provides what it points at (e.g. `db`).
    pub service: Option<String>,
    /// The component that declares it.
    pub component: String,
}

/// Text a component pastes into a slot of another file.
#[derive(Clone, Debug)]
pub struct Fill {
    /// The slot's name, e.g. `lib.mods`.
    pub slot: String,
    /// Where it comes among the slot's fills (smaller first; ties by component
    /// order and name).
    pub order: i64,
    /// The text, a handlebars template.
    pub text: FillText,
    /// Applies only when all these components are selected too.
    pub when: Vec<String>,
    /// Applies only when all these hold for the answers.
    pub only_if: Vec<Condition>,
}

/// Where a fill's text is.
#[derive(Clone, Debug)]
pub enum FillText {
    /// Written in the manifest.
    Inline(String),
    /// A file under the component's `fills/`.
    File(String),
}

/// A condition, or a new path, for one file of a component's `files/` tree.
#[derive(Clone, Debug)]
pub struct FileRule {
    /// The template's path under `files/`, e.g. `src/cache/redis.rs.hbs`.
    pub path: String,
    /// Generated only when all these hold.
    pub only_if: Vec<Condition>,
    /// The output path instead of the template's own (without `.hbs`).
    pub to: Option<String>,
}

/// A file the component used to generate at `from` and now generates at `to`
/// (output paths, as recorded in `stanchion.toml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    /// The old output path.
    pub from: String,
    /// The new output path.
    pub to: String,
}

impl Manifest {
    /// Whether `answers` select this component.
    pub fn is_selected(&self, answers: &crate::answers::Partial) -> bool {
        self.selected_if.is_empty() || self.selected_if.iter().any(|c| c.holds(answers))
    }

    /// When it is selected, for messages: "`cache = redis` or `rate_limit = redis`".
    pub fn selection(&self) -> String {
        let all: Vec<String> = self.selected_if.iter().map(ToString::to_string).collect();
        all.join(" or ")
    }

    /// The manifest as it applies to a project whose template variables are
    /// `context`: itself, or for a templated manifest, its strict rendering.
    pub(crate) fn rendered(
        &self,
        hb: &handlebars::Handlebars<'_>,
        context: &super::chunks::Context,
    ) -> Result<Manifest, String> {
        let Some(template) = &self.template else {
            return Ok(self.clone());
        };
        let text = super::chunks::render(hb, context, template).map_err(|(e, offset)| {
            match e.line_no {
                Some(line) => format!(
                    "cannot render `component.toml`: line {}: {}",
                    line + offset,
                    e.reason()
                ),
                None => format!("cannot render `component.toml`: {}", e.reason()),
            }
        })?;
        let mut manifest = parse_toml(&self.name, &text)?;
        manifest.template = self.template.clone();
        Ok(manifest)
    }
}

mod moved;
mod parse;

use parse::parse_toml;

/// Parses a `component.toml` found in folder `dir_name`.
pub fn parse_manifest(dir_name: &str, bytes: &[u8]) -> Result<Manifest, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "`component.toml` is not UTF-8".to_owned())?;
    if !text.contains("{{") {
        return parse_toml(dir_name, text);
    }
    // A template: without answers, a lenient render (missing values are empty,
    // conditions false) yields the metadata; what depends on the answers is read
    // again from the strict render of each project.
    let mut hb = handlebars::Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    let empty = super::chunks::Context::new(serde_json::json!({}));
    let neutral = super::chunks::render(&hb, &empty, text)
        .map_err(|(e, _)| format!("`component.toml` is not a valid template: {e}"))?;
    let mut manifest = parse_toml(dir_name, &neutral)?;
    manifest.template = Some(text.to_owned());
    Ok(manifest)
}

/// The default place of a component, and of a fill within its slot.
pub const DEFAULT_ORDER: i64 = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::Value;

    const TEMPLATED: &str = r#"name = "database"
summary = "a database"
selected_if = { key = "database", not = "none" }

[[questions]]
key = "database"
prompt = "Database"
type = "choice"
default = "none"
choices = [{ value = "postgres" }, { value = "sqlite" }, { value = "none" }]

[dependencies]
# the driver follows the answer
sqlx = { version = "0.9.0", features = ["runtime-tokio", {{#if (eq answers.database "postgres")}}"postgres"{{else}}"sqlite"{{/if}}] }
"#;

    fn features(manifest: &Manifest) -> Vec<String> {
        manifest.dependencies["sqlx"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_plain_manifest_is_not_a_template() {
        let manifest = parse_manifest("base", b"name = \"base\"\nsummary = \"s\"\n").unwrap();
        assert!(manifest.template.is_none());
        assert_eq!(manifest.order, 0);
    }

    #[test]
    fn a_templated_manifest_renders_its_dependencies_from_the_answers() {
        let manifest = parse_manifest("database", TEMPLATED.as_bytes()).unwrap();
        assert_eq!(manifest.summary, "a database");
        assert_eq!(
            manifest.questions[0].default,
            Some(Value::Str("none".into()))
        );
        assert!(manifest.template.is_some());

        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        let context = |db: &str| {
            crate::template::chunks::Context::new(
                serde_json::json!({ "answers": { "database": db } }),
            )
        };
        let postgres = manifest.rendered(&hb, &context("postgres")).unwrap();
        assert_eq!(features(&postgres), ["runtime-tokio", "postgres"]);
        let sqlite = manifest.rendered(&hb, &context("sqlite")).unwrap();
        assert_eq!(features(&sqlite), ["runtime-tokio", "sqlite"]);
        let key = sqlite.dependencies.key("sqlx").unwrap();
        assert!(
            format!("{:?}", key.leaf_decor()).contains("the driver follows"),
            "comments survive: {key:?}"
        );
    }

    #[test]
    fn a_templated_manifest_is_rendered_strictly() {
        let manifest = parse_manifest("database", TEMPLATED.as_bytes()).unwrap();
        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(true);
        let err = manifest
            .rendered(
                &hb,
                &crate::template::chunks::Context::new(serde_json::json!({ "answers": {} })),
            )
            .unwrap_err();
        assert!(err.contains("cannot render `component.toml`"), "{err}");
    }

    #[test]
    fn mistakes_in_a_manifest_are_named() {
        let err = parse_manifest("x", b"name = \"x\"\nsummary = \"s\"\n").unwrap_err();
        assert!(err.contains("`selected_if` is required"), "{err}");
        let err = parse_manifest(
            "x",
            b"name = \"x\"\nsummary = \"s\"\nselected_if = { key = \"x\", is = true }\nsumary = 1\n",
        )
        .unwrap_err();
        assert!(err.contains("sumary"), "{err}");
        let bad_default = br#"name = "x"
summary = "s"
selected_if = { key = "x", is = true }
[[questions]]
key = "x"
prompt = "X?"
type = "int"
min = 1
max = 5
default = 9
"#;
        let err = parse_manifest("x", bad_default).unwrap_err();
        assert!(err.contains("question `x`: invalid default"), "{err}");
    }
}
