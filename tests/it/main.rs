//! Integration tests: one crate of modules (`cargo test --test it`), so the binary and the
//! helpers in [`common`] are built once.

mod common;

mod analytic;
mod cli;
mod fault_scenarios;
mod faults;
mod hotstuff;
mod malformed;
mod paired;
mod pbft_faults;
mod poa;
mod pow;
mod raft;
mod report;
mod reproduce;
mod sweep;
