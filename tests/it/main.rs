//! Integration tests: one crate of modules (`cargo test --test it`), so the binary and the
//! helpers in [`common`] are built once.

mod common;

mod analytic;
mod build_identity;
mod capacity;
mod cli;
mod data_files;
mod fabric;
mod fault_scenarios;
mod faults;
mod hotstuff;
mod malformed;
mod paired;
mod pbft_faults;
mod perf_models;
mod poa;
mod pow;
mod pow_gervais_topology;
mod pow_stale_estimate;
mod raft;
mod random_scenarios;
mod report;
mod reproduce;
mod robust;
mod shard;
mod sweep;
mod validation;
