//! # ledgersim
//!
//! A deterministic discrete-event simulator that compares a centralized baseline (an
//! operator's database plus interbank batch settlement) with shared-ledger consensus for
//! moving social-security money between provinces, banks and the national fund, and reports
//! throughput, latency, settlement delay and cost per transaction with confidence intervals.
//!
//! Layers (dependencies point down): `report → experiment → sim → {net, node, consensus,
//! workload, cost} → {engine, scenario, metrics, ledger} → names` (names shared by the
//! layers: cost categories, message kinds). See `DESIGN.md` and `docs/`.
//!
//! ```no_run
//! let scenario = ledgersim::Scenario::load(std::path::Path::new("scenarios/quickstart.toml")).unwrap();
//! let result = ledgersim::experiment::run_experiment(&scenario, 2, &|| {}).unwrap();
//! println!("{}", result.systems[0].throughput_tps.mean);
//! ```

#![warn(missing_docs)]

pub mod consensus;
pub mod cost;
pub mod engine;
pub mod experiment;
pub mod ledger;
pub mod metrics;
pub mod names;
pub mod net;
pub mod node;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod workload;

/// The build identity recorded in every manifest (`ledgersim_build`): the git commit this
/// binary was built from (`git rev-parse HEAD`, with `-dirty` when `src/`, `build.rs`,
/// `Cargo.toml` or `Cargo.lock` differed from it), or `unknown` when built outside a git
/// checkout (see `build.rs`). `merge` refuses shards of different builds.
pub const BUILD: &str = env!("LEDGERSIM_BUILD");

pub use experiment::{ExperimentResult, run_experiment};
pub use scenario::Scenario;
