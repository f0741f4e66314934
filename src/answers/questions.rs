//! The question model, as data.
//!
//! Questions are not written in Rust: each component's `component.toml` declares
//! its own (`[[questions]]`), and [`Catalog`] gathers them in asking order. A
//! question has a key (the name used by `--set`, answers files and
//! `stanchion.toml`), a [`Kind`] that says which values it accepts, a default,
//! and the [`Condition`]s under which it is asked. Every source of answers
//! (flags, files, presets, the terminal) goes through [`Question::parse`], so
//! validation is written once, and an answer is typed by its question's declared
//! kind rather than by a Rust field per component.

use std::fmt;

use super::Value;
use super::name::ProjectName;

/// What a question accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One line of text, checked by its validator.
    Text(Validator),
    /// One of a fixed set of options.
    Choice(Vec<Choice>),
    /// Any subset of a fixed set of options.
    Multi(Vec<Choice>),
    /// Yes or no.
    Bool,
    /// A whole number within bounds.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
}

/// How free text is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    /// One line, without quotes or backslashes (it is pasted into code and TOML).
    Line,
    /// A Cargo package name ([`ProjectName`]).
    PackageName,
}

/// One option of a [`Kind::Choice`] or [`Kind::Multi`] question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The value stored in answers, e.g. `postgres`.
    pub value: String,
    /// A short explanation shown next to it when prompting.
    pub help: String,
    /// Said to the user whenever this option is chosen (a trade-off to know of).
    pub warning: Option<String>,
}

/// A test on one earlier answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The answer tested.
    pub key: String,
    /// The test.
    pub test: Test,
}

/// What a [`Condition`] checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    /// The answer equals this value.
    Is(Value),
    /// The answer is given and differs from this value.
    Not(Value),
    /// The answer is a list holding this item.
    Contains(String),
}

impl Condition {
    /// Whether the condition holds for `answers`; an answer not given never
    /// satisfies it.
    pub fn holds(&self, answers: &super::Partial) -> bool {
        let Some(value) = answers.get(&self.key) else {
            return false;
        };
        match &self.test {
            Test::Is(v) => value == v,
            Test::Not(v) => value != v,
            Test::Contains(item) => matches!(value, Value::List(items) if items.contains(item)),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.test {
            Test::Is(Value::Bool(true)) => write!(f, "`{}` is true", self.key),
            Test::Is(v) => write!(f, "`{} = {v}`", self.key),
            Test::Not(v) => write!(f, "`{}` is not `{v}`", self.key),
            Test::Contains(item) => write!(f, "`{}` includes `{item}`", self.key),
        }
    }
}

/// One question of `stanchion new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The answer key, e.g. `database`.
    pub key: String,
    /// The prompt shown in the terminal.
    pub prompt: String,
    /// A longer explanation, for `--help`-like listings.
    pub help: String,
    /// Accepted values.
    pub kind: Kind,
    /// The default; a question without one must be answered.
    pub default: Option<Value>,
    /// Asked only when all of these hold for the answers before it.
    pub asked_if: Vec<Condition>,
    /// The component that declares it.
    pub component: String,
}

impl Question {
    /// Whether this question applies given earlier answers.
    pub fn applies(&self, partial: &super::Partial) -> bool {
        self.asked_if.iter().all(|c| c.holds(partial))
    }

    /// The condition under which the question applies, for messages.
    pub fn condition(&self) -> String {
        if self.asked_if.is_empty() {
            return "always".into();
        }
        let all: Vec<String> = self.asked_if.iter().map(ToString::to_string).collect();
        format!("only when {}", all.join(" and "))
    }

    /// The options of a choice or multi-choice question.
    pub fn choices(&self) -> &[Choice] {
        match &self.kind {
            Kind::Choice(c) | Kind::Multi(c) => c,
            _ => &[],
        }
    }

    /// Checks `value` (from any source) against this question and normalises it.
    /// The error string says what is expected.
    pub fn parse(&self, value: &Value) -> Result<Value, String> {
        match (&self.kind, value) {
            (Kind::Text(validator), Value::Str(s)) => {
                match validator {
                    Validator::PackageName => {
                        ProjectName::new(s).map_err(|e| e.to_string())?;
                    }
                    Validator::Line if s.contains(['\n', '"', '\\']) => {
                        return Err("expected a single line without quotes or backslashes".into());
                    }
                    Validator::Line => {}
                }
                Ok(Value::Str(s.trim().to_owned()))
            }
            (Kind::Choice(choices), Value::Str(s)) => {
                let s = s.trim();
                if choices.iter().any(|c| c.value == s) {
                    Ok(Value::Str(s.to_owned()))
                } else {
                    Err(format!("expected one of {}", list(choices)))
                }
            }
            (Kind::Multi(choices), Value::List(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let item = item.trim();
                    if !choices.iter().any(|c| c.value == item) {
                        return Err(format!("`{item}` is not one of {}", list(choices)));
                    }
                    if !out.iter().any(|o| o == item) {
                        out.push(item.to_owned());
                    }
                }
                // Keep the declared order so equal answers look equal everywhere.
                out.sort_by_key(|v| choices.iter().position(|c| &c.value == v));
                Ok(Value::List(out))
            }
            // `--set deploy=docker,ci` arrives as a string.
            (Kind::Multi(_), Value::Str(s)) => {
                let items = s
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != "none")
                    .map(str::to_owned)
                    .collect();
                self.parse(&Value::List(items))
            }
            (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(*b)),
            (Kind::Bool, Value::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "n" | "off" | "0" => Ok(Value::Bool(false)),
                _ => Err("expected `true` or `false`".into()),
            },
            (Kind::Int { min, max }, Value::Int(n)) if (min..=max).contains(&n) => {
                Ok(Value::Int(*n))
            }
            (Kind::Int { min, max }, Value::Int(_)) => {
                Err(format!("expected a whole number from {min} to {max}"))
            }
            (Kind::Int { min, max }, Value::Str(s)) => match s.trim().parse::<i64>() {
                Ok(n) => self.parse(&Value::Int(n)),
                Err(_) => Err(format!("expected a whole number from {min} to {max}")),
            },
            (kind, _) => Err(format!("expected {}", kind.describe())),
        }
    }

    /// What choosing `value` warns about, if anything.
    pub fn warning(&self, value: &Value) -> Option<&str> {
        let chosen: Vec<&str> = match value {
            Value::Str(s) => vec![s.as_str()],
            Value::List(items) => items.iter().map(String::as_str).collect(),
            _ => return None,
        };
        self.choices()
            .iter()
            .filter(|c| chosen.contains(&c.value.as_str()))
            .find_map(|c| c.warning.as_deref())
    }
}

impl Kind {
    /// What the kind accepts, for messages.
    pub fn describe(&self) -> String {
        match self {
            Kind::Text(_) => "text".into(),
            Kind::Choice(c) => format!("one of {}", list(c)),
            Kind::Multi(c) => format!("a list of {}", list(c)),
            Kind::Bool => "`true` or `false`".into(),
            Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
        }
    }
}

fn list(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| format!("`{}`", c.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every question of a template set, in the order they are asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    questions: Vec<Question>,
}

impl Catalog {
    /// A catalog of `questions`, in asking order; keys must be unique.
    pub fn new(questions: Vec<Question>) -> Self {
        Catalog { questions }
    }

    /// The question with this key.
    pub fn get(&self, key: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.key == key)
    }

    /// The questions in asking order.
    pub fn iter(&self) -> impl Iterator<Item = &Question> {
        self.questions.iter()
    }

    /// Every key, in asking order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.questions.iter().map(|q| q.key.as_str())
    }
}
