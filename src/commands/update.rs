//! `regen`, `diff`, `add` and `remove`: re-render an existing project and merge
//! with the user's edits.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::report;
use crate::answers::{self, Fallback, Layer};
use crate::cli::{AddArgs, DiffArgs, ProjectArgs, RegenArgs, RemoveArgs};
use crate::error::{Error, Result};
use crate::regen::{self, AddPrompter, Outcome, Project};
use crate::template::{self, TemplateSet};

/// Opens the project and the template set named by `args`.
fn open(args: &ProjectArgs) -> Result<(Project, TemplateSet)> {
    let start = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let project = Project::find(&start)?;
    let templates = TemplateSet::load(args.template_dir.as_deref())?;
    Ok((project, templates))
}

/// How a planned outcome is finished.
#[derive(Clone, Copy, Default)]
struct Finish {
    dry_run: bool,
    check: bool,
    json: bool,
}

/// Writes (or, for dry runs and checks, only shows) an outcome, and turns
/// conflicts — left in files, or that a real run would leave — into exit code 3.
fn finish(project: &Project, outcome: &Outcome, how: Finish) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let applied = !(how.check || how.dry_run);
    if applied && !outcome.is_noop() {
        regen::apply(project, outcome)?;
    }
    if how.dry_run && !how.json {
        report::diff(&mut out, outcome)?;
    }
    if how.json {
        report::json(&mut out, outcome, applied)?;
    } else {
        report::lines(&mut err, outcome, applied);
    }
    if how.check && !outcome.is_noop() {
        return Err(Error::WouldChange {
            count: outcome.plan.file_changes().count() + usize::from(outcome.record_changed),
        });
    }
    let conflicts: Vec<String> = outcome.plan.conflicts().map(|c| c.path.clone()).collect();
    if conflicts.is_empty() {
        Ok(())
    } else if applied {
        Err(Error::Conflicts { paths: conflicts })
    } else {
        Err(Error::WouldConflict { paths: conflicts })
    }
}

/// Regenerates every component with changed answers (`add`, `remove`): the
/// wiring files of other components change too. Says `done` once written.
fn rerender(
    project: &Project,
    templates: &TemplateSet,
    answers: answers::Answers,
    dry_run: bool,
    done: &str,
) -> Result<()> {
    let outcome = regen::prepare(project, templates, answers, &|_| true, false)?;
    finish(
        project,
        &outcome,
        Finish {
            dry_run,
            ..Finish::default()
        },
    )?;
    if !dry_run {
        eprintln!("{done}");
    }
    Ok(())
}

/// The components the answers select, by name.
fn selected(templates: &TemplateSet, answers: &answers::Answers) -> Result<BTreeSet<String>> {
    Ok(template::selected_names(templates, answers)?
        .into_iter()
        .collect())
}

/// Checks that each named component exists and belongs to the project.
fn check_in_project(
    templates: &TemplateSet,
    answers: &answers::Answers,
    names: &[String],
) -> Result<()> {
    regen::check_component_names(templates, names)?;
    let selected = selected(templates, answers)?;
    match names.iter().find(|n| !selected.contains(*n)) {
        Some(name) => Err(Error::NotInProject { name: name.clone() }),
        None => Ok(()),
    }
}

pub(crate) fn regen(args: &RegenArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let set = Layer::from_set_args(&args.set)?;
    let answers = project.answers(&templates, &[set])?;
    check_in_project(&templates, &answers, &args.components)?;
    for warning in answers.warnings().iter().filter(|_| !args.set.is_empty()) {
        eprintln!("warning: {warning}");
    }
    // A changed answer can touch any component's files (wiring, compose, CI).
    let everything = args.components.is_empty() || !args.set.is_empty();
    let scope = |c: &str| everything || args.components.iter().any(|n| n == c);
    let outcome = regen::prepare(&project, &templates, answers, &scope, args.restore)?;
    finish(
        &project,
        &outcome,
        Finish {
            dry_run: args.dry_run,
            check: args.check,
            json: args.json,
        },
    )
}

pub(crate) fn diff(args: &DiffArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let answers = project.answers(&templates, &[])?;
    check_in_project(&templates, &answers, &args.components)?;
    let scope = |c: &str| args.components.is_empty() || args.components.iter().any(|n| n == c);
    let outcome = regen::prepare(&project, &templates, answers, &scope, false)?;
    finish(
        &project,
        &outcome,
        Finish {
            dry_run: true,
            ..Finish::default()
        },
    )
}

pub(crate) fn add(args: &AddArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let name = args.component.as_str();
    regen::check_component_names(&templates, &[name.to_owned()])?;
    let current = project.answers(&templates, &[])?;
    let have = selected(&templates, &current)?;
    if have.contains(name) {
        eprintln!(
            "`{name}` is already part of the project; `stanchion regen {name}` brings it up to date"
        );
        return Ok(());
    }
    let component = &templates.components[name];
    if let Some(needs) = component
        .manifest
        .depends_on
        .iter()
        .find(|needs| !have.contains(*needs))
    {
        return Err(Error::NeedsComponent {
            name: name.to_owned(),
            needs: needs.clone(),
        });
    }
    let enabling = regen::enabling_answer(&templates, name, &current, None);
    let set = Layer::from_set_args(&args.set)?;
    let mut terminal = answers::tty::TerminalPrompter::new(super::color());
    let mut prompter = AddPrompter {
        inner: &mut terminal,
        enabling,
    };
    let fallback = if args.yes {
        Fallback::Defaults
    } else if super::interactive() {
        Fallback::Ask(&mut prompter)
    } else {
        Fallback::Fail
    };
    let answers = regen::answers_for_add(&project, &templates, name, &set, fallback)?;
    if !selected(&templates, &answers)?.contains(name) {
        let how = format!(": it is selected when {}", component.manifest.selection());
        return Err(Error::NotSelected {
            name: name.to_owned(),
            how,
        });
    }
    for warning in answers.warnings() {
        eprintln!("warning: {warning}");
    }
    rerender(
        &project,
        &templates,
        answers,
        args.dry_run,
        &format!("added `{name}`"),
    )
}

pub(crate) fn remove(args: &RemoveArgs) -> Result<()> {
    let (project, templates) = open(&args.project)?;
    let name = args.component.as_str();
    let current = project.answers(&templates, &[])?;
    check_in_project(&templates, &current, &[name.to_owned()])?;
    if name == "base" {
        return Err(Error::BaseRequired);
    }
    for other in selected(&templates, &current)? {
        let needs = templates
            .components
            .get(&other)
            .is_some_and(|c| c.manifest.depends_on.iter().any(|d| d == name));
        if needs {
            return Err(Error::RequiredBy {
                name: name.to_owned(),
                needed_by: other,
            });
        }
    }
    let (key, value) = regen::disabling_answer(&templates, name, &current).ok_or_else(|| {
        Error::FollowsAnswers {
            name: name.to_owned(),
            how: templates.components[name].manifest.selection(),
        }
    })?;
    let layer = Layer {
        origin: format!("`stanchion remove {name}`"),
        explicit: true,
        values: [(key, value)].into(),
    };
    let answers = project.answers(&templates, &[layer])?;
    rerender(
        &project,
        &templates,
        answers,
        args.dry_run,
        &format!("removed `{name}`"),
    )
}
