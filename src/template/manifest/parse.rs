//! Reading a `component.toml`: serde structures that mirror the file, checked
//! and turned into the typed [`Manifest`].

use serde::Deserialize;

use super::{DEFAULT_ORDER, EnvVar, FileRule, Fill, FillText, Manifest};
use crate::answers::{Choice, Condition, Kind, Question, Test, Validator, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    summary: String,
    #[serde(default)]
    order: Option<i64>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    selected_if: Option<RawConditions>,
    #[serde(default)]
    questions: Vec<RawQuestion>,
    #[serde(default)]
    choices: Vec<RawContributedChoice>,
    #[serde(default)]
    env: Vec<RawEnv>,
    #[serde(default)]
    fills: Vec<RawFill>,
    #[serde(default)]
    files: Vec<RawFileRule>,
    #[serde(default)]
    moved: Vec<super::moved::RawMove>,
    #[serde(default)]
    services_command: Option<String>,
    // Read with their comments by `table_of`; named here so that they are known.
    #[serde(default, rename = "dependencies")]
    _dependencies: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "dev-dependencies")]
    _dev_dependencies: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "profile")]
    _profile: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    key: String,
    #[serde(default)]
    is: Option<RawValue>,
    #[serde(default)]
    not: Option<RawValue>,
    #[serde(default)]
    contains: Option<String>,
}

/// An answer value as written in TOML.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawValue {
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<String>),
}

/// One condition or a list of them (all must hold).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawConditions {
    One(RawCondition),
    All(Vec<RawCondition>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    key: String,
    prompt: String,
    #[serde(default)]
    help: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    default: Option<RawValue>,
    #[serde(default)]
    choices: Vec<RawChoice>,
    #[serde(default)]
    min: Option<i64>,
    #[serde(default)]
    max: Option<i64>,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default)]
    asked_if: Option<RawConditions>,
    #[serde(default)]
    order: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChoice {
    value: String,
    #[serde(default)]
    help: String,
    #[serde(default)]
    warning: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContributedChoice {
    question: String,
    value: String,
    #[serde(default)]
    help: String,
    #[serde(default)]
    warning: Option<String>,
    /// Part of the question's default.
    #[serde(default)]
    default: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    name: String,
    #[serde(default)]
    default: String,
    doc: String,
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    generate_bytes: Option<usize>,
    #[serde(default)]
    service: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFill {
    slot: String,
    #[serde(default)]
    order: Option<i64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    when: Vec<String>,
    #[serde(default, rename = "if")]
    only_if: Option<RawConditions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileRule {
    path: String,
    #[serde(default, rename = "if")]
    only_if: Option<RawConditions>,
    #[serde(default)]
    to: Option<String>,
}

pub(super) fn parse_toml(dir_name: &str, text: &str) -> Result<Manifest, String> {
    let invalid = |e: &dyn std::fmt::Display| {
        format!("invalid `component.toml`: {}", e.to_string().trim_end())
    };
    // Parsed once, for the typed fields and the dependency tables alike; only
    // an error is worth a second parse, which locates it in the text.
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| invalid(&e))?;
    // The tables serde would drop the comments of, taken before the document
    // goes to serde (cloning it whole cost more than parsing it).
    let (dependencies, dev_dependencies, profile) = (
        table_of(&doc, "dependencies")?,
        table_of(&doc, "dev-dependencies")?,
        table_of(&doc, "profile")?,
    );
    let raw: RawManifest = toml_edit::de::from_document(doc).map_err(|e| {
        match toml_edit::de::from_str::<RawManifest>(text) {
            Err(located) => invalid(&located),
            Ok(_) => invalid(&e),
        }
    })?;
    if raw.name != dir_name {
        return Err(format!(
            "`component.toml` names `{}` but the folder is `{dir_name}`",
            raw.name
        ));
    }
    let is_base = dir_name == "base";
    let selected_if = conditions(raw.selected_if)?;
    if selected_if.is_empty() && !is_base {
        return Err("`selected_if` is required: which answer selects this component?".into());
    }
    let question_order = raw
        .questions
        .iter()
        .filter_map(|q| Some((q.key.clone(), q.order?)))
        .collect();
    let questions = raw
        .questions
        .into_iter()
        .map(|q| question(dir_name, q))
        .collect::<Result<Vec<_>, _>>()?;
    let choices = raw
        .choices
        .into_iter()
        .map(|c| {
            (
                c.question,
                Choice {
                    value: c.value,
                    help: c.help,
                    warning: c.warning,
                },
                c.default,
            )
        })
        .collect();
    let env = raw
        .env
        .into_iter()
        .map(|e| EnvVar {
            name: e.name,
            default: e.default,
            doc_lines: e.doc.trim().lines().map(str::to_owned).collect(),
            doc_line: e.doc.split_whitespace().collect::<Vec<_>>().join(" "),
            doc: e.doc.trim().to_owned(),
            secret: e.secret,
            required: e.required,
            generate_bytes: e.generate_bytes,
            service: e.service,
            component: dir_name.to_owned(),
        })
        .collect();
    let fills = raw
        .fills
        .into_iter()
        .map(|f| {
            let text = match (f.text, f.file) {
                (Some(text), None) => FillText::Inline(text),
                (None, Some(file)) => FillText::File(file),
                _ => {
                    return Err(format!(
                        "fill of slot `{}` needs exactly one of `text` and `file`",
                        f.slot
                    ));
                }
            };
            Ok(Fill {
                slot: f.slot,
                order: f.order.unwrap_or(DEFAULT_ORDER),
                text,
                when: f.when,
                only_if: conditions(f.only_if)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let files = raw
        .files
        .into_iter()
        .map(|f| {
            Ok(FileRule {
                path: f.path,
                only_if: conditions(f.only_if)?,
                to: f.to,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Manifest {
        name: raw.name,
        summary: raw.summary,
        order: raw.order.unwrap_or(if is_base { 0 } else { DEFAULT_ORDER }),
        depends_on: raw.depends_on,
        selected_if,
        questions,
        choices,
        question_order,
        env,
        fills,
        files,
        moved: super::moved::moves(raw.moved)?,
        services_command: raw.services_command,
        dependencies,
        dev_dependencies,
        profile,
        template: None,
    })
}

/// A dependency table of the manifest, with its comments (serde drops them).
fn table_of(doc: &toml_edit::DocumentMut, key: &str) -> Result<toml_edit::Table, String> {
    match doc.get(key) {
        None => Ok(toml_edit::Table::new()),
        Some(item) => item
            .as_table()
            .cloned()
            .ok_or_else(|| format!("`[{key}]` must be a table")),
    }
}

fn value_of(raw: RawValue) -> Value {
    match raw {
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(n) => Value::Int(n),
        RawValue::Str(s) => Value::Str(s),
        RawValue::List(items) => Value::List(items),
    }
}

fn condition(raw: RawCondition) -> Result<Condition, String> {
    let fail = || {
        format!(
            "condition on `{}` needs exactly one of `is`, `not` and `contains`",
            raw.key
        )
    };
    let test = match (raw.is, raw.not, raw.contains.clone()) {
        (Some(v), None, None) => Test::Is(value_of(v)),
        (None, Some(v), None) => Test::Not(value_of(v)),
        (None, None, Some(item)) => Test::Contains(item),
        _ => return Err(fail()),
    };
    Ok(Condition { key: raw.key, test })
}

fn conditions(raw: Option<RawConditions>) -> Result<Vec<Condition>, String> {
    match raw {
        None => Ok(Vec::new()),
        Some(RawConditions::One(c)) => Ok(vec![condition(c)?]),
        Some(RawConditions::All(all)) => all.into_iter().map(condition).collect(),
    }
}

fn question(component: &str, raw: RawQuestion) -> Result<Question, String> {
    let key = raw.key.clone();
    let fail = |m: &str| format!("question `{key}`: {m}");
    let choices = || -> Vec<Choice> {
        raw.choices
            .iter()
            .map(|c| Choice {
                value: c.value.clone(),
                help: c.help.clone(),
                warning: c.warning.clone(),
            })
            .collect()
    };
    let kind = match raw.kind.as_str() {
        "bool" => Kind::Bool,
        "string" => Kind::Text(match raw.validate.as_deref() {
            None | Some("line") => Validator::Line,
            Some("package-name") => Validator::PackageName,
            Some(other) => {
                return Err(fail(&format!(
                    "unknown `validate = \"{other}\"`; use `line` or `package-name`"
                )));
            }
        }),
        "int" => Kind::Int {
            min: raw.min.unwrap_or(i64::MIN),
            max: raw.max.unwrap_or(i64::MAX),
        },
        "choice" => Kind::Choice(choices()),
        "list" => Kind::Multi(choices()),
        other => {
            return Err(fail(&format!(
                "unknown `type = \"{other}\"`; use bool, choice, int, string or list"
            )));
        }
    };
    let mut q = Question {
        key: raw.key,
        prompt: raw.prompt,
        help: raw.help,
        kind,
        default: None,
        asked_if: conditions(raw.asked_if).map_err(|m| fail(&m))?,
        component: component.to_owned(),
    };
    if let Some(default) = raw.default {
        let default = value_of(default);
        // A list question's options may come from other components, so its
        // default is checked once the catalog is complete.
        q.default = Some(match q.kind {
            Kind::Multi(_) => default,
            _ => q
                .parse(&default)
                .map_err(|m| fail(&format!("invalid default: {m}")))?,
        });
    }
    Ok(q)
}
