//! The question list, as data.
//!
//! Each question has a key (the name used by `--set`, answers files and
//! `stanchion.toml`), a kind that says which values it accepts, a default, and a
//! condition saying when it applies. Sources of answers (flags, files, presets, the
//! terminal) all go through [`Question::parse`], so validation is written once.

use std::fmt;

use super::name::ProjectName;
use super::{Partial, Value};

/// What a question accepts.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Free text, checked by [`Question::parse`].
    Text,
    /// One of a fixed set of options.
    Choice(&'static [Choice]),
    /// Any subset of a fixed set of options.
    Multi(&'static [Choice]),
    /// Yes or no.
    Bool,
    /// A positive integer within bounds.
    Number { min: i64, max: i64 },
}

/// One option of a [`Kind::Choice`] or [`Kind::Multi`] question.
#[derive(Clone, Copy, Debug)]
pub struct Choice {
    /// The value stored in answers, e.g. `postgres`.
    pub value: &'static str,
    /// A short explanation shown next to it when prompting.
    pub help: &'static str,
}

/// When a question applies: a test on earlier answers, and its description.
pub type Condition = (fn(&Partial) -> bool, &'static str);

/// One question of `stanchion new`.
#[derive(Clone, Copy)]
pub struct Question {
    /// The answer key, e.g. `database`.
    pub key: &'static str,
    /// The prompt shown in the terminal.
    pub prompt: &'static str,
    /// Accepted values.
    pub kind: Kind,
    /// The default, if the question has one (only `name` has none).
    pub default: Option<fn() -> Value>,
    /// When the question applies, given the answers resolved before it, and a
    /// description of the condition for error messages.
    pub applies: Option<Condition>,
}

impl fmt::Debug for Question {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Question").field("key", &self.key).finish()
    }
}

impl Question {
    /// Whether this question applies given earlier answers.
    pub fn applies(&self, partial: &Partial) -> bool {
        self.applies.is_none_or(|(f, _)| f(partial))
    }

    /// The default value, if any.
    pub fn default_value(&self) -> Option<Value> {
        self.default.map(|f| f())
    }

    /// Checks `value` (from any source) against this question and normalises it.
    /// The error string says what is expected.
    pub fn parse(&self, value: &Value) -> Result<Value, String> {
        match (self.kind, value) {
            (Kind::Text, Value::Str(s)) => {
                if self.key == "name" {
                    ProjectName::new(s).map_err(|e| e.to_string())?;
                } else if s.contains(['\n', '"', '\\']) {
                    return Err("expected a single line without quotes or backslashes".into());
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
                out.sort_by_key(|v| choices.iter().position(|c| c.value == v));
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
            (Kind::Number { min, max }, Value::Int(n)) if (min..=max).contains(n) => {
                Ok(Value::Int(*n))
            }
            (Kind::Number { min, max }, Value::Int(_)) => {
                Err(format!("expected a whole number from {min} to {max}"))
            }
            (Kind::Number { min, max }, Value::Str(s)) => match s.trim().parse::<i64>() {
                Ok(n) => self.parse(&Value::Int(n)),
                Err(_) => Err(format!("expected a whole number from {min} to {max}")),
            },
            (kind, _) => Err(format!("expected {}", kind.describe())),
        }
    }

    /// The condition under which the question applies, for messages.
    pub fn condition(&self) -> &'static str {
        self.applies.map_or("always", |(_, c)| c)
    }
}

impl Kind {
    fn describe(&self) -> String {
        match self {
            Kind::Text => "text".into(),
            Kind::Choice(c) => format!("one of {}", list(c)),
            Kind::Multi(c) => format!("a list of {}", list(c)),
            Kind::Bool => "`true` or `false`".into(),
            Kind::Number { min, max } => format!("a whole number from {min} to {max}"),
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

const DATABASES: &[Choice] = &[
    Choice {
        value: "postgres",
        help: "PostgreSQL with a pooled writer and optional read replica",
    },
    Choice {
        value: "sqlite",
        help: "embedded SQLite file, no server needed",
    },
    Choice {
        value: "none",
        help: "no database",
    },
];

const CACHES: &[Choice] = &[
    Choice {
        value: "redis",
        help: "Redis, shared by every instance",
    },
    Choice {
        value: "memory",
        help: "in-process, per instance",
    },
    Choice {
        value: "none",
        help: "no application cache",
    },
];

const LIMITERS: &[Choice] = &[
    Choice {
        value: "redis",
        help: "Redis, holds across many instances",
    },
    Choice {
        value: "memory",
        help: "in-process, per instance",
    },
    Choice {
        value: "none",
        help: "no rate limiting",
    },
];

const AUTHS: &[Choice] = &[
    Choice {
        value: "jwt",
        help: "stateless JWT access and refresh tokens",
    },
    Choice {
        value: "none",
        help: "no authentication",
    },
];

/// Deploy files that can be generated.
pub const DEPLOY: &[Choice] = &[
    Choice {
        value: "docker",
        help: "Dockerfile and docker-compose.yml",
    },
    Choice {
        value: "kubernetes",
        help: "Deployment, Service, HPA and PodDisruptionBudget manifests",
    },
    Choice {
        value: "ci",
        help: "GitHub Actions workflow: fmt, clippy, tests",
    },
];

fn rate_limited(p: &Partial) -> bool {
    p.str("rate_limit").is_some_and(|v| v != "none")
}

/// Accounts live in the database, so authentication needs one.
fn has_database(p: &Partial) -> bool {
    p.str("database").is_some_and(|v| v != "none")
}

/// Every question, in the order they are asked.
pub static QUESTIONS: &[Question] = &[
    Question {
        key: "name",
        prompt: "Project name",
        kind: Kind::Text,
        default: None,
        applies: None,
    },
    Question {
        key: "description",
        prompt: "Description",
        kind: Kind::Text,
        default: Some(|| Value::Str("A horizontally scalable HTTP API".into())),
        applies: None,
    },
    Question {
        key: "database",
        prompt: "Database",
        kind: Kind::Choice(DATABASES),
        default: Some(|| Value::Str("none".into())),
        applies: None,
    },
    Question {
        key: "read_replica",
        prompt: "Route reads to a read replica (DATABASE_READ_URL)?",
        kind: Kind::Bool,
        default: Some(|| Value::Bool(false)),
        applies: Some((
            |p| p.str("database") == Some("postgres"),
            "only when `database = postgres`",
        )),
    },
    Question {
        key: "cache",
        prompt: "Application cache",
        kind: Kind::Choice(CACHES),
        default: Some(|| Value::Str("none".into())),
        applies: None,
    },
    Question {
        key: "http_cache",
        prompt: "HTTP caching (Cache-Control, ETag, 304)?",
        kind: Kind::Bool,
        default: Some(|| Value::Bool(false)),
        applies: None,
    },
    Question {
        key: "rate_limit",
        prompt: "Rate limiting",
        kind: Kind::Choice(LIMITERS),
        default: Some(|| Value::Str("none".into())),
        applies: None,
    },
    Question {
        key: "rate_limit_max",
        prompt: "Requests allowed per client per window",
        kind: Kind::Number {
            min: 1,
            max: 1_000_000,
        },
        default: Some(|| Value::Int(100)),
        applies: Some((rate_limited, "only when `rate_limit` is not `none`")),
    },
    Question {
        key: "rate_limit_window_secs",
        prompt: "Rate limit window in seconds",
        kind: Kind::Number {
            min: 1,
            max: 86_400,
        },
        default: Some(|| Value::Int(900)),
        applies: Some((rate_limited, "only when `rate_limit` is not `none`")),
    },
    Question {
        key: "auth",
        prompt: "Authentication",
        kind: Kind::Choice(AUTHS),
        default: Some(|| Value::Str("none".into())),
        applies: Some((has_database, "only when `database` is not `none`")),
    },
    Question {
        key: "metrics",
        prompt: "Prometheus metrics at /metrics?",
        kind: Kind::Bool,
        default: Some(|| Value::Bool(false)),
        applies: None,
    },
    Question {
        key: "tracing",
        prompt: "Distributed tracing (OpenTelemetry OTLP)?",
        kind: Kind::Bool,
        default: Some(|| Value::Bool(false)),
        applies: None,
    },
    Question {
        key: "openapi",
        prompt: "OpenAPI document and docs page?",
        kind: Kind::Bool,
        default: Some(|| Value::Bool(false)),
        applies: None,
    },
    Question {
        key: "deploy",
        prompt: "Deploy files",
        kind: Kind::Multi(DEPLOY),
        default: Some(|| Value::List(vec!["docker".into(), "ci".into()])),
        applies: None,
    },
];

/// The question with this key.
pub fn question(key: &str) -> Option<&'static Question> {
    QUESTIONS.iter().find(|q| q.key == key)
}
