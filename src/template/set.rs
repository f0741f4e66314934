//! Template sets: the embedded one, or a directory of the same layout.
//!
//! Layout: `base/` and `components/<name>/`, each holding a `component.toml`
//! manifest ([`super::manifest`]), a `files/` tree and optionally a `fills/`
//! folder of slot fills; `presets/<name>.toml`, named sets of answers; and
//! optionally `lock.json`, the tested dependency graph ([`crate::lockfile`]). The
//! folder tree *is* the component list: a component exists exactly when its
//! folder does, and everything about it — questions, selection, variables,
//! fills — comes from its manifest. Both sources load into the same in-memory
//! [`TemplateSet`], so rendering never touches the disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::manifest::{Manifest, parse_manifest};
use crate::answers::{Catalog, Condition, Kind, Preset, Question, Value};
use crate::error::{Error, Result};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// One component's manifest and template files.
#[derive(Clone, Debug)]
pub struct Component {
    /// Its manifest.
    pub manifest: Manifest,
    /// Template files by path relative to `files/`, with `/` separators.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Fill templates by path relative to `fills/`.
    pub fills: BTreeMap<String, Vec<u8>>,
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
    /// Presets by name.
    pub presets: BTreeMap<String, Preset>,
    /// Every question, in asking order.
    pub catalog: Catalog,
    /// `lock.json`: the dependency graph new projects' lockfiles are cut from
    /// ([`crate::lockfile`]), unparsed until a project is written.
    pub lock: Option<Vec<u8>>,
}

impl TemplateSet {
    /// The template set compiled into stanchion.
    pub fn embedded() -> Result<TemplateSet> {
        let mut raw = Raw::default();
        collect_embedded(&EMBEDDED, &mut raw);
        TemplateSet::from_raw(PathBuf::from("<embedded>"), raw)
    }

    /// The embedded set's `lock.json`, without loading the set: `new` starts
    /// parsing it before the set is loaded.
    pub fn embedded_lock() -> Option<&'static [u8]> {
        EMBEDDED.get_file("lock.json").map(|file| file.contents())
    }

    /// Loads a template set from `dir`.
    pub fn from_dir(dir: &Path) -> Result<TemplateSet> {
        if !dir.is_dir() {
            return Err(Error::TemplateSet {
                path: dir.to_owned(),
                message: "not a directory".into(),
            });
        }
        let mut raw = Raw::default();
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
            raw.add(&rel, bytes);
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

    /// The components in order: the base first, then by (order, name).
    pub fn ordered(&self) -> Vec<&Component> {
        let mut all: Vec<&Component> = self.components.values().collect();
        all.sort_by(|a, b| {
            let key = |c: &Component| (c.manifest.name != "base", c.manifest.order);
            key(a)
                .cmp(&key(b))
                .then_with(|| a.manifest.name.cmp(&b.manifest.name))
        });
        all
    }

    /// The preset offered first when asking interactively.
    pub fn recommended_preset(&self) -> Option<&Preset> {
        self.presets.values().find(|p| p.recommended)
    }

    fn from_raw(origin: PathBuf, raw: Raw) -> Result<TemplateSet> {
        if !raw.components.contains_key("base") {
            return Err(Error::TemplateSet {
                path: origin,
                message: "there is no `base/` component".into(),
            });
        }
        let components = parse_components(&origin, raw.components)?;
        let mut presets = BTreeMap::new();
        for (name, bytes) in raw.presets {
            let fail = |message: String| Error::TemplateSet {
                path: origin.join(format!("presets/{name}.toml")),
                message,
            };
            let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8".into()))?;
            presets.insert(name.clone(), Preset::parse(&name, &text).map_err(fail)?);
        }
        let mut set = TemplateSet {
            origin,
            components,
            presets,
            catalog: Catalog::default(),
            lock: raw.lock,
        };
        set.catalog = set.build_catalog()?;
        set.check()?;
        Ok(set)
    }

    /// Gathers every component's questions in asking order, with the options
    /// other components add to them.
    fn build_catalog(&self) -> Result<Catalog> {
        let mut questions: Vec<Question> = Vec::new();
        let mut places: Vec<(i64, usize)> = Vec::new();
        for (index, component) in self.ordered().into_iter().enumerate() {
            for q in &component.manifest.questions {
                if let Some(first) = questions.iter().find(|o| o.key == q.key) {
                    return Err(self.invalid(
                        &component.manifest.name,
                        format!(
                            "question `{}` is already asked by component `{}`",
                            q.key, first.component
                        ),
                    ));
                }
                let order = component
                    .manifest
                    .question_order
                    .iter()
                    .find(|(k, _)| *k == q.key)
                    .map_or(component.manifest.order, |(_, o)| *o);
                places.push((order, index));
                questions.push(q.clone());
            }
        }
        // Stable: within one component, questions keep their written order.
        let mut indexed: Vec<((i64, usize), Question)> =
            places.into_iter().zip(questions).collect();
        indexed.sort_by_key(|(place, _)| *place);
        let mut questions: Vec<Question> = indexed.into_iter().map(|(_, q)| q).collect();
        for component in self.ordered() {
            for (key, choice, default) in &component.manifest.choices {
                let target = questions
                    .iter_mut()
                    .find(|q| &q.key == key)
                    .ok_or_else(|| {
                        self.invalid(
                            &component.manifest.name,
                            format!(
                                "`[[choices]]` adds to question `{key}`, which no component asks"
                            ),
                        )
                    })?;
                if *default {
                    let mut items = match &target.default {
                        Some(Value::List(items)) => items.clone(),
                        _ => Vec::new(),
                    };
                    items.push(choice.value.clone());
                    target.default = Some(Value::List(items));
                }
                match &mut target.kind {
                    Kind::Choice(options) | Kind::Multi(options) => options.push(choice.clone()),
                    _ => {
                        return Err(self.invalid(
                            &component.manifest.name,
                            format!("`[[choices]]` adds to `{key}`, which is not a choice or list"),
                        ));
                    }
                }
            }
        }
        for q in &mut questions {
            if let (Kind::Multi(_), Some(default)) = (&q.kind, &q.default) {
                // Options added by components that are not in this set drop out.
                let kept = match default {
                    Value::List(items) => items
                        .iter()
                        .filter(|i| q.choices().iter().any(|c| &c.value == *i))
                        .cloned()
                        .collect(),
                    _ => Vec::new(),
                };
                q.default = Some(Value::List(kept));
            }
        }
        Ok(Catalog::new(questions))
    }

    /// Checks what manifests and presets name against each other.
    fn check(&self) -> Result<()> {
        for component in self.components.values() {
            let m = &component.manifest;
            for needs in &m.depends_on {
                if !self.components.contains_key(needs) {
                    return Err(self.invalid(
                        &m.name,
                        format!("`depends_on` names `{needs}`, which this template set lacks"),
                    ));
                }
            }
            let conditions: Vec<&Condition> = m
                .selected_if
                .iter()
                .chain(m.questions.iter().flat_map(|q| &q.asked_if))
                .chain(m.files.iter().flat_map(|f| &f.only_if))
                .chain(m.fills.iter().flat_map(|f| &f.only_if))
                .collect();
            for condition in conditions {
                if self.catalog.get(&condition.key).is_none() {
                    return Err(self.invalid(
                        &m.name,
                        format!(
                            "a condition tests `{}`, which no question asks",
                            condition.key
                        ),
                    ));
                }
            }
        }
        for preset in self.presets.values() {
            for key in preset.values.keys() {
                if self.catalog.get(key).is_none() {
                    return Err(Error::TemplateSet {
                        path: self.origin.join(format!("presets/{}.toml", preset.name)),
                        message: format!("answer `{key}` is not a question of this template set"),
                    });
                }
            }
        }
        Ok(())
    }

    fn invalid(&self, component: &str, message: String) -> Error {
        Error::TemplateSet {
            path: self
                .origin
                .join(component_dir(component))
                .join("component.toml"),
            message,
        }
    }
}

/// A template set's files before parsing.
#[derive(Default)]
struct Raw {
    /// Per component, its files by path inside its folder.
    components: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Preset files by preset name.
    presets: BTreeMap<String, Vec<u8>>,
    /// `lock.json`, if the set has one.
    lock: Option<Vec<u8>>,
}

impl Raw {
    /// Files `rel` (a path inside the template set) away.
    fn add(&mut self, rel: &str, bytes: Vec<u8>) {
        if rel == "lock.json" {
            self.lock = Some(bytes);
        } else if let Some(name) = rel
            .strip_prefix("presets/")
            .and_then(|n| n.strip_suffix(".toml"))
            .filter(|n| !n.contains('/'))
        {
            self.presets.insert(name.to_owned(), bytes);
        } else if let Some((component, path)) = split_component(rel) {
            self.components
                .entry(component)
                .or_default()
                .insert(path, bytes);
        }
    }
}

/// Builds each component from its files, parsing the manifests on every core:
/// parsing them is most of loading a set. The first error in name order wins.
fn parse_components(
    origin: &Path,
    raw: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
) -> Result<BTreeMap<String, Component>> {
    let manifest_size = |(_, entries): &(String, BTreeMap<String, Vec<u8>>)| {
        entries.get("component.toml").map_or(0, Vec::len)
    };
    crate::parallel::map(
        raw.into_iter().collect(),
        manifest_size,
        |(name, entries)| {
            let parsed = component(origin, &name, entries)?;
            Ok((name, parsed))
        },
    )
    .into_iter()
    .collect()
}

/// Component `name` from its files (paths inside its folder).
fn component(
    origin: &Path,
    name: &str,
    mut entries: BTreeMap<String, Vec<u8>>,
) -> Result<Component> {
    let fail = |message: String| Error::TemplateSet {
        path: origin.join(component_dir(name)),
        message,
    };
    let manifest_bytes = entries
        .remove("component.toml")
        .ok_or_else(|| fail("missing `component.toml`".into()))?;
    let manifest = parse_manifest(name, &manifest_bytes).map_err(fail)?;
    let (mut files, mut fills) = (BTreeMap::new(), BTreeMap::new());
    for (path, bytes) in entries {
        if let Some(file) = path.strip_prefix("files/") {
            files.insert(file.to_owned(), bytes);
        } else if let Some(fill) = path.strip_prefix("fills/") {
            fills.insert(fill.to_owned(), bytes);
        }
    }
    Ok(Component {
        manifest,
        files,
        fills,
    })
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

fn collect_embedded(dir: &Dir<'_>, raw: &mut Raw) {
    for file in dir.files() {
        let rel = file.path().to_string_lossy().replace('\\', "/");
        raw.add(&rel, file.contents().to_vec());
    }
    for sub in dir.dirs() {
        collect_embedded(sub, raw);
    }
}
