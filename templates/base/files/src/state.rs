//! The state shared by every handler.
//!
//! One struct, built once at start-up and cloned into each request (so its fields
//! are cheap to clone: `Arc`s and handles). Components add their own fields here —
//! a database pool, a cache client — and register their readiness checks where the
//! state is built, which keeps the wiring of the whole service in one place.

use std::sync::Arc;

use crate::config::Config;
use crate::health::Readiness;
use crate::server::Shutdown;

/// Shared application state.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The checks behind `GET /health/ready`.
    pub readiness: Readiness,
    /// Set once shutdown begins; readiness then answers 503.
    pub shutdown: Shutdown,
}

impl AppState {
    /// The state for `config`.
    pub fn new(config: Config) -> Self {
        Self {
            config: Arc::new(config),
            readiness: Readiness::new(),
            shutdown: Shutdown::new(),
        }
    }
}
