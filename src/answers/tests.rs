//! Resolution against the embedded template set's questions.

use std::collections::BTreeMap;

use super::*;
use crate::template::TemplateSet;

fn catalog() -> Catalog {
    TemplateSet::embedded().expect("embedded templates").catalog
}

fn preset(name: &str) -> Layer {
    Layer::from_preset(&TemplateSet::embedded().unwrap().presets[name])
}

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
    asked: Vec<String>,
}

impl Scripted {
    fn new(answers: &[(&'static str, Value)]) -> Self {
        Scripted {
            answers: answers.iter().cloned().collect(),
            asked: vec![],
        }
    }

    fn asked(&self, key: &str) -> bool {
        self.asked.iter().any(|k| k == key)
    }
}

impl Prompter for Scripted {
    fn ask(&mut self, q: &Question, default: Option<Value>) -> Result<Value> {
        self.asked.push(q.key.clone());
        Ok(self
            .answers
            .get(q.key.as_str())
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
    let mut prompter = Scripted::new(&[("name", s("shop")), ("description", s("Shop API"))]);
    let answers = resolve(
        &catalog(),
        &[set, file, preset("full")],
        Fallback::Ask(&mut prompter),
    )
    .unwrap();
    let values = answers.values();
    assert_eq!(
        values.str("database"),
        Some("sqlite"),
        "--set beats the file"
    );
    assert_eq!(
        values.str("cache"),
        Some("memory"),
        "the file beats the preset"
    );
    assert_eq!(
        values.str("auth"),
        Some("jwt"),
        "the preset beats the prompt"
    );
    assert_eq!(answers.description, "Shop API", "the prompt fills the rest");
    assert_eq!(prompter.asked, ["name", "description"]);

    let answers = resolve(
        &catalog(),
        &[layer("`--set`", true, &[("name", s("shop"))])],
        Fallback::Defaults,
    )
    .unwrap();
    assert_eq!(answers.description, "A horizontally scalable HTTP API");
    assert_eq!(answers.values().list("deploy").unwrap(), ["docker", "ci"]);
}

#[test]
fn conditional_questions_are_asked_only_when_they_apply() {
    let mut prompter = Scripted::new(&[
        ("name", s("shop")),
        ("database", s("postgres")),
        ("rate_limit", s("none")),
    ]);
    let answers = resolve(&catalog(), &[], Fallback::Ask(&mut prompter)).unwrap();
    assert!(prompter.asked("read_replica"));
    assert!(!prompter.asked("rate_limit_max"));
    assert!(answers.values().get("rate_limit_max").is_none());

    let mut prompter = Scripted::new(&[
        ("name", s("shop")),
        ("database", s("sqlite")),
        ("rate_limit", s("redis")),
    ]);
    let answers = resolve(&catalog(), &[], Fallback::Ask(&mut prompter)).unwrap();
    assert!(!prompter.asked("read_replica"));
    assert!(prompter.asked("rate_limit_max"));
    assert!(prompter.asked("rate_limit_window_secs"));
    assert_eq!(answers.values().int("rate_limit_max"), Some(100));
    assert_eq!(answers.values().int("rate_limit_window_secs"), Some(900));
}

#[test]
fn auth_is_asked_only_with_a_database() {
    let mut prompter = Scripted::new(&[("name", s("shop")), ("database", s("none"))]);
    let answers = resolve(&catalog(), &[], Fallback::Ask(&mut prompter)).unwrap();
    assert!(!prompter.asked("auth"));
    assert!(answers.values().get("auth").is_none());

    let set = layer("`--set`", true, &[("name", s("shop")), ("auth", s("jwt"))]);
    let err = resolve(&catalog(), &[set], Fallback::Defaults).unwrap_err();
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
    let answers = resolve(&catalog(), &[set, preset("full")], Fallback::Defaults).unwrap();
    assert!(answers.values().get("auth").is_none());
}

#[test]
fn unknown_keys_and_bad_values_are_reported_with_their_origin() {
    let err = resolve(
        &catalog(),
        &[layer("`--set`", true, &[("databse", s("none"))])],
        Fallback::Defaults,
    )
    .unwrap_err();
    assert!(err.to_string().contains("did you mean `database`"), "{err}");

    let err = resolve(
        &catalog(),
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
    let err = resolve(&catalog(), &[set], Fallback::Fail).unwrap_err();
    let Error::MissingAnswers { keys } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(keys.first().map(String::as_str), Some("description"));
    assert!(err.to_string().contains("--yes"));
    assert!(matches!(
        resolve(&catalog(), &[], Fallback::Defaults),
        Err(Error::MissingName)
    ));
}

#[test]
fn chosen_options_carry_their_warnings() {
    let set = layer(
        "`--set`",
        true,
        &[("name", s("shop")), ("cache", s("memory"))],
    );
    let answers = resolve(&catalog(), &[set], Fallback::Defaults).unwrap();
    assert_eq!(answers.warnings().len(), 1, "{:?}", answers.warnings());
    assert!(answers.warnings()[0].contains("every instance"));
}

#[test]
fn list_answers_accept_comma_strings_and_are_normalised() {
    let catalog = catalog();
    let q = catalog.get("deploy").unwrap();
    assert_eq!(
        q.parse(&s("ci, docker,docker")).unwrap(),
        Value::List(vec!["docker".into(), "ci".into()])
    );
    assert_eq!(q.parse(&s("none")).unwrap(), Value::List(vec![]));
    assert!(q.parse(&s("helm")).is_err());
}
