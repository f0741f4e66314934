//! Embeds every migration in `migrations/` into the binary.
//!
//! Writes `$OUT_DIR/migrations.rs`, the list `src/db.rs` includes as
//! `MIGRATIONS`: one `(version, description, SQL)` entry per file named
//! `<version>_<description>.sql`, in version order, so a file added to
//! `migrations/` is embedded with nothing else to edit, and can never be
//! skipped by a hand-kept list falling behind.
//!
//! It prints no `cargo:rerun-if-changed`, on purpose: Cargo then reruns it
//! whenever a file of the package changes (a migration added or edited
//! included), and also when the same package is built from another directory
//! into a shared target directory (`CARGO_TARGET_DIR`), where a
//! `rerun-if-changed=migrations` would compare only timestamps and keep the
//! other copy's list. Running it costs a directory listing.
//!
//! This does what `sqlx::migrate!()` does without sqlx's `macros` feature,
//! which would compile sqlx-macros (and its database drivers) a second time,
//! for the build machine.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("set by Cargo")).join("migrations");
    let mut migrations = Vec::new();
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the migrations in {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable directory entry").path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            panic!("{}: migration names must be UTF-8", path.display());
        };
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let (version, description) = stem
            .split_once('_')
            .and_then(|(version, description)| Some((version.parse::<i64>().ok()?, description)))
            .unwrap_or_else(|| {
                panic!("migrations/{name}: name it `<version>_<description>.sql`, e.g. `0005_add_orders.sql`")
            });
        migrations.push((version, description.replace('_', " "), path));
    }
    migrations.sort_by_key(|(version, _, _)| *version);
    for pair in migrations.windows(2) {
        assert!(
            pair[0].0 != pair[1].0,
            "migrations {} and {} have the same version: renumber the newer one",
            pair[0].2.display(),
            pair[1].2.display()
        );
    }

    let mut list = String::from("&[\n");
    for (version, description, path) in &migrations {
        let path = path.to_str().expect("a UTF-8 path");
        writeln!(
            list,
            "    ({version}, {description:?}, include_str!({path:?})),"
        )
        .expect("writing to a String cannot fail");
    }
    list.push(']');
    let out = Path::new(&env::var("OUT_DIR").expect("set by Cargo")).join("migrations.rs");
    fs::write(&out, list).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
