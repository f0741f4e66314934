//! The terminal as a source of answers.
//!
//! This is the only module that knows about dialoguer. It turns a [`Question`] into
//! the matching widget — text input, select, confirm, multi-select — with the
//! default pre-selected and invalid input rejected inline by the same
//! [`Question::parse`] every other source uses.

use std::sync::Once;

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, MultiSelect, Select};

use super::{Kind, Prompter, Question, Value};
use crate::error::{Error, Result};

/// Asks questions on the controlling terminal (prompts go to stderr).
pub struct TerminalPrompter {
    theme: Box<dyn Theme>,
}

impl TerminalPrompter {
    /// A prompter that uses colour unless `color` is false (`NO_COLOR`).
    pub fn new(color: bool) -> Self {
        let theme: Box<dyn Theme> = if color {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        TerminalPrompter { theme }
    }
}

impl Prompter for TerminalPrompter {
    fn note(&mut self, message: &str) {
        let _ = console::Term::stderr().write_line(message);
    }

    fn ask(&mut self, q: &Question, default: Option<Value>) -> Result<Value> {
        // dialoguer hides the cursor while a list is shown; an interrupt would
        // otherwise leave the user's terminal without one.
        static HANDLER: Once = Once::new();
        HANDLER.call_once(|| {
            let _ = ctrlc::set_handler(|| {
                let _ = console::Term::stderr().show_cursor();
                std::process::exit(130);
            });
        });
        let theme = self.theme.as_ref();
        let failed = |e: dialoguer::Error| match e {
            dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => {
                Error::Interrupted
            }
            dialoguer::Error::IO(io) => Error::Prompt {
                key: q.key.clone(),
                source: io,
            },
        };
        let value = match &q.kind {
            Kind::Text(_) | Kind::Int { .. } => {
                let mut input = Input::<String>::with_theme(theme).with_prompt(&q.prompt);
                if let Some(d) = &default {
                    input = input.default(d.to_string());
                }
                let text = input
                    .validate_with(|s: &String| q.parse(&Value::Str(s.clone())).map(drop))
                    .interact_text()
                    .map_err(failed)?;
                Value::Str(text)
            }
            Kind::Choice(choices) => {
                let items: Vec<String> = choices
                    .iter()
                    .map(|c| format!("{:<9} {}", c.value, c.help))
                    .collect();
                let default_index = default
                    .as_ref()
                    .and_then(|d| choices.iter().position(|c| d.to_string() == c.value))
                    .unwrap_or(0);
                let index = Select::with_theme(theme)
                    .with_prompt(&q.prompt)
                    .items(&items)
                    .default(default_index)
                    .interact()
                    .map_err(failed)?;
                Value::Str(choices[index].value.clone())
            }
            Kind::Multi(choices) => {
                let chosen = match &default {
                    Some(Value::List(items)) => items.clone(),
                    _ => Vec::new(),
                };
                let items: Vec<(String, bool)> = choices
                    .iter()
                    .map(|c| {
                        (
                            format!("{:<11} {}", c.value, c.help),
                            chosen.contains(&c.value),
                        )
                    })
                    .collect();
                let picked = MultiSelect::with_theme(theme)
                    .with_prompt(format!("{} (space toggles, enter accepts)", q.prompt))
                    .items_checked(items)
                    .interact()
                    .map_err(failed)?;
                Value::List(
                    picked
                        .into_iter()
                        .map(|i| choices[i].value.clone())
                        .collect(),
                )
            }
            Kind::Bool => {
                let default = matches!(default, Some(Value::Bool(true)));
                let yes = Confirm::with_theme(theme)
                    .with_prompt(&q.prompt)
                    .default(default)
                    .interact()
                    .map_err(failed)?;
                Value::Bool(yes)
            }
        };
        Ok(value)
    }
}
