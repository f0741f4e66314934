//! Templates: loading a template set and rendering it into memory.
//!
//! See [`set`] for the on-disk layout and [`render`] for the pure rendering step.

pub mod render;
pub mod set;

pub use render::{KNOWN_COMPONENTS, Rendered, RenderedFile, context, render, select};
pub use set::{Component, Manifest, TemplateSet};
