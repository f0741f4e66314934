//! One answer value, and its conversions to TOML and JSON.

use std::fmt;

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
