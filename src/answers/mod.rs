//! Answers: what the user chose, and how it is resolved.
//!
//! Answers come from layered sources in a fixed precedence — `--set` (and the NAME
//! argument), then `--answers FILE`, then `--preset`, then the terminal, then the
//! defaults — and are resolved question by question, so a question that does not
//! apply (a read replica without PostgreSQL) is never asked. The questions are
//! data (a [`Catalog`] gathered from the components' manifests), and prompting is
//! one more source behind the [`Prompter`] trait: rendering never knows where an
//! answer came from, and tests answer without a terminal.

mod layer;
mod name;
mod questions;
pub mod tty;
mod value;

pub use layer::{Layer, Preset, values_of_toml};
pub use name::ProjectName;
pub use questions::{Catalog, Choice, Condition, Kind, Question, Test, Validator};
pub use value::Value;

use crate::error::{Error, Result, closest};

/// Answers resolved so far, in the order their questions were resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partial(Vec<(String, Value)>);

impl Partial {
    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The answer to `key` if it is text or a choice.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The answer to `key` if it is a yes/no.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The answer to `key` if it is a number.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// The answer to `key` if it is a list.
    pub fn list(&self, key: &str) -> Option<&[String]> {
        match self.get(key) {
            Some(Value::List(items)) => Some(items),
            _ => None,
        }
    }

    /// Sets `key`, keeping its place if it was set before.
    pub fn insert(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// Answers in the order the questions were asked.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
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

/// Resolves every applicable question of `catalog` from `layers` (highest
/// precedence first), then `fallback`.
pub fn resolve(catalog: &Catalog, layers: &[Layer], fallback: Fallback<'_>) -> Result<Answers> {
    let mut fallback = fallback;
    let mut parsed: Vec<(&Layer, Partial)> = Vec::new();
    for layer in layers {
        let mut values = Partial::default();
        for (key, raw) in &layer.values {
            let q = catalog.get(key).ok_or_else(|| Error::UnknownAnswer {
                key: key.clone(),
                origin: layer.origin.clone(),
                suggestion: closest(key, catalog.keys()),
            })?;
            let value = q.parse(raw).map_err(|expected| match (&q.kind, raw) {
                // The name's own error says more than "invalid answer".
                (Kind::Text(Validator::PackageName), Value::Str(name)) => {
                    ProjectName::new(name).expect_err("parse rejected it")
                }
                _ => Error::InvalidAnswer {
                    key: key.clone(),
                    value: raw.to_string(),
                    origin: layer.origin.clone(),
                    expected,
                },
            })?;
            values.insert(&q.key, value);
        }
        parsed.push((layer, values));
    }

    let mut partial = Partial::default();
    let mut missing = Vec::new();
    for q in catalog.iter() {
        if !q.applies(&partial) {
            if let Some((layer, _)) = parsed
                .iter()
                .find(|(l, v)| l.explicit && v.get(&q.key).is_some())
            {
                return Err(Error::AnswerNotApplicable {
                    key: q.key.clone(),
                    origin: layer.origin.clone(),
                    reason: format!("it is asked {}", q.condition()),
                });
            }
            continue;
        }
        let given = parsed.iter().find_map(|(_, v)| v.get(&q.key)).cloned();
        let value = match (given, &mut fallback) {
            (Some(v), _) => v,
            (None, Fallback::Ask(prompter)) => {
                let value = prompter.ask(q, q.default.clone())?;
                q.parse(&value).map_err(|expected| Error::InvalidAnswer {
                    key: q.key.clone(),
                    value: value.to_string(),
                    origin: "the terminal".into(),
                    expected,
                })?
            }
            (None, Fallback::Defaults) => match &q.default {
                Some(v) => v.clone(),
                None => {
                    missing.push(q.key.clone());
                    continue;
                }
            },
            (None, Fallback::Fail) => {
                missing.push(q.key.clone());
                continue;
            }
        };
        partial.insert(&q.key, value);
    }
    match missing.as_slice() {
        [] => Answers::new(catalog, partial),
        [only] if only == "name" => Err(Error::MissingName),
        _ => Err(Error::MissingAnswers { keys: missing }),
    }
}

/// The complete, validated answers for one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    /// The project (package) name.
    pub name: ProjectName,
    /// One-line description.
    pub description: String,
    /// Every applicable answer as resolved, for the record and templates.
    values: Partial,
    /// Every key the catalog knows, applicable or not: a recorded answer to one
    /// of these that no longer applies is dropped from the record.
    known: Vec<String>,
    /// What the chosen options warn about.
    warnings: Vec<String>,
}

impl Answers {
    /// Builds the answers from fully resolved values of `catalog`'s questions.
    pub fn new(catalog: &Catalog, values: Partial) -> Result<Answers> {
        let name = ProjectName::new(values.str("name").ok_or(Error::MissingName)?)?;
        let warnings = values
            .iter()
            .filter_map(|(key, value)| {
                let warning = catalog.get(key)?.warning(value)?;
                Some(format!("`{key} = {value}`: {warning}"))
            })
            .collect();
        Ok(Answers {
            name,
            description: values.str("description").unwrap_or_default().to_owned(),
            values,
            known: catalog.keys().map(str::to_owned).collect(),
            warnings,
        })
    }

    /// Every applicable answer, in question order.
    pub fn values(&self) -> &Partial {
        &self.values
    }

    /// Whether `key` is a question these answers were resolved against.
    pub fn knows(&self, key: &str) -> bool {
        self.known.iter().any(|k| k == key)
    }

    /// Things the user should know about these answers.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests;
