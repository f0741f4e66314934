//! Answers: the typed model of what the user chose, and how it is resolved.
//!
//! Answers come from layered sources in a fixed precedence — `--set` (and the NAME
//! argument), then `--answers FILE`, then `--preset`, then the terminal, then the
//! defaults — and are resolved question by question, so a question that does not
//! apply (a read replica without PostgreSQL) is never asked. Prompting is just one
//! more source behind the [`Prompter`] trait: rendering never knows where an answer
//! came from, and tests answer without a terminal.

mod name;
mod questions;
pub mod tty;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use name::ProjectName;
pub use questions::{Choice, DEPLOY, Kind, QUESTIONS, Question, question};

use crate::error::{Error, Result, closest};

/// One answer value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Text or a choice.
    Str(String),
    /// Yes or no.
    Bool(bool),
    /// A number.
    Int(i64),
    /// A set of choices.
    List(Vec<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::List(items) => write!(f, "[{}]", items.join(", ")),
        }
    }
}

impl Value {
    /// Converts a TOML value (from an answers file or `stanchion.toml`).
    pub fn from_toml(value: &toml_edit::Value) -> Option<Value> {
        Some(match value {
            toml_edit::Value::String(s) => Value::Str(s.value().clone()),
            toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
            toml_edit::Value::Integer(n) => Value::Int(*n.value()),
            toml_edit::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }

    /// Converts to a TOML value for `stanchion.toml`.
    pub fn to_toml(&self) -> toml_edit::Value {
        match self {
            Value::Str(s) => s.as_str().into(),
            Value::Bool(b) => (*b).into(),
            Value::Int(n) => (*n).into(),
            Value::List(items) => items.iter().map(String::as_str).collect(),
        }
    }

    /// Converts to JSON for the template context.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Str(s) => s.as_str().into(),
            Value::Bool(b) => (*b).into(),
            Value::Int(n) => (*n).into(),
            Value::List(items) => items.clone().into(),
        }
    }
}

/// Answers resolved so far, keyed by question key, in question order when iterated
/// through [`Partial::iter`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial(BTreeMap<String, Value>);

impl Partial {
    /// The answer to `key` if it is text or a choice.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The answer to `key` if it is a yes/no.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The answer to `key` if it is a number.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// The answer to `key` if it is a list.
    pub fn list(&self, key: &str) -> Option<&[String]> {
        match self.0.get(key) {
            Some(Value::List(items)) => Some(items),
            _ => None,
        }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Sets `key`.
    pub fn insert(&mut self, key: &str, value: Value) {
        self.0.insert(key.to_owned(), value);
    }

    /// Answers in the order the questions are asked.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        QUESTIONS
            .iter()
            .filter_map(|q| self.0.get(q.key).map(|v| (q.key, v)))
    }
}

/// A named set of answers for the component questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// PostgreSQL with a read replica, Redis cache and rate limiting, JWT, metrics,
    /// tracing, OpenAPI, Docker, Kubernetes and CI.
    Full,
    /// SQLite and in-memory backends: everything that needs no server.
    Local,
    /// The base service only: no database, cache, limiter or auth.
    Minimal,
}

impl Preset {
    /// The preset's name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Full => "full",
            Preset::Local => "local",
            Preset::Minimal => "minimal",
        }
    }

    /// The answers this preset gives.
    pub fn values(self) -> BTreeMap<String, Value> {
        let s = |v: &str| Value::Str(v.into());
        let list = |v: &[&str]| Value::List(v.iter().map(|s| (*s).to_owned()).collect());
        let (database, cache, limiter, auth, on, deploy): (_, _, _, _, _, &[&str]) = match self {
            Preset::Full => (
                "postgres",
                "redis",
                "redis",
                "jwt",
                true,
                &["docker", "kubernetes", "ci"],
            ),
            Preset::Local => ("sqlite", "memory", "memory", "jwt", true, &["docker", "ci"]),
            Preset::Minimal => ("none", "none", "none", "none", false, &["docker", "ci"]),
        };
        let mut values = BTreeMap::from([
            ("database".to_owned(), s(database)),
            ("read_replica".to_owned(), Value::Bool(self == Preset::Full)),
            ("cache".to_owned(), s(cache)),
            ("http_cache".to_owned(), Value::Bool(on)),
            ("rate_limit".to_owned(), s(limiter)),
            ("auth".to_owned(), s(auth)),
            ("metrics".to_owned(), Value::Bool(on)),
            ("tracing".to_owned(), Value::Bool(on)),
            ("openapi".to_owned(), Value::Bool(on)),
            ("deploy".to_owned(), list(deploy)),
        ]);
        if limiter != "none" {
            values.insert("rate_limit_max".into(), Value::Int(100));
            values.insert("rate_limit_window_secs".into(), Value::Int(900));
        }
        values
    }
}

/// One source of answers, with a label for error messages.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Where the values came from, e.g. "`--set`" or "answers file `a.toml`".
    pub origin: String,
    /// Whether the user named these values explicitly (then a value for a question
    /// that does not apply is an error rather than silently ignored).
    pub explicit: bool,
    /// The values, unvalidated.
    pub values: BTreeMap<String, Value>,
}

impl Layer {
    /// Parses `--set key=value` arguments.
    pub fn from_set_args(args: &[String]) -> Result<Layer> {
        let mut values = BTreeMap::new();
        for arg in args {
            let (key, value) = arg
                .split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .ok_or_else(|| Error::BadSetArgument { arg: arg.clone() })?;
            values.insert(key.trim().to_owned(), Value::Str(value.to_owned()));
        }
        Ok(Layer {
            origin: "`--set`".into(),
            explicit: true,
            values,
        })
    }

    /// Reads an answers file: a TOML document of `key = value` pairs, either at the
    /// top level or under an `[answers]` table (so a `stanchion.toml` works too).
    pub fn from_file(path: &Path) -> Result<Layer> {
        let fail = |message: String| Error::AnswersFile {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            fail(format!("invalid TOML\n{}", e.to_string().trim_end()))
        })?;
        let table = match doc.get("answers").and_then(|i| i.as_table_like()) {
            Some(t) => t,
            None => doc.as_table(),
        };
        let mut values = BTreeMap::new();
        for (key, item) in table.iter() {
            let value = item.as_value().and_then(Value::from_toml).ok_or_else(|| {
                fail(format!(
                    "`{key}` must be a string, boolean, integer or list of strings"
                ))
            })?;
            values.insert(key.to_owned(), value);
        }
        Ok(Layer {
            origin: format!("answers file `{}`", path.display()),
            explicit: true,
            values,
        })
    }

    /// The values of a preset.
    pub fn from_preset(preset: Preset) -> Layer {
        Layer {
            origin: format!("preset `{}`", preset.name()),
            explicit: false,
            values: preset.values(),
        }
    }
}

/// Asks one question; implemented by the terminal and by tests.
pub trait Prompter {
    /// Asks `question`, offering `default`, and returns a value that
    /// [`Question::parse`] accepts.
    fn ask(&mut self, question: &Question, default: Option<Value>) -> Result<Value>;

    /// Tells the user something between questions.
    fn note(&mut self, message: &str) {
        eprintln!("{message}");
    }
}

/// How to fill answers no layer gives.
pub enum Fallback<'a> {
    /// Use each question's default (`--yes`).
    Defaults,
    /// Ask on a terminal (or a test's scripted prompter).
    Ask(&'a mut dyn Prompter),
    /// Nothing: missing answers are an error.
    Fail,
}

/// Resolves every applicable question from `layers` (highest precedence first),
/// then `fallback`.
pub fn resolve(layers: &[Layer], fallback: Fallback<'_>) -> Result<Answers> {
    let mut fallback = fallback;
    let mut parsed: Vec<(&Layer, BTreeMap<&'static str, Value>)> = Vec::new();
    for layer in layers {
        let mut values = BTreeMap::new();
        for (key, raw) in &layer.values {
            let q = question(key).ok_or_else(|| Error::UnknownAnswer {
                key: key.clone(),
                origin: layer.origin.clone(),
                suggestion: closest(key, QUESTIONS.iter().map(|q| q.key)),
            })?;
            let value = q.parse(raw).map_err(|expected| match raw {
                // The name's own error says more than "invalid answer".
                Value::Str(name) if q.key == "name" => {
                    ProjectName::new(name).expect_err("parse rejected it")
                }
                _ => Error::InvalidAnswer {
                    key: key.clone(),
                    value: raw.to_string(),
                    origin: layer.origin.clone(),
                    expected,
                },
            })?;
            values.insert(q.key, value);
        }
        parsed.push((layer, values));
    }

    let mut partial = Partial::default();
    let mut missing = Vec::new();
    for q in QUESTIONS {
        if !q.applies(&partial) {
            if let Some((layer, _)) = parsed
                .iter()
                .find(|(l, v)| l.explicit && v.contains_key(q.key))
            {
                return Err(Error::AnswerNotApplicable {
                    key: q.key.into(),
                    origin: layer.origin.clone(),
                    reason: format!("it is asked {}", q.condition()),
                });
            }
            continue;
        }
        let given = parsed.iter().find_map(|(_, v)| v.get(q.key)).cloned();
        let value = match (given, &mut fallback) {
            (Some(v), _) => v,
            (None, Fallback::Ask(prompter)) => {
                let value = prompter.ask(q, q.default_value())?;
                q.parse(&value).map_err(|expected| Error::InvalidAnswer {
                    key: q.key.into(),
                    value: value.to_string(),
                    origin: "the terminal".into(),
                    expected,
                })?
            }
            (None, Fallback::Defaults) => match q.default_value() {
                Some(v) => v,
                None => {
                    missing.push(q.key);
                    continue;
                }
            },
            (None, Fallback::Fail) => {
                missing.push(q.key);
                continue;
            }
        };
        partial.insert(q.key, value);
    }
    match missing.as_slice() {
        [] => Answers::from_partial(partial),
        ["name"] => Err(Error::MissingName),
        _ => Err(Error::MissingAnswers {
            keys: missing.iter().map(|k| (*k).to_owned()).collect(),
        }),
    }
}

/// The components that answering `key` with `value` selects.
pub fn components_for(key: &str, value: &Value) -> Vec<String> {
    let one = |c: &str| vec![c.to_owned()];
    match (key, value) {
        ("database" | "cache" | "rate_limit" | "auth", Value::Str(v)) if v == "none" => vec![],
        ("database" | "cache" | "auth", Value::Str(_)) => one(key),
        ("rate_limit", Value::Str(_)) => one("rate-limit"),
        ("http_cache", Value::Bool(true)) => one("http-cache"),
        ("metrics" | "tracing" | "openapi", Value::Bool(true)) => one(key),
        ("deploy", Value::List(items)) => items.clone(),
        _ => vec![],
    }
}

/// A prompter that re-asks when the answer selects a component the template set
/// does not provide, so an interactive user learns it at once, not at the end.
pub struct OnlyAvailable<'a, F: Fn(&str) -> bool> {
    /// The prompter that asks.
    pub inner: &'a mut dyn Prompter,
    /// Whether a component is available.
    pub available: F,
}

impl<F: Fn(&str) -> bool> Prompter for OnlyAvailable<'_, F> {
    fn ask(&mut self, question: &Question, default: Option<Value>) -> Result<Value> {
        loop {
            let value = self.inner.ask(question, default.clone())?;
            let parsed = question.parse(&value).unwrap_or_else(|_| value.clone());
            let missing: Vec<String> = components_for(question.key, &parsed)
                .into_iter()
                .filter(|c| !(self.available)(c))
                .collect();
            if missing.is_empty() {
                return Ok(value);
            }
            self.inner.note(&format!(
                "component `{}` is not available yet in this template set; choose another answer",
                missing.join("`, `")
            ));
        }
    }

    fn note(&mut self, message: &str) {
        self.inner.note(message);
    }
}

/// A database choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    Postgres,
    Sqlite,
    None,
}

/// A backend for the cache or the rate limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Redis,
    Memory,
    None,
}

impl Backend {
    fn parse(s: &str) -> Backend {
        match s {
            "redis" => Backend::Redis,
            "memory" => Backend::Memory,
            _ => Backend::None,
        }
    }
}

/// Rate limiting settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Where counters live.
    pub backend: Backend,
    /// Requests allowed per client per window.
    pub max: i64,
    /// Window length in seconds.
    pub window_secs: i64,
}

/// The complete, validated answers for one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    /// The project (package) name.
    pub name: ProjectName,
    /// One-line description.
    pub description: String,
    /// Database choice.
    pub database: Database,
    /// Whether reads go to `DATABASE_READ_URL` when set.
    pub read_replica: bool,
    /// Application cache backend.
    pub cache: Backend,
    /// Cache-Control / ETag support.
    pub http_cache: bool,
    /// Rate limiting, if any.
    pub rate_limit: Option<RateLimit>,
    /// JWT auth.
    pub auth: bool,
    /// Prometheus metrics.
    pub metrics: bool,
    /// OpenTelemetry tracing.
    pub tracing: bool,
    /// OpenAPI document.
    pub openapi: bool,
    /// Deploy files chosen, in declared order.
    pub deploy: Vec<String>,
    /// Every applicable answer as resolved, for the record and templates.
    values: Partial,
}

impl Answers {
    /// Builds the typed answers from fully resolved values.
    pub fn from_partial(values: Partial) -> Result<Answers> {
        let text = |k: &str| values.str(k).unwrap_or_default().to_owned();
        let name = ProjectName::new(values.str("name").ok_or(Error::MissingName)?)?;
        let limiter = Backend::parse(&text("rate_limit"));
        Ok(Answers {
            name,
            description: text("description"),
            database: match text("database").as_str() {
                "postgres" => Database::Postgres,
                "sqlite" => Database::Sqlite,
                _ => Database::None,
            },
            read_replica: values.bool("read_replica").unwrap_or(false),
            cache: Backend::parse(&text("cache")),
            http_cache: values.bool("http_cache").unwrap_or(false),
            rate_limit: (limiter != Backend::None).then(|| RateLimit {
                backend: limiter,
                max: values.int("rate_limit_max").unwrap_or(100),
                window_secs: values.int("rate_limit_window_secs").unwrap_or(900),
            }),
            auth: values.str("auth") == Some("jwt"),
            metrics: values.bool("metrics").unwrap_or(false),
            tracing: values.bool("tracing").unwrap_or(false),
            openapi: values.bool("openapi").unwrap_or(false),
            deploy: values.list("deploy").unwrap_or_default().to_vec(),
            values,
        })
    }

    /// Every applicable answer, in question order.
    pub fn values(&self) -> &Partial {
        &self.values
    }

    /// The components these answers select, each with the answer key that selects
    /// it; `base` always comes first.
    pub fn components(&self) -> Vec<(String, &'static str)> {
        let mut out = vec![("base".to_owned(), "name")];
        for (key, value) in self.values.iter() {
            out.extend(components_for(key, value).into_iter().map(|c| (c, key)));
        }
        out
    }

    /// Things the user should know about these answers.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.cache == Backend::Memory {
            out.push("`cache = memory` keeps a separate cache in every instance: entries are not shared and invalidations do not reach other replicas; use `redis` when you run more than one instance".to_owned());
        }
        if self
            .rate_limit
            .is_some_and(|r| r.backend == Backend::Memory)
        {
            out.push("`rate_limit = memory` counts per instance: with N replicas a client gets N times the limit; use `redis` when you run more than one instance".to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(origin: &str, explicit: bool, pairs: &[(&str, Value)]) -> Layer {
        Layer {
            origin: origin.into(),
            explicit,
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    /// A prompter that answers from a script and records what it was asked.
    struct Scripted {
        answers: BTreeMap<&'static str, Value>,
        asked: Vec<&'static str>,
    }

    impl Prompter for Scripted {
        fn ask(&mut self, q: &Question, default: Option<Value>) -> Result<Value> {
            self.asked.push(q.key);
            Ok(self
                .answers
                .get(q.key)
                .cloned()
                .or(default)
                .expect("scripted answer"))
        }
    }

    #[test]
    fn precedence_is_set_then_file_then_preset_then_prompt_then_default() {
        let set = layer("`--set`", true, &[("database", s("sqlite"))]);
        let file = layer(
            "file",
            true,
            &[("database", s("postgres")), ("cache", s("memory"))],
        );
        let preset = Layer::from_preset(Preset::Full);
        let mut prompter = Scripted {
            answers: BTreeMap::from([("name", s("shop")), ("description", s("Shop API"))]),
            asked: vec![],
        };
        let answers = resolve(&[set, file, preset], Fallback::Ask(&mut prompter)).unwrap();
        assert_eq!(answers.database, Database::Sqlite, "--set beats the file");
        assert_eq!(answers.cache, Backend::Memory, "the file beats the preset");
        assert!(answers.auth, "the preset beats the prompt");
        assert_eq!(answers.description, "Shop API", "the prompt fills the rest");
        assert_eq!(prompter.asked, ["name", "description"]);

        let answers = resolve(
            &[layer("`--set`", true, &[("name", s("shop"))])],
            Fallback::Defaults,
        )
        .unwrap();
        assert_eq!(answers.description, "A horizontally scalable HTTP API");
        assert_eq!(answers.deploy, ["docker", "ci"]);
    }

    #[test]
    fn conditional_questions_are_asked_only_when_they_apply() {
        let mut prompter = Scripted {
            answers: BTreeMap::from([
                ("name", s("shop")),
                ("database", s("postgres")),
                ("rate_limit", s("none")),
            ]),
            asked: vec![],
        };
        let answers = resolve(&[], Fallback::Ask(&mut prompter)).unwrap();
        assert!(prompter.asked.contains(&"read_replica"));
        assert!(!prompter.asked.contains(&"rate_limit_max"));
        assert!(answers.values().get("rate_limit_max").is_none());

        let mut prompter = Scripted {
            answers: BTreeMap::from([
                ("name", s("shop")),
                ("database", s("sqlite")),
                ("rate_limit", s("redis")),
            ]),
            asked: vec![],
        };
        let answers = resolve(&[], Fallback::Ask(&mut prompter)).unwrap();
        assert!(!prompter.asked.contains(&"read_replica"));
        assert!(prompter.asked.contains(&"rate_limit_max"));
        assert!(prompter.asked.contains(&"rate_limit_window_secs"));
        assert_eq!(
            answers.rate_limit,
            Some(RateLimit {
                backend: Backend::Redis,
                max: 100,
                window_secs: 900
            })
        );
    }

    #[test]
    fn auth_is_asked_only_with_a_database() {
        let mut prompter = Scripted {
            answers: BTreeMap::from([("name", s("shop")), ("database", s("none"))]),
            asked: vec![],
        };
        let answers = resolve(&[], Fallback::Ask(&mut prompter)).unwrap();
        assert!(!prompter.asked.contains(&"auth"));
        assert!(!answers.auth);
        assert!(answers.values().get("auth").is_none());

        let mut prompter = Scripted {
            answers: BTreeMap::from([
                ("name", s("shop")),
                ("database", s("sqlite")),
                ("auth", s("jwt")),
            ]),
            asked: vec![],
        };
        let answers = resolve(&[], Fallback::Ask(&mut prompter)).unwrap();
        assert!(prompter.asked.contains(&"auth"));
        assert!(answers.auth);

        let set = layer("`--set`", true, &[("name", s("shop")), ("auth", s("jwt"))]);
        let err = resolve(&[set], Fallback::Defaults).unwrap_err();
        assert!(matches!(err, Error::AnswerNotApplicable { ref key, .. } if key == "auth"));
        assert!(
            err.to_string().contains("`database` is not `none`"),
            "{err}"
        );

        // A preset's auth without a database is dropped, not an error.
        let set = layer(
            "`--set`",
            true,
            &[("name", s("shop")), ("database", s("none"))],
        );
        let answers =
            resolve(&[set, Layer::from_preset(Preset::Full)], Fallback::Defaults).unwrap();
        assert!(!answers.auth);
    }

    #[test]
    fn explicit_answers_that_do_not_apply_are_errors_but_preset_ones_are_not() {
        let set = layer(
            "`--set`",
            true,
            &[
                ("name", s("shop")),
                ("database", s("sqlite")),
                ("read_replica", s("true")),
            ],
        );
        let err = resolve(&[set], Fallback::Defaults).unwrap_err();
        assert!(matches!(err, Error::AnswerNotApplicable { ref key, .. } if key == "read_replica"));

        let set = layer(
            "`--set`",
            true,
            &[
                ("name", s("shop")),
                ("description", s("Shop")),
                ("database", s("sqlite")),
            ],
        );
        let answers = resolve(&[set, Layer::from_preset(Preset::Full)], Fallback::Fail).unwrap();
        assert!(!answers.read_replica);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported_with_their_origin() {
        let err = resolve(
            &[layer("`--set`", true, &[("databse", s("none"))])],
            Fallback::Defaults,
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean `database`"), "{err}");

        let err = resolve(
            &[layer("`--set`", true, &[("database", s("mongo"))])],
            Fallback::Defaults,
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`postgres`, `sqlite`, `none`"), "{msg}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn missing_answers_without_a_terminal_name_every_key() {
        let set = layer("`--set`", true, &[("name", s("shop"))]);
        let err = resolve(&[set], Fallback::Fail).unwrap_err();
        let Error::MissingAnswers { keys } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(keys.first().map(String::as_str), Some("description"));
        assert!(err.to_string().contains("--yes"));
        assert!(matches!(
            resolve(&[], Fallback::Defaults),
            Err(Error::MissingName)
        ));
    }

    #[test]
    fn presets_select_the_components_they_promise() {
        let name = layer(
            "`--set`",
            true,
            &[("name", s("shop")), ("description", s("Shop"))],
        );
        let components = |p| {
            resolve(&[name.clone(), Layer::from_preset(p)], Fallback::Fail)
                .unwrap()
                .components()
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        };
        assert_eq!(components(Preset::Minimal), ["base", "docker", "ci"]);
        assert!(components(Preset::Local).contains(&"database".to_owned()));
        assert!(components(Preset::Full).contains(&"kubernetes".to_owned()));
    }

    #[test]
    fn list_answers_accept_comma_strings_and_are_normalised() {
        let q = question("deploy").unwrap();
        assert_eq!(
            q.parse(&s("ci, docker,docker")).unwrap(),
            Value::List(vec!["docker".into(), "ci".into()])
        );
        assert_eq!(q.parse(&s("none")).unwrap(), Value::List(vec![]));
        assert!(q.parse(&s("helm")).is_err());
    }
}
