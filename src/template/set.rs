//! Template sets: the embedded one, or a directory of the same layout.
//!
//! Layout: `base/` and `components/<name>/`, each holding a `component.toml`
//! manifest and a `files/` tree. The folder tree *is* the component list: a
//! component is available exactly when its folder exists. Both sources load into
//! the same in-memory [`TemplateSet`], so rendering never touches the disk.
//!
//! A `component.toml` that contains `{{` is itself a handlebars template, so its
//! dependency tables can depend on the answers (`features = [{{#if ...}}...]`).
//! It is rendered with the project's variables when the project is rendered; its
//! `name`, `summary` and `depends_on` are read at load time from a lenient render
//! without answers, so they must not depend on them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use crate::error::{Error, Result};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// What a component declares about itself in `component.toml`.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The component name; equals its folder name.
    pub name: String,
    /// One line saying what it adds.
    pub summary: String,
    /// Components it needs.
    pub depends_on: Vec<String>,
    /// `[dependencies]` it adds to the generated `Cargo.toml`.
    pub dependencies: toml_edit::Table,
    /// `[dev-dependencies]` it adds.
    pub dev_dependencies: toml_edit::Table,
    /// The manifest's text when it is a handlebars template (it contains `{{`):
    /// the dependency tables above are then placeholders, and the ones that count
    /// come from rendering this with the project's variables
    /// ([`Manifest::rendered`]).
    pub template: Option<String>,
}

impl Manifest {
    /// The manifest as it applies to a project whose template variables are
    /// `context`: itself, or for a templated manifest, its strict rendering.
    pub fn rendered(
        &self,
        hb: &handlebars::Handlebars<'_>,
        context: &serde_json::Value,
    ) -> std::result::Result<Manifest, String> {
        let Some(template) = &self.template else {
            return Ok(self.clone());
        };
        let text = hb
            .render_template(template, context)
            .map_err(|e| format!("cannot render `component.toml`: {e}"))?;
        let mut manifest = parse_toml(&self.name, &text)?;
        manifest.template = self.template.clone();
        Ok(manifest)
    }
}

/// One component's manifest and template files.
#[derive(Clone, Debug)]
pub struct Component {
    /// Its manifest.
    pub manifest: Manifest,
    /// Template files by path relative to `files/`, with `/` separators.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Component {
    /// The paths this component generates (`.hbs` suffixes removed).
    pub fn outputs(&self) -> impl Iterator<Item = &str> {
        self.files
            .keys()
            .map(|p| p.strip_suffix(".hbs").unwrap_or(p))
    }
}

/// A loaded template set.
#[derive(Clone, Debug)]
pub struct TemplateSet {
    /// Where it came from, for messages.
    pub origin: PathBuf,
    /// Components by name; always contains `base`.
    pub components: BTreeMap<String, Component>,
}

impl TemplateSet {
    /// The template set compiled into stanchion.
    pub fn embedded() -> Result<TemplateSet> {
        let mut raw: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        collect_embedded(&EMBEDDED, &mut raw);
        TemplateSet::from_raw(PathBuf::from("<embedded>"), raw)
    }

    /// Loads a template set from `dir`.
    pub fn from_dir(dir: &Path) -> Result<TemplateSet> {
        if !dir.is_dir() {
            return Err(Error::TemplateSet {
                path: dir.to_owned(),
                message: "not a directory".into(),
            });
        }
        let mut raw: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
        for entry in walkdir::WalkDir::new(dir).follow_links(true) {
            let entry = entry.map_err(|e| Error::TemplateSet {
                path: dir.to_owned(),
                message: e.to_string(),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(dir)
                .expect("walkdir stays inside");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let bytes =
                std::fs::read(entry.path()).map_err(|e| Error::io("read", entry.path(), e))?;
            if let Some((component, path)) = split_component(&rel) {
                raw.entry(component).or_default().insert(path, bytes);
            }
        }
        TemplateSet::from_raw(dir.to_owned(), raw)
    }

    /// The set named by `--template-dir`, or the embedded one.
    pub fn load(dir: Option<&Path>) -> Result<TemplateSet> {
        match dir {
            Some(dir) => TemplateSet::from_dir(dir),
            None => TemplateSet::embedded(),
        }
    }

    fn from_raw(
        origin: PathBuf,
        raw: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    ) -> Result<TemplateSet> {
        let mut components = BTreeMap::new();
        for (name, mut entries) in raw {
            let fail = |message: String| Error::TemplateSet {
                path: origin.join(component_dir(&name)),
                message,
            };
            let manifest_bytes = entries
                .remove("component.toml")
                .ok_or_else(|| fail("missing `component.toml`".into()))?;
            let manifest = parse_manifest(&name, &manifest_bytes).map_err(fail)?;
            let files = entries
                .into_iter()
                .filter_map(|(path, bytes)| {
                    path.strip_prefix("files/").map(|p| (p.to_owned(), bytes))
                })
                .collect();
            components.insert(name, Component { manifest, files });
        }
        if !components.contains_key("base") {
            return Err(Error::TemplateSet {
                path: origin,
                message: "there is no `base/` component".into(),
            });
        }
        Ok(TemplateSet { origin, components })
    }
}

/// The folder of component `name` inside a template set.
fn component_dir(name: &str) -> String {
    if name == "base" {
        "base".into()
    } else {
        format!("components/{name}")
    }
}

/// Splits `base/files/x` or `components/db/files/x` into component and the rest.
fn split_component(rel: &str) -> Option<(String, String)> {
    if let Some(rest) = rel.strip_prefix("base/") {
        return Some(("base".into(), rest.into()));
    }
    let rest = rel.strip_prefix("components/")?;
    let (name, rest) = rest.split_once('/')?;
    Some((name.into(), rest.into()))
}

fn collect_embedded(dir: &Dir<'_>, raw: &mut BTreeMap<String, BTreeMap<String, Vec<u8>>>) {
    for file in dir.files() {
        let rel = file.path().to_string_lossy().replace('\\', "/");
        if let Some((component, path)) = split_component(&rel) {
            raw.entry(component)
                .or_default()
                .insert(path, file.contents().to_vec());
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, raw);
    }
}

fn parse_manifest(dir_name: &str, bytes: &[u8]) -> std::result::Result<Manifest, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "`component.toml` is not UTF-8".to_owned())?;
    if !text.contains("{{") {
        return parse_toml(dir_name, text);
    }
    // A template: without answers, a lenient render (missing values are empty,
    // conditions false) yields the metadata; the dependency tables are read again
    // from the strict render of each project.
    let mut hb = handlebars::Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    let neutral = hb
        .render_template(text, &serde_json::json!({}))
        .map_err(|e| format!("`component.toml` is not a valid template: {e}"))?;
    let mut manifest = parse_toml(dir_name, &neutral)?;
    manifest.template = Some(text.to_owned());
    Ok(manifest)
}

fn parse_toml(dir_name: &str, text: &str) -> std::result::Result<Manifest, String> {
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("invalid `component.toml`: {e}"))?;
    let string = |key: &str| {
        doc.get(key)
            .and_then(|i| i.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("`component.toml` needs a string `{key}`"))
    };
    let name = string("name")?;
    if name != dir_name {
        return Err(format!(
            "`component.toml` names `{name}` but the folder is `{dir_name}`"
        ));
    }
    let depends_on = match doc.get("depends_on") {
        None => Vec::new(),
        Some(item) => item
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
            .ok_or("`depends_on` must be a list of component names")?,
    };
    let table = |key: &str| -> std::result::Result<toml_edit::Table, String> {
        match doc.get(key) {
            None => Ok(toml_edit::Table::new()),
            Some(item) => item
                .as_table()
                .cloned()
                .ok_or_else(|| format!("`[{key}]` must be a table")),
        }
    };
    Ok(Manifest {
        name,
        summary: string("summary")?,
        depends_on,
        dependencies: table("dependencies")?,
        dev_dependencies: table("dev-dependencies")?,
        template: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATED: &str = r#"name = "database"
summary = "a database"
depends_on = []

[dependencies]
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
        let manifest = parse_manifest("x", b"name = \"x\"\nsummary = \"s\"\n").unwrap();
        assert!(manifest.template.is_none());
    }

    #[test]
    fn a_templated_manifest_renders_its_dependencies_from_the_answers() {
        let manifest = parse_manifest("database", TEMPLATED.as_bytes()).unwrap();
        assert_eq!(manifest.summary, "a database");
        assert!(manifest.template.is_some());

        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        let context = |db: &str| serde_json::json!({ "answers": { "database": db } });
        let postgres = manifest.rendered(&hb, &context("postgres")).unwrap();
        assert_eq!(features(&postgres), ["runtime-tokio", "postgres"]);
        let sqlite = manifest.rendered(&hb, &context("sqlite")).unwrap();
        assert_eq!(features(&sqlite), ["runtime-tokio", "sqlite"]);
    }

    #[test]
    fn a_templated_manifest_is_rendered_strictly() {
        let manifest = parse_manifest("database", TEMPLATED.as_bytes()).unwrap();
        let mut hb = handlebars::Handlebars::new();
        hb.set_strict_mode(true);
        let err = manifest
            .rendered(&hb, &serde_json::json!({ "answers": {} }))
            .unwrap_err();
        assert!(err.contains("cannot render `component.toml`"), "{err}");
    }
}
