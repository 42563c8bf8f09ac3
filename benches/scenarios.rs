//! Whole-simulator benchmarks on the performance yardsticks of docs/PERFORMANCE.md, small
//! enough that `cargo bench --bench scenarios` finishes in a few minutes:
//!
//! * `pbft_reference/n16_200req` — `scenarios/bench/pbft-reference.toml` (the SimPy PBFT
//!   reference model) with n = 16 and 200 requests: 99,400 messages. Throughput is reported
//!   in messages (compare with SimPy's ≈71k messages/s, `scripts/compare-simpy.sh`).
//! * `simblock/600_nodes_10_blocks` — `scenarios/bitcoin-simblock-2019.toml` scaled to 600
//!   nodes (the same regional shares) and 100 simulated minutes (≈10 blocks).
//! * `flagship/national_day_first_hour` — `scenarios/national-day.toml` (the flagship
//!   topology at record level, centralized + 43-node PBFT), the first simulated hour
//!   (00:00–01:00, ≈ 42.7 M events, ≈ 4 s per iteration; the payout-peak hours cost ≈ 7× more).
//!
//! Each iteration is one single-threaded run (`run_experiment` with 1 thread), outputs kept in
//! memory; sample size 10 (the flagship hour takes ≈ 1 minute of the bench's few).

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ledgersim::scenario::validate::load_file;
use ledgersim::{Scenario, run_experiment};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn load(path: &str, overrides: &[&str]) -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_file(&root.join(path), &overrides).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run_once(sc: &Scenario) -> u64 {
    let result = run_experiment(sc, 1, &|| {}).expect("run");
    result.events
}

fn bench_scenarios(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenarios");
    group.sampling_mode(SamplingMode::Flat);

    let pbft = load(
        "scenarios/bench/pbft-reference.toml",
        &["workload.flow[0].limit=200", "duration=3s"],
    );
    // 200 requests × (2n² − n + 1) messages, n = 16.
    group.throughput(Throughput::Elements(200 * (2 * 16 * 16 - 16 + 1)));
    group.bench_function("pbft_reference/n16_200req", |b| b.iter(|| black_box(run_once(&pbft))));

    let simblock = load(
        "scenarios/bitcoin-simblock-2019.toml",
        &[
            "topology.group[0].count=199",
            "topology.group[1].count=300",
            "topology.group[2].count=5",
            "topology.group[3].count=71",
            "topology.group[4].count=13",
            "topology.group[5].count=12",
            "duration=100m",
        ],
    );
    group.throughput(Throughput::Elements(1));
    group.bench_function("simblock/600_nodes_10_blocks", |b| {
        b.iter(|| black_box(run_once(&simblock)))
    });

    let day = load("scenarios/national-day.toml", &["duration=1h"]);
    group.bench_function("flagship/national_day_first_hour", |b| {
        b.iter(|| black_box(run_once(&day)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_scenarios
}
criterion_main!(benches);
