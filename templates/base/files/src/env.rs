//! The environment reader every module reads its settings through.
//!
//! [`Env`] reads variables through a lookup function (the process environment
//! at start-up, a list of values in tests) and collects every problem instead of
//! stopping at the first, so a single [`ConfigError`] reports all of them and
//! one restart is enough to fix them. An empty value counts as unset, which is
//! what a blank line such as `PORT=` in `.env` means to most people.
//!
//! Each module owns its settings — `DatabaseConfig::from_env(&mut env)` lives in
//! the database module — so this module knows of none of them, and no module
//! needs another's to read its own.

use std::fmt;

/// One or more environment variables hold invalid values.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every invalid variable, in the order they were read.
    pub invalid: Vec<InvalidVar>,
}

/// An environment variable whose value could not be used.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidVar {
    /// The variable's name, such as `PORT`.
    pub name: &'static str,
    /// The value it held; empty when a required variable is unset.
    pub value: String,
    /// What was expected instead.
    pub reason: String,
}

impl fmt::Display for InvalidVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            return write!(f, "{} is required: {}", self.name, self.reason);
        }
        write!(
            f,
            "invalid value `{}` for {}: {}",
            self.value, self.name, self.reason
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.invalid.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} environment variables are invalid:", many.len())?;
                for var in many {
                    write!(f, "\n  - {var}")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads variables through a lookup function and collects every problem.
pub struct Env<F> {
    lookup: F,
    invalid: Vec<InvalidVar>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// A reader of the variables `lookup` returns (`None`: unset).
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            invalid: Vec::new(),
        }
    }

    /// The parsed value of `name`, or `default` when it is unset or blank. An invalid
    /// value is recorded and `default` returned, so reading can go on.
    pub fn parse<T>(
        &mut self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        let Some(value) = self.value(name) else {
            return default;
        };
        parse(&value).unwrap_or_else(|reason| {
            self.invalid(name, &value, reason);
            default
        })
    }

    /// The trimmed value of `name`, or `None` when it is unset or blank, for
    /// values that need more than [`Env::parse`], such as secrets.
    pub fn value(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|raw| raw.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Records that `name` is invalid. Pass an empty `value` for a required
    /// variable that is unset, and never the value of a secret.
    pub fn invalid(&mut self, name: &'static str, value: &str, reason: String) {
        self.invalid.push(InvalidVar {
            name,
            value: value.to_owned(),
            reason,
        });
    }

    /// Every problem recorded, as one error.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.invalid.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                invalid: self.invalid,
            })
        }
    }
}

/// A lookup over a list of values, as [`read_vars`] gives one.
pub type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads settings with `read` from `vars` alone (everything else unset): how
/// tests and tools read one module's settings without the process environment.
pub fn read_vars<'a, T>(
    vars: &'a [(&'a str, &'a str)],
    read: impl FnOnce(&mut Env<Lookup<'a>>) -> T,
) -> Result<T, ConfigError> {
    let mut env: Env<Lookup<'a>> = Env::new(Box::new(move |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }));
    let settings = read(&mut env);
    env.finish().map(|()| settings)
}

/// Parses a whole number of `unit`s that is at least `min`.
pub fn parse_at_least(value: &str, min: u64, unit: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("expected a whole number of {unit}, at least {min}")),
    }
}

/// Parses `true`/`false` (or `1`/`0`, `yes`/`no`, `on`/`off`).
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected `true` or `false`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_unset_and_problems_are_collected() {
        let read = |env: &mut Env<Lookup<'_>>| {
            (
                env.parse("A", 1, |v| v.parse().map_err(|_| "a number".into())),
                env.parse("B", 2, |v| v.parse().map_err(|_| "a number".into())),
                env.parse("C", 3, |v| v.parse::<u8>().map_err(|_| "a number".into())),
            )
        };
        assert_eq!(read_vars(&[("A", " "), ("B", " 5 ")], read), Ok((1, 5, 3)));
        let err = read_vars(&[("A", "x"), ("C", "y")], read).unwrap_err();
        let names: Vec<_> = err.invalid.iter().map(|v| v.name).collect();
        assert_eq!(names, ["A", "C"]);
        assert!(
            err.to_string()
                .starts_with("2 environment variables are invalid:")
        );
    }

    #[test]
    fn numbers_and_booleans_are_checked() {
        assert_eq!(parse_at_least("3", 1, "seconds"), Ok(3));
        assert!(parse_at_least("0", 1, "seconds").is_err());
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert!(parse_bool("maybe").is_err());
    }
}
