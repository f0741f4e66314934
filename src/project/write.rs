//! Writing a tree to disk, all or nothing.
//!
//! A new project is staged in a temporary directory beside the target and renamed
//! into place in one step, so an error part-way (a full disk, a permission) leaves
//! nothing behind. Writing into an existing non-empty directory needs `--force`,
//! and then the plan lists every file it would replace before anything is written;
//! each file is staged and renamed over its destination, so none is ever left
//! half-written.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tree::Tree;

/// A checked plan to write a tree; nothing has touched the disk yet.
#[derive(Debug)]
pub struct WritePlan<'a> {
    target: PathBuf,
    tree: &'a Tree,
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// The target does not exist, or is an empty directory.
    Fresh,
    /// The target is a non-empty directory and `--force` was given.
    Into { overwrites: Vec<String> },
}

/// Checks that `tree` can be written to `target` (refusing a non-empty directory
/// unless `force`) and returns the plan.
pub fn plan_write<'a>(target: &Path, tree: &'a Tree, force: bool) -> Result<WritePlan<'a>> {
    let mode = match fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Mode::Fresh,
        Err(e) => return Err(Error::io("inspect", target, e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::TargetNotDirectory {
                path: target.to_owned(),
            });
        }
        Ok(_) => {
            let mut entries = fs::read_dir(target).map_err(|e| Error::io("read", target, e))?;
            if entries.next().is_none() {
                Mode::Fresh
            } else if !force {
                return Err(Error::TargetNotEmpty {
                    path: target.to_owned(),
                });
            } else {
                let overwrites = tree
                    .iter()
                    .map(|(p, _)| p)
                    .filter(|p| target.join(p).exists())
                    .map(str::to_owned)
                    .collect();
                Mode::Into { overwrites }
            }
        }
    };
    Ok(WritePlan {
        target: target.to_owned(),
        tree,
        mode,
    })
}

impl WritePlan<'_> {
    /// Existing files the plan would replace (only with `--force`).
    pub fn overwrites(&self) -> &[String] {
        match &self.mode {
            Mode::Fresh => &[],
            Mode::Into { overwrites } => overwrites,
        }
    }

    /// Whether the target is new or empty: nothing of the user's is replaced.
    pub fn is_fresh(&self) -> bool {
        matches!(self.mode, Mode::Fresh)
    }

    /// Writes the tree.
    pub fn execute(self) -> Result<()> {
        self.execute_with(Tree::new)
    }

    /// Writes the tree and the files `late` makes, which are staged last: work
    /// that `late` waits for (on another thread) overlaps the staging. Late
    /// files are not in [`WritePlan::overwrites`].
    pub fn execute_with(self, late: impl FnOnce() -> Tree) -> Result<()> {
        match self.mode {
            Mode::Fresh => write_fresh(&self.target, self.tree, late),
            Mode::Into { .. } => {
                let mut all = self.tree.clone();
                for (path, contents) in late().iter() {
                    all.insert(path, contents);
                }
                write_into(&self.target, &all)
            }
        }
    }
}

/// Writes every file of `tree` under `dir`, creating each directory once rather
/// than asking for it again before every file.
///
/// One thread: creating files is mostly the file system's work, and two threads
/// creating files in the same directories were measured no faster than one
/// (they contend in the file system) and often slower.
fn stage(dir: &Path, tree: &Tree) -> Result<()> {
    // Every directory and its ancestors, each once, parents first.
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in tree.iter() {
        let mut at = path;
        while let Some((parent, _)) = at.rsplit_once('/') {
            if !dirs.insert(parent) {
                break;
            }
            at = parent;
        }
    }
    for parent in dirs {
        let parent = dir.join(parent);
        fs::create_dir(&parent).map_err(|e| Error::io("create", &parent, e))?;
    }
    for (path, contents) in tree.iter() {
        let dest = dir.join(path);
        fs::write(&dest, contents).map_err(|e| Error::io("write", &dest, e))?;
    }
    Ok(())
}

/// Stages files made after the rest, into directories staged already or new.
fn stage_late(dir: &Path, tree: &Tree) -> Result<()> {
    for (path, contents) in tree.iter() {
        let dest = dir.join(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        fs::write(&dest, contents).map_err(|e| Error::io("write", &dest, e))?;
    }
    Ok(())
}

fn staging_dir(inside: &Path) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(".stanchion-staging-")
        .tempdir_in(inside)
        .map_err(|e| Error::io("create a staging directory in", inside, e))
}

fn write_fresh(target: &Path, tree: &Tree, late: impl FnOnce() -> Tree) -> Result<()> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| Error::io("create", &parent, e))?;
    let staging = staging_dir(&parent)?;
    stage(staging.path(), tree)?;
    stage_late(staging.path(), &late())?;
    if target.exists() {
        // An empty directory: replace it.
        fs::remove_dir(target).map_err(|e| Error::io("replace", target, e))?;
    }
    let staged = staging.keep();
    fs::rename(&staged, target).map_err(|e| {
        let _ = fs::remove_dir_all(&staged);
        Error::io("move the generated project to", target, e)
    })
}

fn write_into(target: &Path, tree: &Tree) -> Result<()> {
    apply_changes(target, tree, &[])
}

/// Writes `writes` into the existing directory `root` and deletes `deletes`
/// (relative paths), removing directories the deletions leave empty.
///
/// Every new file is staged first, inside `root` so the renames stay on one
/// file system: a failure while staging (a full disk, a permission) changes
/// nothing. Each file is then renamed over its destination, so no file is ever
/// seen half-written.
pub fn apply_changes(root: &Path, writes: &Tree, deletes: &[String]) -> Result<()> {
    let staging = staging_dir(root)?;
    stage(staging.path(), writes)?;
    for (path, _) in writes.iter() {
        let dest = root.join(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        fs::rename(staging.path().join(path), &dest).map_err(|e| Error::io("write", &dest, e))?;
    }
    for path in deletes {
        let dest = root.join(path);
        match fs::remove_file(&dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &dest, e)),
        }
        // Tidy directories the removal emptied, never the root itself.
        let mut dir = dest.parent();
        while let Some(d) = dir.filter(|d| *d != root && d.starts_with(root)) {
            if fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        let mut t = Tree::new();
        t.insert("a.txt", "a");
        t.insert("dir/b.txt", "b");
        t
    }

    #[test]
    fn writes_a_fresh_project_and_leaves_no_staging_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("p");
        let t = tree();
        plan_write(&target, &t, false).unwrap().execute().unwrap();
        assert_eq!(fs::read_to_string(target.join("dir/b.txt")).unwrap(), "b");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["p"]);
    }

    #[test]
    fn refuses_non_empty_dirs_without_force_and_lists_overwrites_with_it() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a.txt"), "mine").unwrap();
        let t = tree();
        assert!(matches!(
            plan_write(tmp.path(), &t, false),
            Err(Error::TargetNotEmpty { .. })
        ));
        let plan = plan_write(tmp.path(), &t, true).unwrap();
        assert_eq!(plan.overwrites(), ["a.txt"]);
        plan.execute().unwrap();
        assert_eq!(fs::read_to_string(tmp.path().join("a.txt")).unwrap(), "a");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("p");
        let mut t = tree();
        // A file and a directory with the same path cannot both be written.
        t.insert("a.txt/c.txt", "c");
        assert!(plan_write(&target, &t, false).unwrap().execute().is_err());
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn applying_changes_stages_everything_before_touching_the_project() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
        fs::write(tmp.path().join("old.txt"), "old").unwrap();
        let mut t = tree();
        t.insert("a.txt/c.txt", "c");
        let deletes = vec!["old.txt".to_owned()];
        assert!(apply_changes(tmp.path(), &t, &deletes).is_err());
        let mut names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["keep.txt", "old.txt"],
            "nothing written, nothing deleted"
        );

        apply_changes(tmp.path(), &tree(), &deletes).unwrap();
        assert_eq!(
            fs::read_to_string(tmp.path().join("dir/b.txt")).unwrap(),
            "b"
        );
        assert!(!tmp.path().join("old.txt").exists());
        assert_eq!(
            fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }
}
