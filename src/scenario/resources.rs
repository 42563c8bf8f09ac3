//! The resource guard: before running, estimate the events and memory an experiment needs,
//! and refuse (unless `--force`) one that exceeds a sane bound, saying why and how to
//! proceed. The estimate is an order of magnitude, not a prediction; the formulas are in
//! `docs/ROBUSTNESS.md` and are checked against measured event counts in the tests.
//!
//! Per run (one system × replication at one sweep point), with `T` transactions
//! (Σ over flows of the mean arrival rate over the run window × duration), `n` nodes,
//! `m` consensus members and `B` blocks:
//!
//! ```text
//! events ≈ T × (5 + 3 × msgs_per_tx) + 3 × B × msgs_per_block + 3 × timer_messages
//! ```
//!
//! (three engine events per message: egress, delivery, CPU job; five per transaction for
//! its arrival, CPU work, commit and reply). Memory per run ≈ 4 MiB + 64 KiB × n + 16 B ×
//! n × (replicas holding a ledger) + 256 B × in-flight messages + 1 KiB × pending
//! transactions (+ 128 B × blocks × n for proof-of-work's block trees).

use super::{Arrival, Scenario, SystemKind, SystemSpec};
use crate::engine::{NS_PER_S, SimTime};

/// Refuse to start an experiment estimated above this many engine events in all (about
/// five hours of one core at 5 M events/s).
pub const MAX_EVENTS: f64 = 1.0e11;
/// Refuse to start an experiment estimated above this much memory at its peak.
pub const MAX_MEMORY_BYTES: f64 = 8.0 * GIB;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const EVENTS_PER_MESSAGE: f64 = 3.0;
const EVENTS_PER_TX: f64 = 5.0;

/// What an experiment is estimated to need.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceEstimate {
    /// Runs: (sweep points ×) systems × replications.
    pub runs: u64,
    /// Transactions of the largest run.
    pub transactions_per_run_max: f64,
    /// Engine events of the largest run.
    pub events_per_run_max: f64,
    /// Engine events over all runs.
    pub events_total: f64,
    /// Memory of the largest run, bytes.
    pub memory_per_run_max: f64,
    /// Runs in memory at once (min(threads, runs)).
    pub concurrent_runs: u64,
    /// Peak memory, bytes: the largest run × runs at once, plus the validated scenario.
    pub memory_peak: f64,
}

impl ResourceEstimate {
    /// Why the estimate exceeds the bound and how to proceed, or `None` if it is within.
    pub fn exceeds_bound(&self) -> Option<String> {
        let mut over = Vec::new();
        if self.events_total.is_nan() || self.events_total > MAX_EVENTS {
            over.push(format!(
                "≈{:.1e} engine events (bound {MAX_EVENTS:.0e}; at 5 M events/s per thread that is ≈{})",
                self.events_total,
                human_hours(self.events_total / 5.0e6 / self.concurrent_runs.max(1) as f64)
            ));
        }
        if self.memory_peak.is_nan() || self.memory_peak > MAX_MEMORY_BYTES {
            over.push(format!(
                "≈{:.1} GiB of memory at peak ({} run(s) at once × ≈{:.2} GiB; bound {:.0} GiB)",
                self.memory_peak / GIB,
                self.concurrent_runs,
                self.memory_per_run_max / GIB,
                MAX_MEMORY_BYTES / GIB
            ));
        }
        if over.is_empty() {
            return None;
        }
        Some(format!(
            "this experiment ({} run(s), up to ≈{:.1e} transactions each) is estimated to need {}. \
             Shorten `duration`, lower `replications`, the arrival rates or the number of nodes (also with --set), \
             use fewer --threads to save memory, or pass --force to run it anyway",
            self.runs,
            self.transactions_per_run_max,
            over.join(" and ")
        ))
    }

    /// One line for `ledgersim check`.
    pub fn summary_line(&self) -> String {
        format!(
            "estimate: {} run(s), ≈{:.1e} transactions and ≈{:.1e} events in the largest run, ≈{:.1e} events in all, ≈{} peak memory with {} run(s) at once",
            self.runs,
            self.transactions_per_run_max,
            self.events_per_run_max,
            self.events_total,
            human_bytes(self.memory_peak),
            self.concurrent_runs
        )
    }
}

fn human_hours(seconds: f64) -> String {
    if seconds >= 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else {
        format!("{:.0} min", (seconds / 60.0).ceil())
    }
}

fn human_bytes(b: f64) -> String {
    if b >= GIB {
        format!("{:.1} GiB", b / GIB)
    } else {
        format!("{:.0} MiB", (b / (1024.0 * 1024.0)).ceil())
    }
}

fn secs(t: SimTime) -> f64 {
    t as f64 / NS_PER_S as f64
}

/// Mean arrival rate of a flow over the run window (profiles sampled at 1,000 instants).
fn mean_rate(arrival: &Arrival, start_of_day: SimTime, duration: SimTime) -> f64 {
    match arrival {
        Arrival::Poisson(r) | Arrival::Constant(r) => *r,
        Arrival::Profile(points) => {
            if points.is_empty() {
                return 0.0;
            }
            const DAY: SimTime = 86_400 * NS_PER_S;
            const SAMPLES: u64 = 1_000;
            let mut sum = 0.0;
            for k in 0..SAMPLES {
                let t = (start_of_day as u128 + duration as u128 * (2 * k as u128 + 1) / (2 * SAMPLES as u128))
                    % DAY as u128;
                let t = t as SimTime;
                // The last point at or before t, wrapping to the day's last point.
                let rate = points
                    .iter()
                    .rev()
                    .find(|(at, _)| *at <= t)
                    .or(points.last())
                    .map(|(_, r)| *r)
                    .unwrap_or(0.0);
                sum += rate;
            }
            sum / SAMPLES as f64
        }
    }
}

/// Blocks cut by a leader that proposes when `max_tx` are pending or `timeout` passed with
/// some pending: never more than one per transaction.
fn blocks(tx: f64, max_tx: u32, timeout: SimTime, duration_s: f64) -> f64 {
    let by_size = tx / f64::from(max_tx.max(1));
    let by_time = if timeout > 0 { duration_s / secs(timeout) } else { 0.0 };
    by_size.max(by_time).min(tx)
}

/// (events, memory bytes) of one run of `system`.
fn run_cost(sc: &Scenario, system: &SystemSpec, tx: f64) -> (f64, f64) {
    let n = sc.topology.nodes.len() as f64;
    let m = system.replica_nodes().len() as f64;
    let dur = secs(sc.duration);
    // (messages per transaction, blocks, messages per block, other messages, in-flight
    // messages, replicas holding a ledger, extra memory)
    let (per_tx, b, per_block, timers, in_flight, ledgers, extra) = match &system.kind {
        SystemKind::Centralized(c) => {
            let standby = if c.standby.is_some() { 2.0 } else { 0.0 };
            (2.0 + standby, 0.0, 0.0, 0.0, 64.0, 2.0, 0.0)
        }
        SystemKind::Pbft(p) => {
            let b = blocks(tx, p.batch_max_tx, p.batch_timeout, dur);
            let per_block = 2.0 * m * m + 2.0 * m + m * m / p.checkpoint_interval as f64;
            // Blocks in flight at once: the pipeline depth, but never more blocks than the run has.
            let in_flight = per_block * f64::from(p.pipeline).min(b.max(1.0));
            (2.0, b, per_block, 0.0, in_flight, m, 0.0)
        }
        SystemKind::HotStuff(h) => {
            let b = blocks(tx, h.batch.max_tx, h.batch.timeout, dur);
            (2.0, b, 2.0 * m, 0.0, 4.0 * m, m, 0.0)
        }
        SystemKind::Raft(r) => {
            let b = blocks(tx, r.batch.max_tx, r.batch.timeout, dur);
            let heartbeats = dur / secs(r.heartbeat).max(1e-9) * 2.0 * m;
            let per_block = 2.0 * m + (n - m);
            (
                2.0,
                b,
                per_block,
                heartbeats,
                per_block * f64::from(r.pipeline).min(b.max(1.0)),
                m,
                0.0,
            )
        }
        SystemKind::Poa(p) => {
            let b = dur / secs(p.period).max(1e-9);
            (2.0, b, 2.0 * n, 0.0, 4.0 * n, m, 0.0)
        }
        SystemKind::Pow(p) => {
            let b = dur / secs(p.block_interval).max(1e-9);
            // Mean outbound connections of the CDF over 1, 2, …: 1 + Σ P(X > i).
            let cdf = &p.peers_cdf;
            let peers = 1.0 + cdf[..cdf.len().saturating_sub(1)].iter().map(|c| 1.0 - c).sum::<f64>();
            let per_block = 3.0 * n * peers;
            (n, b, per_block, 0.0, per_block, n, 128.0 * b * n)
        }
    };
    let events = tx * (EVENTS_PER_TX + EVENTS_PER_MESSAGE * per_tx)
        + EVENTS_PER_MESSAGE * b * per_block
        + EVENTS_PER_MESSAGE * timers;
    // Pending transactions: about one second's worth at the mean rate.
    let pending = tx / dur.max(1e-9);
    let series = dur / secs(sc.timeseries_window).max(1e-9) * 64.0;
    let memory = 4.0 * 1024.0 * 1024.0
        + 64.0 * 1024.0 * n
        + 16.0 * n * ledgers
        + 256.0 * in_flight
        + 1024.0 * pending
        + series
        + 8.0 * (sc.network.regions * sc.network.regions) as f64
        + extra;
    (events, memory)
}

/// Estimate the events and memory of running every point × system × replication of
/// `scenario` on `threads` worker threads.
pub fn estimate(scenario: &Scenario, threads: usize) -> ResourceEstimate {
    let mut e = ResourceEstimate {
        runs: 0,
        transactions_per_run_max: 0.0,
        events_per_run_max: 0.0,
        events_total: 0.0,
        memory_per_run_max: 0.0,
        concurrent_runs: 0,
        memory_peak: 0.0,
    };
    let points = scenario.run_points();
    let mut scenarios_bytes = 0.0;
    for (_, sc) in &points {
        let tx: f64 = sc
            .flows
            .iter()
            .map(|f| mean_rate(&f.arrival, sc.start_of_day, sc.duration) * secs(sc.duration))
            .sum();
        let reps = f64::from(sc.replications);
        scenarios_bytes += 256.0 * sc.topology.nodes.len() as f64;
        for system in &sc.systems {
            let (events, memory) = run_cost(sc, system, tx);
            e.runs += u64::from(sc.replications);
            e.transactions_per_run_max = e.transactions_per_run_max.max(tx);
            e.events_per_run_max = e.events_per_run_max.max(events);
            e.events_total += events * reps;
            e.memory_per_run_max = e.memory_per_run_max.max(memory);
        }
    }
    e.concurrent_runs = e.runs.min(threads.max(1) as u64);
    e.memory_peak = e.memory_per_run_max * e.concurrent_runs as f64 + scenarios_bytes;
    e
}
