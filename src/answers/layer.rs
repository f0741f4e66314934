//! Sources of answers: `--set` arguments, answers files and presets, each a
//! [`Layer`] of unvalidated values with a label for messages.

use std::collections::BTreeMap;
use std::path::Path;

use super::Value;
use crate::error::{Error, Result};

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
        let values = values_of_toml(&text).map_err(fail)?;
        Ok(Layer {
            origin: format!("answers file `{}`", path.display()),
            explicit: true,
            values,
        })
    }

    /// The values of a preset.
    pub fn from_preset(preset: &Preset) -> Layer {
        Layer {
            origin: format!("preset `{}`", preset.name),
            explicit: false,
            values: preset.values.clone(),
        }
    }
}

/// The `key = value` pairs of a TOML document, at the top level or under
/// `[answers]`.
pub fn values_of_toml(text: &str) -> std::result::Result<BTreeMap<String, Value>, String> {
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("invalid TOML\n{}", e.to_string().trim_end()))?;
    let table = match doc.get("answers").and_then(|i| i.as_table_like()) {
        Some(t) => t,
        None => doc.as_table(),
    };
    let mut values = BTreeMap::new();
    for (key, item) in table.iter() {
        let value = item.as_value().and_then(Value::from_toml).ok_or_else(|| {
            format!("`{key}` must be a string, boolean, integer or list of strings")
        })?;
        values.insert(key.to_owned(), value);
    }
    Ok(values)
}

/// A named set of answers, declared by a template set (`presets/NAME.toml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preset {
    /// Its name, as typed after `--preset`.
    pub name: String,
    /// One line saying what it makes.
    pub summary: String,
    /// Whether it is the one offered first when asking interactively.
    pub recommended: bool,
    /// The answers it gives.
    pub values: BTreeMap<String, Value>,
}

impl Preset {
    /// Parses `presets/NAME.toml`: `summary`, optional `recommended`, and the
    /// answers under `[answers]`.
    pub fn parse(name: &str, text: &str) -> std::result::Result<Preset, String> {
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| format!("invalid TOML: {e}"))?;
        let summary = doc
            .get("summary")
            .and_then(|s| s.as_str())
            .ok_or("a preset needs a string `summary`")?
            .to_owned();
        let recommended = doc
            .get("recommended")
            .map(|r| r.as_bool().ok_or("`recommended` must be true or false"))
            .transpose()?
            .unwrap_or(false);
        if doc.get("answers").is_none_or(|a| !a.is_table_like()) {
            return Err("a preset needs an `[answers]` table".into());
        }
        Ok(Preset {
            name: name.to_owned(),
            summary,
            recommended,
            values: values_of_toml(text)?,
        })
    }
}
