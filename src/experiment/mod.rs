//! Replications in parallel (rayon) and their statistics.
//!
//! Every `(system, replication)` run is independent and deterministic; runs are executed on
//! a pool of `threads` workers, collected in index order and reduced sequentially, so the
//! results do not depend on the thread count.
//!
//! A scenario with `[capacity]` also runs its capacity search ([`capacity`]) after the
//! ordinary runs, on the same pool.

pub mod capacity;

use crate::cost::CATEGORIES;
use crate::metrics::Stat;
use crate::scenario::Scenario;
use crate::sim::{RunResult, run_system};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

pub mod shard;

/// Statistics of latency quantiles over replications.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyStats {
    /// Median.
    pub p50: Stat,
    /// 90th percentile.
    pub p90: Stat,
    /// 99th percentile.
    pub p99: Stat,
    /// Mean.
    pub mean: Stat,
}

/// Cost per transaction statistics.
#[derive(Debug, Clone, Serialize)]
pub struct CostStats {
    /// Total per transaction.
    pub total: Stat,
    /// Per category.
    pub breakdown: BTreeMap<&'static str, Stat>,
}

/// CPU utilization of one node over replications.
#[derive(Debug, Clone, Serialize)]
pub struct NodeUtilization {
    /// Node name.
    pub node: String,
    /// Busy core-time / (window × cores).
    pub utilization: Stat,
}

/// Paired differences to the baseline: the CI of the per-replication difference, which is
/// much tighter than comparing two separate CIs because both systems saw the same
/// transactions.
#[derive(Debug, Clone, Serialize)]
pub struct PairedDifferences {
    /// Cost per transaction, currency units.
    pub cost_per_tx: Stat,
    /// Mean latency (submit → recorded), ms.
    pub latency_mean_ms: Stat,
    /// 99th-percentile latency, ms.
    pub latency_p99_ms: Stat,
    /// Mean settlement latency, ms.
    pub settlement_mean_ms: Stat,
}

/// Recovery after one fault.
#[derive(Debug, Clone, Serialize)]
pub struct FaultRecovery {
    /// The fault, as labelled in the scenario.
    pub fault: String,
    /// Milliseconds from the fault's end to the next commit a client saw (n counts the
    /// replications that recovered inside the window).
    pub recovery_ms: Stat,
}

/// Block propagation statistics over replications (proof-of-work).
#[derive(Debug, Clone, Serialize)]
pub struct PropagationStats {
    /// Median over blocks of the time for 50 % of the nodes to receive a block, ms.
    pub p50_of_median: Stat,
    /// Median over blocks of the time for 90 % of the nodes to receive a block, ms.
    pub p90: Stat,
    /// Per node the mean propagation time over the blocks it received; median over nodes, ms
    /// (Gervais et al. CCS'16's "median block propagation time").
    pub node_mean_p50: Stat,
    /// The same, 90th percentile over nodes, ms.
    pub node_mean_p90: Stat,
    /// The same, mean over nodes, ms.
    pub node_mean_mean: Stat,
}

/// One system's results over all replications.
#[derive(Debug, Clone, Serialize)]
pub struct SystemSummary {
    /// System name.
    pub name: String,
    /// Consensus label.
    pub consensus: &'static str,
    /// Settlement mode label.
    pub settlement: &'static str,
    /// Nodes the system runs on (validators, or operator + standby).
    pub nodes: usize,
    /// Consensus members: validators, orderers, authorities, miners (operator + standby for
    /// the centralized system).
    pub members: usize,
    /// Byzantine faults tolerated (PBFT) or 0.
    pub faults_tolerated: usize,
    /// Committed transactions in the window.
    pub committed: Stat,
    /// Submitted transactions in the window.
    pub submitted: Stat,
    /// Committed per second.
    pub throughput_tps: Stat,
    /// Submit → recorded.
    pub latency_ms: LatencyStats,
    /// Submit → settled.
    pub settlement_latency_ms: LatencyStats,
    /// Cost per transaction.
    pub cost_per_tx: CostStats,
    /// Paired saving against the baseline, per replication, in percent of the baseline's cost.
    pub savings_vs_baseline_pct: Stat,
    /// Per-replication differences to the baseline (system − baseline), with their CIs.
    pub paired_vs_baseline: PairedDifferences,
    /// Messages per committed transaction.
    pub messages_per_tx: Stat,
    /// Bytes per committed transaction.
    pub bytes_per_tx: Stat,
    /// Highest CPU utilization among the system's nodes.
    pub cpu_utilization_max: Stat,
    /// CPU utilization of each node the system runs on, in node order.
    pub cpu_utilization_by_node: Vec<NodeUtilization>,
    /// Events processed per run.
    pub events: Stat,
    /// Sum of safety violations over replications.
    pub safety_violations: u64,
    /// The first violations described (replication, time, height, replicas).
    pub safety_violation_notes: Vec<String>,
    /// View changes per run (max over correct replicas).
    pub view_changes: Stat,
    /// Elections started per run.
    pub elections: Stat,
    /// Forks / stale blocks per run.
    pub forks: Stat,
    /// Longest interval in the window without a client commit, ms.
    pub max_commit_gap_ms: Stat,
    /// Time from each fault's end to the next client commit.
    pub recovery_ms: Vec<FaultRecovery>,
    /// All replications ended with consistent replicas.
    pub replicas_consistent: bool,
    /// All replications conserved money on every replica.
    pub money_conserved: bool,
    /// Block propagation (proof-of-work only; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_propagation_ms: Option<PropagationStats>,
    /// Stale blocks / blocks mined (proof-of-work only; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_rate: Option<Stat>,
    /// The expected stale rate: mean over the blocks of all replications of the probability
    /// that a competitor was found before the other miners adopted the block; `n` counts
    /// blocks and the CI is over blocks (proof-of-work only; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_rate_expected: Option<Stat>,
}

/// The systems' results at one sweep point.
#[derive(Debug, Clone, Serialize)]
pub struct PointSummary {
    /// Point index.
    pub index: usize,
    /// Swept parameter values at this point (path → value as written).
    pub values: BTreeMap<String, String>,
    /// Per-system summaries at this point.
    pub systems: Vec<SystemSummary>,
}

/// Results of a whole experiment.
#[derive(Debug, Clone)]
pub struct ExperimentResult {
    /// Every run, ordered by (point, system, replication).
    pub runs: Vec<RunResult>,
    /// Per-system summaries of the first (or only) point, in scenario order.
    pub systems: Vec<SystemSummary>,
    /// Per-point summaries when the scenario has a `[sweep]` (empty otherwise).
    pub points: Vec<PointSummary>,
    /// Total events over all runs (capacity probes included).
    pub events: u64,
    /// Capacity search results when the scenario has a `[capacity]` section.
    pub capacity: Option<capacity::CapacityResult>,
}

/// Why an experiment produced no result.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The worker pool could not be started.
    #[error("cannot start worker threads: {0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    /// A stop was requested ([`crate::engine::STOP_REQUESTED`], set by Ctrl-C or SIGTERM).
    #[error("interrupted: the runs were stopped before they completed; no results were written")]
    Interrupted,
    /// One run panicked (a bug in the simulator): the first such run in index order.
    #[error(
        "run failed: system `{system}`, replication {replication}{}, seed {seed}, panicked: {message}. \
         No results were written. To reproduce it: ledgersim run <scenario> --seed {seed} --replications {} \
         (replication {replication} is then the last one run)",
        point_label(.point, .point_values),
        .replication + 1
    )]
    RunPanicked {
        /// Sweep point index (0 without a sweep).
        point: usize,
        /// `path=value` of the sweep point (empty without a sweep).
        point_values: Vec<String>,
        /// System name.
        system: String,
        /// Replication index (0-based).
        replication: u32,
        /// Master seed.
        seed: u64,
        /// The panic message.
        message: String,
    },
    /// One run of a `[capacity]` probe panicked (a bug in the simulator).
    #[error(
        "capacity probe failed: system `{system}` at {offered_tps} tx/s offered, replication {replication}, \
         seed {seed}, panicked: {message}. No results were written. To reproduce it without the search, \
         scale the scenario's flow rates to that load and run it with --seed {seed}"
    )]
    ProbePanicked {
        /// The searched system.
        system: String,
        /// The probe's offered load, tx/s.
        offered_tps: f64,
        /// Replication index of the failed run.
        replication: u32,
        /// The scenario's seed.
        seed: u64,
        /// The panic message.
        message: String,
    },
}

fn point_label(point: &usize, values: &[String]) -> String {
    if values.is_empty() {
        String::new()
    } else {
        format!(" at sweep point {point} ({})", values.join(", "))
    }
}

/// The message carried by a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// Run `job` on every item on `pool` and return the outputs in item order. A
/// panicking job does not bring the others down: its panic message is returned in its
/// place. Items not yet started when `stop` is set are skipped (`None`).
pub fn run_isolated<T: Sync, R: Send>(
    items: &[T],
    pool: &rayon::ThreadPool,
    stop: &std::sync::atomic::AtomicBool,
    job: &(dyn Fn(&T) -> R + Sync),
) -> Vec<Option<Result<R, String>>> {
    pool.install(|| {
        items
            .par_iter()
            .map(|item| {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return None;
                }
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(item)));
                Some(outcome.map_err(|payload| panic_message(payload.as_ref())))
            })
            .collect()
    })
}

/// Run every (sweep point ×) system × replication of `scenario` on `threads` worker threads.
///
/// `on_done` is called (from worker threads) after each run, for progress display. A panic
/// in one run is caught and reported as [`ExperimentError::RunPanicked`] naming the run; a
/// stop request ([`crate::engine::STOP_REQUESTED`]) ends with [`ExperimentError::Interrupted`].
pub fn run_experiment(
    scenario: &Scenario,
    threads: usize,
    on_done: &(dyn Fn() + Sync),
) -> Result<ExperimentResult, ExperimentError> {
    run_experiment_shard(scenario, None, threads, on_done)
}

/// Like [`run_experiment`], but only the runs owned by `shard` (all runs when `None`); see
/// [`shard`] for how the work is sliced. The summaries of a shard cover only its runs; the
/// whole experiment's are rebuilt by [`assemble`] from the runs of every shard.
pub fn run_experiment_shard(
    scenario: &Scenario,
    shard: Option<shard::Shard>,
    threads: usize,
    on_done: &(dyn Fn() + Sync),
) -> Result<ExperimentResult, ExperimentError> {
    let points = scenario.run_points();
    let jobs = shard::jobs(scenario, shard);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build()?;
    let stop = &crate::engine::STOP_REQUESTED;
    let outcomes = run_isolated(&jobs, &pool, stop, &|&(p, s, r)| {
        let mut res = run_system(points[p].1, s, r);
        res.point = p;
        on_done();
        res
    });
    if stop.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ExperimentError::Interrupted);
    }
    let mut runs: Vec<RunResult> = Vec::with_capacity(jobs.len());
    for (&(p, s, r), outcome) in jobs.iter().zip(outcomes) {
        match outcome {
            Some(Ok(run)) => runs.push(run),
            Some(Err(message)) => {
                let (values, sc) = &points[p];
                return Err(ExperimentError::RunPanicked {
                    point: p,
                    point_values: values.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                    system: sc.systems[s].name.clone(),
                    replication: r,
                    seed: sc.seed,
                    message,
                });
            }
            None => return Err(ExperimentError::Interrupted),
        }
    }
    let mut result = assemble(scenario, runs);
    // Capacity probes are a sequential bisection over the whole scenario; sharded runs refuse
    // `[capacity]` before they start, so only whole runs search.
    if shard.is_none()
        && let Some((c, probe_events)) = capacity::search(scenario, &pool, on_done)?
    {
        result.events += probe_events;
        result.capacity = Some(c);
    }
    Ok(result)
}

/// Reduce runs, ordered by (point, system, replication), into an experiment result: the
/// per-point and per-system summaries, computed sequentially so they do not depend on where
/// or in what order the runs were executed.
pub fn assemble(scenario: &Scenario, runs: Vec<RunResult>) -> ExperimentResult {
    let points = scenario.run_points();
    let mut summaries: Vec<PointSummary> = points
        .iter()
        .enumerate()
        .map(|(p, (values, sc))| {
            let mine: Vec<RunResult> = runs.iter().filter(|r| r.point == p).cloned().collect();
            PointSummary {
                index: p,
                values: values.iter().cloned().collect(),
                systems: summarize(sc, &mine),
            }
        })
        .collect();
    let systems = summaries[0].systems.clone();
    if scenario.points.is_empty() {
        summaries.clear();
    }
    let events = runs.iter().map(|r| r.events).sum();
    ExperimentResult {
        runs,
        systems,
        points: summaries,
        events,
        capacity: None,
    }
}

/// Number of ordinary runs `run_experiment` will perform (for progress bars and estimates);
/// a `[capacity]` search adds up to [`capacity::max_probe_runs`] more.
pub fn run_count(scenario: &Scenario) -> usize {
    scenario
        .run_points()
        .iter()
        .map(|(_, sc)| sc.systems.len() * sc.replications as usize)
        .sum()
}

fn stat_of(runs: &[&RunResult], f: impl Fn(&RunResult) -> f64) -> Stat {
    Stat::from_values(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
}

fn latency_stats(runs: &[&RunResult], pick: impl Fn(&RunResult) -> crate::sim::LatencySummary) -> LatencyStats {
    LatencyStats {
        p50: stat_of(runs, |r| pick(r).p50),
        p90: stat_of(runs, |r| pick(r).p90),
        p99: stat_of(runs, |r| pick(r).p99),
        mean: stat_of(runs, |r| pick(r).mean),
    }
}

/// Reduce runs (ordered by system, then replication) into per-system summaries.
pub fn summarize(scenario: &Scenario, runs: &[RunResult]) -> Vec<SystemSummary> {
    let by_system: Vec<Vec<&RunResult>> = (0..scenario.systems.len())
        .map(|s| runs.iter().filter(|r| r.system == s).collect())
        .collect();
    let base = &by_system[scenario.baseline];
    scenario
        .systems
        .iter()
        .enumerate()
        .map(|(s, spec)| {
            let rs = &by_system[s];
            let per = |f: fn(&RunResult) -> f64| stat_of(rs, f);
            // Paired differences: each replication against the baseline's run of the same
            // replication, which saw the very same transactions (common random numbers).
            let paired = |f: fn(&RunResult, &RunResult) -> f64| -> Stat {
                let v: Vec<f64> = rs
                    .iter()
                    .map(|r| match base.iter().find(|b| b.replication == r.replication) {
                        Some(b) => f(r, b),
                        None => f64::NAN,
                    })
                    .collect();
                Stat::from_values(&v)
            };
            let savings = paired(|r, b| (b.cost_per_tx_total - r.cost_per_tx_total) / b.cost_per_tx_total * 100.0);
            let paired_vs_baseline = PairedDifferences {
                cost_per_tx: paired(|r, b| r.cost_per_tx_total - b.cost_per_tx_total),
                latency_mean_ms: paired(|r, b| r.latency.mean - b.latency.mean),
                latency_p99_ms: paired(|r, b| r.latency.p99 - b.latency.p99),
                settlement_mean_ms: paired(|r, b| r.settlement.mean - b.settlement.mean),
            };
            let breakdown = CATEGORIES
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        *c,
                        stat_of(rs, |r| if r.committed > 0 { r.cost_per_tx[i] } else { f64::NAN }),
                    )
                })
                .collect();
            let members = spec.replica_nodes().len();
            SystemSummary {
                name: spec.name.clone(),
                consensus: spec.kind.label(),
                settlement: spec.settlement.label(),
                nodes: rs.first().map(|r| r.replica_nodes).unwrap_or(members),
                members,
                faults_tolerated: spec.kind.faults_tolerated(members),
                committed: per(|r| r.committed as f64),
                submitted: per(|r| r.submitted as f64),
                throughput_tps: per(|r| r.throughput_tps),
                latency_ms: latency_stats(rs, |r| r.latency),
                settlement_latency_ms: latency_stats(rs, |r| r.settlement),
                cost_per_tx: CostStats {
                    total: per(|r| r.cost_per_tx_total),
                    breakdown,
                },
                savings_vs_baseline_pct: savings,
                paired_vs_baseline,
                messages_per_tx: per(|r| r.messages as f64 / r.committed as f64),
                bytes_per_tx: per(|r| r.bytes as f64 / r.committed as f64),
                cpu_utilization_max: per(|r| r.cpu_util_max),
                cpu_utilization_by_node: spec
                    .replica_nodes()
                    .into_iter()
                    .map(|id| NodeUtilization {
                        node: scenario.topology.nodes[id as usize].name.clone(),
                        utilization: stat_of(rs, |r| r.node_utilization[id as usize]),
                    })
                    .collect(),
                events: per(|r| r.events as f64),
                safety_violations: rs.iter().map(|r| r.safety_violations).sum(),
                safety_violation_notes: rs
                    .iter()
                    .flat_map(|r| {
                        r.violation_notes
                            .iter()
                            .map(move |n| format!("replication {}: {n}", r.replication))
                    })
                    .take(10)
                    .collect(),
                view_changes: per(|r| r.view_changes as f64),
                elections: per(|r| r.elections as f64),
                forks: per(|r| r.forks as f64),
                max_commit_gap_ms: per(|r| r.max_commit_gap_ms),
                recovery_ms: scenario
                    .faults
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.systems.contains(&s) && f.until.is_some())
                    .map(|(i, f)| FaultRecovery {
                        fault: f.label.clone(),
                        recovery_ms: stat_of(rs, |r| r.recovery_ms[i]),
                    })
                    .collect(),
                replicas_consistent: rs.iter().all(|r| r.replicas_consistent),
                money_conserved: rs.iter().all(|r| r.money_conserved),
                block_propagation_ms: rs.iter().any(|r| r.chain.is_some()).then(|| PropagationStats {
                    p50_of_median: stat_of(rs, |r| r.chain.map(|c| c.propagation_p50_ms).unwrap_or(f64::NAN)),
                    p90: stat_of(rs, |r| r.chain.map(|c| c.propagation_p90_ms).unwrap_or(f64::NAN)),
                    node_mean_p50: stat_of(rs, |r| r.chain.map(|c| c.node_mean_p50_ms).unwrap_or(f64::NAN)),
                    node_mean_p90: stat_of(rs, |r| r.chain.map(|c| c.node_mean_p90_ms).unwrap_or(f64::NAN)),
                    node_mean_mean: stat_of(rs, |r| r.chain.map(|c| c.node_mean_mean_ms).unwrap_or(f64::NAN)),
                }),
                stale_rate: rs
                    .iter()
                    .any(|r| r.chain.is_some())
                    .then(|| stat_of(rs, |r| r.chain.map(|c| c.stale_rate).unwrap_or(f64::NAN))),
                stale_rate_expected: rs.iter().any(|r| r.chain.is_some()).then(|| {
                    let (n, sum, sum_sq) = rs.iter().filter_map(|r| r.chain).fold((0, 0.0, 0.0), |acc, c| {
                        (
                            acc.0 + c.stale_expected_blocks as usize,
                            acc.1 + c.stale_expected_sum,
                            acc.2 + c.stale_expected_sum_sq,
                        )
                    });
                    Stat::from_moments(n, sum, sum_sq)
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_panicking_job_is_isolated_and_reported_in_its_place() {
        let items: Vec<u32> = (0..8).collect();
        let stop = AtomicBool::new(false);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let out = run_isolated(&items, &pool, &stop, &|&i| {
                if i == 5 {
                    panic!("boom at {i}");
                }
                i * 10
            });
            assert_eq!(out.len(), 8);
            for (i, o) in out.iter().enumerate() {
                match o {
                    Some(Ok(v)) => assert_eq!(*v, i as u32 * 10),
                    Some(Err(m)) => assert_eq!((i, m.as_str()), (5, "boom at 5")),
                    None => panic!("item {i} skipped without a stop request"),
                }
            }
        }
        let stopped = AtomicBool::new(true);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let out = run_isolated(&items, &pool, &stopped, &|&i| i);
        assert!(
            out.iter().all(|o| o.is_none()),
            "nothing starts once a stop is requested"
        );
    }

    #[test]
    fn a_run_panic_message_names_the_run_and_how_to_reproduce_it() {
        let e = ExperimentError::RunPanicked {
            point: 2,
            point_values: vec!["system[1].batch_max_tx=50".into()],
            system: "pbft".into(),
            replication: 3,
            seed: 42,
            message: "index out of bounds".into(),
        };
        let text = e.to_string();
        for part in [
            "system `pbft`",
            "replication 3",
            "at sweep point 2 (system[1].batch_max_tx=50)",
            "seed 42",
            "index out of bounds",
            "No results were written",
            "--seed 42 --replications 4",
        ] {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
    }

    #[test]
    fn a_probe_panic_message_names_the_system_load_and_seed() {
        let text = ExperimentError::ProbePanicked {
            system: "raft".into(),
            offered_tps: 5277.3,
            replication: 1,
            seed: 7,
            message: "attempt to subtract with overflow".into(),
        }
        .to_string();
        for part in [
            "capacity probe failed",
            "system `raft`",
            "5277.3 tx/s",
            "replication 1",
            "seed 7",
            "attempt to subtract with overflow",
            "No results were written",
        ] {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
    }
}
