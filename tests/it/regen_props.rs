//! Property: regeneration never loses an edit.
//!
//! Generate a project (embedded templates, the minimal preset: base, docker and
//! ci), apply random line edits to some generated files — insert a unique line,
//! replace a line with a unique line, delete a line, `Cargo.toml` included —
//! change the templates the same way (in any component; `.hbs` sources only get
//! whole lines that hold no handlebars, so they stay valid), render again and
//! [`plan`] the regeneration. Then, for every file:
//!
//! - every line the user inserted is in the result, either outside conflict
//!   blocks or on the user's side of one (`<<<<<<< yours` … `=======`);
//! - every line the template inserted that reaches the new output is in the
//!   result too: nobody loses the template's change either;
//! - a file the user did not touch becomes the new output, and a file whose
//!   output did not change stays exactly as the user left it;
//! - a line the user deleted (one that occurs once in the old output and once in
//!   the new, so the template kept it) does not come back outside conflict
//!   blocks;
//! - a file is marked as a conflict exactly when it holds conflict markers
//!   (`Cargo.toml` can also conflict on a dependency entry, flagged by comment).
//!
//! Without conflicts, regenerating again from the result (its base copies,
//! record and files) with the same templates changes nothing.
//!
//! The old output is rendered once; each of the 1,000 cases renders only the
//! changed templates (see [`Fixture::render_changed`]) and plans. Failing cases
//! are not persisted to a regressions file: the failure message holds the shrunk
//! edits, as applied, and diffs of the file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestCaseResult, TestError, TestRunner};
use stanchion::answers::Answers;
use stanchion::project::sha256_hex;
use stanchion::regen::{Action, Recorded, Snapshot, plan};
use stanchion::template::{Rendered, TemplateSet, render};

use crate::support::preset_answers;

/// Prefix of every line a user edit writes.
const USER: &str = "# user edit ";
/// Prefix of every line a template edit writes.
const TEMPLATE: &str = "# template edit ";

/// How many cases: the issue asks for at least 1,000.
const CASES: u32 = 1000;

const OURS: &str = "<<<<<<< yours";
const SPLIT: &str = "=======";
const THEIRS: &str = ">>>>>>> stanchion";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Insert,
    Replace,
    Delete,
}

/// One line edit, resolved against whatever file it lands on.
#[derive(Clone, Debug)]
struct Edit {
    /// On one of the case's target files (else any file).
    focus: bool,
    /// Which target (when focused) or which file.
    which: Index,
    /// Offset from the target's anchor line (when focused); else `line` decides.
    near: Option<i32>,
    /// The line, when not placed near an anchor.
    line: Index,
    kind: Kind,
    /// Makes the new line's text vary.
    word: String,
}

/// One test case: a few target files both sides concentrate on, so their edits
/// meet (and sometimes collide), and the two lists of edits.
#[derive(Clone, Debug)]
struct Case {
    /// Index into the rendered template sources, and an anchor (per mille of the
    /// file's length) that edits placed `near` cluster around.
    targets: Vec<(Index, u16)>,
    user: Vec<Edit>,
    template: Vec<Edit>,
}

fn edit() -> impl Strategy<Value = Edit> {
    let kind = prop_oneof![
        2 => Just(Kind::Insert),
        1 => Just(Kind::Replace),
        1 => Just(Kind::Delete),
    ];
    (
        prop::bool::weighted(0.75),
        any::<Index>(),
        prop::option::weighted(0.6, -4i32..=4),
        any::<Index>(),
        kind,
        "[a-z]{1,6}",
    )
        .prop_map(|(focus, which, near, line, kind, word)| Edit {
            focus,
            which,
            near,
            line,
            kind,
            word,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((any::<Index>(), 0u16..=1000), 1..=3),
        prop::collection::vec(edit(), 1..=8),
        prop::collection::vec(edit(), 1..=6),
    )
        .prop_map(|(targets, user, template)| Case {
            targets,
            user,
            template,
        })
}

/// A template source file.
#[derive(Debug)]
struct Source {
    component: String,
    /// Path under the component's `files/`.
    path: String,
    /// The project file it renders to.
    output: String,
}

/// Everything that does not change between cases.
struct Fixture {
    set: TemplateSet,
    answers: Answers,
    v1: Rendered,
    /// Every template source, of every component.
    sources: Vec<Source>,
    /// Indices into `sources` of those the project renders (the targets).
    rendered: Vec<usize>,
    /// The project's files, in path order.
    paths: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        let set = TemplateSet::embedded().expect("embedded templates load");
        let answers = preset_answers("minimal", "prop-app").expect("minimal preset");
        let v1 = render(&set, &answers).expect("v1 renders");
        let sources: Vec<Source> = set
            .components
            .iter()
            .flat_map(|(name, component)| {
                // Line edits apply to text; a binary file (an icon) is copied
                // verbatim and never merged.
                let text = |bytes: &Vec<u8>| std::str::from_utf8(bytes).is_ok();
                component
                    .files
                    .iter()
                    .filter(move |(_, bytes)| text(bytes))
                    .map(move |(path, _)| Source {
                        component: name.clone(),
                        path: path.clone(),
                        output: path.strip_suffix(".hbs").unwrap_or(path).to_owned(),
                    })
            })
            .collect();
        let rendered = (0..sources.len())
            .filter(|&i| {
                v1.files
                    .get(&sources[i].output)
                    .is_some_and(|f| f.component == sources[i].component)
            })
            .collect();
        let paths = v1.files.keys().cloned().collect();
        Fixture {
            set,
            answers,
            v1,
            sources,
            rendered,
            paths,
        }
    }

    /// Renders `set`, which differs from the original only in the `changed`
    /// sources: those (and `Cargo.toml`, assembled from every manifest) are
    /// rendered, every other file is as before. Rendering is per file, so this is
    /// the full render of `set`, at a fraction of the cost of a debug build's
    /// handlebars parsing every template in every case.
    fn render_changed(
        &self,
        mut set: TemplateSet,
        changed: &BTreeSet<(String, String)>,
    ) -> stanchion::Result<Rendered> {
        // Only what changed is rendered again, plus the files that declare
        // slots (their fills must land somewhere) and `Cargo.toml`.
        for (name, component) in &mut set.components {
            component.files.retain(|path, bytes| {
                (name == "base" && path == "Cargo.toml.hbs")
                    || changed.contains(&(name.clone(), path.clone()))
                    || bytes.windows(7).any(|w| w == b"{{slot ")
            });
        }
        let mut v2 = self.v1.clone();
        v2.files.extend(render(&set, &self.answers)?.files);
        Ok(v2)
    }

    fn text(&self, path: &str) -> &str {
        std::str::from_utf8(&self.v1.files[path].contents).expect("generated files are text")
    }
}

/// A file as lines, keeping whether it ended with a newline.
struct Lines {
    lines: Vec<String>,
    trailing_newline: bool,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let trailing_newline = text.is_empty() || text.ends_with('\n');
        let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if trailing_newline {
            lines.pop();
        }
        Lines {
            lines,
            trailing_newline,
        }
    }

    fn join(&self) -> String {
        let mut text = self.lines.join("\n");
        if self.trailing_newline && !self.lines.is_empty() {
            text.push('\n');
        }
        text
    }
}

/// Where an edit lands among `slots` positions (`None`: nowhere to land).
fn position(edit: &Edit, anchor: Option<u16>, len: usize, slots: usize) -> Option<usize> {
    if slots == 0 {
        return None;
    }
    Some(match (anchor, edit.near) {
        (Some(anchor), Some(offset)) => {
            let at = (usize::from(anchor) * len / 1000) as i64 + i64::from(offset);
            at.clamp(0, slots as i64 - 1) as usize
        }
        _ => edit.line.index(slots),
    })
}

/// Applies `edit` to `file`, writing `new_line` where it inserts or replaces; a
/// replace or delete only touches lines `editable` allows, the nearest one to
/// where it lands (or inserts when there is none). Returns a description and the
/// line removed, if any.
fn apply(
    file: &mut Lines,
    edit: &Edit,
    anchor: Option<u16>,
    new_line: String,
    editable: impl Fn(&str) -> bool,
) -> (String, Option<String>) {
    let len = file.lines.len();
    let target = if edit.kind == Kind::Insert {
        None
    } else {
        position(edit, anchor, len, len).and_then(|at| {
            (0..len)
                .flat_map(|d| [at.checked_sub(d), Some(at + d)])
                .flatten()
                .find(|&i| i < len && editable(&file.lines[i]))
        })
    };
    match (edit.kind, target) {
        (Kind::Replace, Some(i)) => {
            let old = std::mem::replace(&mut file.lines[i], new_line.clone());
            (
                format!("replace line {}: {old:?} -> {new_line:?}", i + 1),
                Some(old),
            )
        }
        (Kind::Delete, Some(i)) => {
            let old = file.lines.remove(i);
            (format!("delete line {}: {old:?}", i + 1), Some(old))
        }
        _ => {
            let at = position(edit, anchor, len, len + 1).unwrap_or(0);
            file.lines.insert(at, new_line.clone());
            (format!("insert at line {}: {new_line:?}", at + 1), None)
        }
    }
}

/// Which part of a conflicted file a line is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    Outside,
    Marker,
    Yours,
    Theirs,
}

/// Every line of `text` with the region it is in.
fn regions(text: &str) -> Vec<(Region, &str)> {
    let mut region = Region::Outside;
    text.lines()
        .map(|line| match (region, line) {
            (Region::Outside, OURS) => {
                region = Region::Yours;
                (Region::Marker, line)
            }
            (Region::Yours, SPLIT) => {
                region = Region::Theirs;
                (Region::Marker, line)
            }
            (Region::Theirs, THEIRS) => {
                region = Region::Outside;
                (Region::Marker, line)
            }
            _ => (region, line),
        })
        .collect()
}

fn count(text: &str, line: &str) -> usize {
    text.lines().filter(|l| *l == line).count()
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("text")
}

#[derive(Default)]
struct Stats {
    merged: AtomicUsize,
    conflicted: AtomicUsize,
    conflict_cases: AtomicUsize,
    manifest_merged: AtomicUsize,
}

fn check(fx: &Fixture, case: &Case, stats: &Stats) -> TestCaseResult {
    let mut log = Vec::new();
    let targets: Vec<(usize, u16)> = case
        .targets
        .iter()
        .map(|(i, anchor)| (fx.rendered[i.index(fx.rendered.len())], *anchor))
        .collect();
    let target = |edit: &Edit| targets[edit.which.index(targets.len())];

    // The user's edits, on the generated files.
    let mut edited: BTreeMap<String, Lines> = BTreeMap::new();
    let mut deleted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (n, edit) in case.user.iter().enumerate() {
        let (path, anchor) = if edit.focus {
            let (source, anchor) = target(edit);
            (fx.sources[source].output.clone(), Some(anchor))
        } else {
            (fx.paths[edit.which.index(fx.paths.len())].clone(), None)
        };
        let file = edited
            .entry(path.clone())
            .or_insert_with(|| Lines::new(fx.text(&path)));
        let line = format!("{USER}{n} {}", edit.word);
        let (what, removed) = apply(file, edit, anchor, line, |_| true);
        log.push(format!("user {path}: {what}"));
        if let Some(old) = removed.filter(|l| !l.starts_with(USER)) {
            deleted.entry(path).or_default().insert(old);
        }
    }

    // The template change, on the sources of any component.
    let mut set = fx.set.clone();
    let mut changed = BTreeSet::new();
    for (n, edit) in case.template.iter().enumerate() {
        let (source, anchor) = if edit.focus {
            let (source, anchor) = target(edit);
            (&fx.sources[source], Some(anchor))
        } else {
            (&fx.sources[edit.which.index(fx.sources.len())], None)
        };
        let bytes = set
            .components
            .get_mut(&source.component)
            .and_then(|c| c.files.get_mut(&source.path))
            .expect("source exists");
        let mut file = Lines::new(utf8(bytes));
        let hbs = source.path.ends_with(".hbs");
        let line = format!("{TEMPLATE}{n} {}", edit.word);
        let (what, _) = apply(&mut file, edit, anchor, line, |l| {
            !hbs || !(l.contains("{{") || l.contains("}}"))
        });
        *bytes = file.join().into_bytes();
        changed.insert((source.component.clone(), source.path.clone()));
        log.push(format!(
            "template {}/{}: {what}",
            source.component, source.path
        ));
    }
    let log = log.join("\n");
    let v2 = fx
        .render_changed(set, &changed)
        .map_err(|e| TestCaseError::fail(format!("v2 does not render: {e}\nedits:\n{log}")))?;

    let mut snapshot = Snapshot::default();
    for (path, file) in &fx.v1.files {
        snapshot.recorded.insert(
            path.clone(),
            Recorded {
                component: file.component.clone(),
                sha256: sha256_hex(&file.contents),
            },
        );
        snapshot.base.insert(path.clone(), file.contents.clone());
        let current = match edited.get(path) {
            Some(lines) => lines.join().into_bytes(),
            None => file.contents.clone(),
        };
        snapshot.current.insert(path.clone(), current);
    }

    let result = plan(&snapshot, &v2, &|_| true, false);

    let planned: Vec<&str> = result.changes.iter().map(|c| c.path.as_str()).collect();
    let expected: BTreeSet<&str> = fx
        .v1
        .files
        .keys()
        .chain(v2.files.keys())
        .map(String::as_str)
        .collect();
    prop_assert_eq!(
        planned,
        expected.into_iter().collect::<Vec<_>>(),
        "planned paths\nedits:\n{}",
        log
    );

    for change in &result.changes {
        let path = change.path.as_str();
        let base = utf8(&fx.v1.files[path].contents);
        let current = utf8(&snapshot.current[path]);
        let new = utf8(&v2.files[path].contents);
        let Some(after) = change.after.as_deref().map(utf8) else {
            return Err(TestCaseError::fail(format!(
                "{path}: no file after the run ({:?})\nedits:\n{log}",
                change.action
            )));
        };
        let context = || {
            format!(
                "{path} ({:?})\nedits:\n{log}\n--- the user's file -> after:\n{}\n--- new output:\n{}",
                change.action,
                diffy::create_patch(current, after),
                diffy::create_patch(base, new),
            )
        };
        prop_assert_eq!(
            change.base_after.as_deref(),
            Some(new.as_bytes()),
            "base copy: {}",
            context()
        );
        if current == base {
            prop_assert_eq!(after, new, "untouched by the user: {}", context());
        }
        if new == base {
            prop_assert_eq!(after, current, "untouched by the template: {}", context());
        }
        if current != base && new != base && current != new {
            stats.merged.fetch_add(1, Ordering::Relaxed);
            if path == "Cargo.toml" {
                stats.manifest_merged.fetch_add(1, Ordering::Relaxed);
            }
        }

        let marked = regions(after);
        let has_markers = marked.iter().any(|(r, _)| *r == Region::Marker);
        if change.action == Action::Conflict {
            stats.conflicted.fetch_add(1, Ordering::Relaxed);
            prop_assert!(
                has_markers || path == "Cargo.toml",
                "a conflict without markers: {}",
                context()
            );
        } else {
            prop_assert!(!has_markers, "markers in a clean merge: {}", context());
        }

        for mine in current.lines().filter(|l| l.starts_with(USER)) {
            let found: Vec<Region> = marked
                .iter()
                .filter(|(_, l)| *l == mine)
                .map(|(r, _)| *r)
                .collect();
            prop_assert!(
                !found.is_empty(),
                "the user's line {:?} is lost: {}",
                mine,
                context()
            );
            prop_assert!(
                found
                    .iter()
                    .any(|r| matches!(r, Region::Outside | Region::Yours)),
                "the user's line {:?} is only on the template's side: {}",
                mine,
                context()
            );
        }
        for theirs in new.lines().filter(|l| l.starts_with(TEMPLATE)) {
            prop_assert!(
                marked.iter().any(|(_, l)| *l == theirs),
                "the template's line {:?} is lost: {}",
                theirs,
                context()
            );
        }
        for gone in deleted.get(path).into_iter().flatten() {
            if count(base, gone) == 1 && count(current, gone) == 0 && count(new, gone) == 1 {
                prop_assert!(
                    !marked
                        .iter()
                        .any(|(r, l)| *r == Region::Outside && l == gone),
                    "the line {:?} the user deleted is back: {}",
                    gone,
                    context()
                );
            }
        }
    }

    if result.conflicts().next().is_some() {
        stats.conflict_cases.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    // Regenerating again from the result changes nothing.
    let mut again = Snapshot::default();
    for change in &result.changes {
        let base_after = change.base_after.clone().expect("still generated");
        again.recorded.insert(
            change.path.clone(),
            Recorded {
                component: change.component.clone(),
                sha256: sha256_hex(&base_after),
            },
        );
        again.base.insert(change.path.clone(), base_after);
        again
            .current
            .insert(change.path.clone(), change.after.clone().expect("present"));
    }
    for change in plan(&again, &v2, &|_| true, false).changes {
        prop_assert!(
            !change.writes() && matches!(change.action, Action::Unchanged | Action::KeepEdited),
            "a second regeneration changes {} ({:?})\nedits:\n{}",
            change.path,
            change.action,
            log
        );
    }
    Ok(())
}

#[test]
fn regeneration_keeps_every_user_and_template_edit() {
    let fx = Fixture::new();
    let stats = Stats::default();
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    match runner.run(&case(), |case| check(&fx, &case, &stats)) {
        Ok(()) => {}
        // Shrinking may report an earlier failure's message: check the minimal
        // case again for its own.
        Err(TestError::Fail(_, minimal)) => match check(&fx, &minimal, &stats) {
            Err(why) => panic!("{why}\nminimal failing case: {minimal:#?}"),
            Ok(()) => panic!("flaky failure; minimal case: {minimal:#?}"),
        },
        Err(e) => panic!("{e}"),
    }
    eprintln!(
        "regen_props: {CASES} cases in {:.1?}: {} three-way merges ({} of Cargo.toml), {} conflicted files, {} cases with conflicts",
        started.elapsed(),
        stats.merged.load(Ordering::Relaxed),
        stats.manifest_merged.load(Ordering::Relaxed),
        stats.conflicted.load(Ordering::Relaxed),
        stats.conflict_cases.load(Ordering::Relaxed),
    );
}
