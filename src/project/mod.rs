//! A generated project on disk: its record and how it is written.
//!
//! [`record`] turns rendered files into the full tree a project holds (the files,
//! `stanchion.toml`, and base copies for later three-way merges); [`write`] puts a
//! tree on disk atomically.

pub mod record;
pub mod write;

pub use record::{BASE_DIR, RECORD_FILE, Record, project_tree, sha256_hex};
pub use write::{WritePlan, apply_changes, plan_write};
