//! Templates: loading a template set and rendering it into memory.
//!
//! See [`set`] for the on-disk layout, [`manifest`] for what a component
//! declares, [`slots`] for how components plug into other files, and [`render`]
//! for the pure rendering step.

mod cargo;
mod chunks;
mod fast;
pub mod manifest;
pub mod render;
pub mod set;
pub mod slots;

pub use manifest::{EnvVar, Manifest};
pub use render::{Rendered, RenderedFile, context, registry, render, select, selected_names};
pub use set::{Component, TemplateSet};
