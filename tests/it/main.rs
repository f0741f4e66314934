//! stanchion's integration tests, in one binary.

mod cli;
mod conformance;
mod contract;
mod e2e;
mod limiter;
mod modules;
mod moves;
mod pairwise;
mod pty;
mod regen;
mod regen_props;
mod services;
mod snapshots;
mod support;
mod team;
mod templates;
mod upgrade;
