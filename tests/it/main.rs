//! stanchion's integration tests, in one binary.

mod balancer;
mod cache_tiers;
mod cli;
mod conformance;
mod contract;
mod deploy_files;
mod e2e;
mod limiter;
mod lockfile;
mod metric_names;
mod modules;
mod moves;
mod pairwise;
mod pty;
mod redis_cluster;
mod regen;
mod regen_props;
mod services;
mod snapshots;
mod support;
mod team;
mod templates;
mod upgrade;
