//! Sharding: split an experiment's work into `N` deterministic slices that can run on
//! different machines (a Slurm job array), and the exact per-run records that let `merge`
//! rebuild what one whole run would have produced.
//!
//! **Work units.** The work of an experiment is its `(sweep point, replication)` pairs; each
//! unit runs every system of the scenario for that point and replication (so the paired
//! comparisons of a replication are computed from runs of one machine, although nothing
//! depends on that). Units are numbered in `(point, replication)` order:
//! `unit = Σ_{q<point} replications(q) + replication`. Shard `K` of `N` (**0-based**, `0 ≤ K <
//! N`, matching `SLURM_ARRAY_TASK_ID` of `sbatch --array=0-(N-1)`) owns the units with
//! `unit mod N = K`. The round-robin assignment balances the load when sweep points differ in
//! cost (e.g. an offered load swept over orders of magnitude). A shard may own no unit when
//! `N` exceeds the number of units; it then produces an empty slice, which merges fine.
//!
//! **Exact records.** A shard writes every [`RunResult`] it computed as one JSON object per
//! line ([`RunRecord`]). Finite floats are written by `serde_json` in shortest round-trip form
//! and read back bit for bit; non-finite ones (NaN marks "undefined", e.g. a latency when
//! nothing committed) are written as the strings `"NaN"`, `"inf"` and `"-inf"`. The merged
//! statistics are therefore computed from exactly the same numbers, in exactly the same
//! order, as in a whole run, and the merged outputs are byte-identical.

use crate::consensus::ChainMetrics;
use crate::cost::{CostBreakdown, N_CATEGORIES};
use crate::metrics::{TimeSeries, Window};
use crate::scenario::Scenario;
use crate::sim::{LatencySummary, RunResult};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

/// One slice of an experiment: shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index `K`, `0 ≤ K < count`.
    pub index: usize,
    /// Number of shards `N ≥ 1`.
    pub count: usize,
}

impl Shard {
    /// Whether work unit `unit` belongs to this shard.
    pub fn owns(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parse `K/N` with `N ≥ 1` and `0 ≤ K < N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let usage = || {
            format!(
                "`{s}` is not K/N; expected two integers like `0/4` — shard K (0-based, as \
                 SLURM_ARRAY_TASK_ID of `sbatch --array=0-(N-1)`) of N shards"
            )
        };
        let (k, n) = s.split_once('/').ok_or_else(usage)?;
        let index: usize = k.trim().parse().map_err(|_| usage())?;
        let count: usize = n.trim().parse().map_err(|_| usage())?;
        if count == 0 {
            return Err(format!("`{s}`: the number of shards N must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "`{s}`: shard index K must be below N (K is 0-based: 0 ≤ K ≤ {}); for \
                 `sbatch --array` use `--array=0-{}`",
                count - 1,
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

/// The work units of `scenario` in order: `(point, replication)`.
pub fn work_units(scenario: &Scenario) -> Vec<(usize, u32)> {
    scenario
        .run_points()
        .iter()
        .enumerate()
        .flat_map(|(p, (_, sc))| (0..sc.replications).map(move |r| (p, r)))
        .collect()
}

/// The `(point, system, replication)` runs of `scenario` owned by `shard` (all runs when
/// `None`), in the order of a whole run: point, then system, then replication.
pub fn jobs(scenario: &Scenario, shard: Option<Shard>) -> Vec<(usize, usize, u32)> {
    let units = work_units(scenario);
    let owned: Vec<bool> = (0..units.len()).map(|u| shard.is_none_or(|s| s.owns(u))).collect();
    let mut first_unit = Vec::new();
    let mut out = Vec::new();
    let points = scenario.run_points();
    let mut next = 0;
    for (_, sc) in &points {
        first_unit.push(next);
        next += sc.replications as usize;
    }
    for (p, (_, sc)) in points.iter().enumerate() {
        for s in 0..sc.systems.len() {
            for r in 0..sc.replications {
                if owned[first_unit[p] + r as usize] {
                    out.push((p, s, r));
                }
            }
        }
    }
    out
}

/// A float that survives a JSON round trip bit for bit (NaN and infinities included; NaN
/// payloads are not kept, nothing reads them).
#[derive(Debug, Clone, Copy)]
struct Exact(f64);

impl Serialize for Exact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_finite() {
            s.serialize_f64(x)
        } else if x.is_nan() {
            s.serialize_str("NaN")
        } else if x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Exact, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Num(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Num(x) => Ok(Exact(x)),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(Exact(f64::NAN)),
                "inf" => Ok(Exact(f64::INFINITY)),
                "-inf" => Ok(Exact(f64::NEG_INFINITY)),
                _ => Err(serde::de::Error::custom(format!(
                    "`{t}` is not a number (expected a number, \"NaN\", \"inf\" or \"-inf\")"
                ))),
            },
        }
    }
}

fn exact_vec(v: &[f64]) -> Vec<Exact> {
    v.iter().copied().map(Exact).collect()
}

fn plain_vec(v: &[Exact]) -> Vec<f64> {
    v.iter().map(|x| x.0).collect()
}

/// Latency quantiles of one run (mirror of [`LatencySummary`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyRecord {
    p50: Exact,
    p90: Exact,
    p99: Exact,
    mean: Exact,
    count: u64,
}

impl From<LatencySummary> for LatencyRecord {
    fn from(l: LatencySummary) -> Self {
        let LatencySummary {
            p50,
            p90,
            p99,
            mean,
            count,
        } = l;
        LatencyRecord {
            p50: Exact(p50),
            p90: Exact(p90),
            p99: Exact(p99),
            mean: Exact(mean),
            count,
        }
    }
}

impl From<LatencyRecord> for LatencySummary {
    fn from(l: LatencyRecord) -> Self {
        LatencySummary {
            p50: l.p50.0,
            p90: l.p90.0,
            p99: l.p99.0,
            mean: l.mean.0,
            count: l.count,
        }
    }
}

/// Block-chain metrics of one run (mirror of [`ChainMetrics`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainRecord {
    blocks: u64,
    propagated: u64,
    propagation_p50_ms: Exact,
    propagation_p90_ms: Exact,
    node_mean_p50_ms: Exact,
    node_mean_p90_ms: Exact,
    node_mean_mean_ms: Exact,
    stale_rate: Exact,
    stale: u64,
    stale_expected_sum: Exact,
    stale_expected_sum_sq: Exact,
    stale_expected_blocks: u64,
}

/// One run, exactly (mirror of [`RunResult`]; the destructuring in the conversions makes a
/// new field of `RunResult` a compile error here until it is carried over).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    point: usize,
    system: usize,
    replication: u32,
    replica_nodes: usize,
    submitted: u64,
    committed: u64,
    throughput_tps: Exact,
    latency: LatencyRecord,
    settlement: LatencyRecord,
    /// Cost totals by category, in [`crate::cost::CATEGORIES`] order.
    cost: [Exact; N_CATEGORIES],
    cost_per_tx: [Exact; N_CATEGORIES],
    cost_per_tx_total: Exact,
    messages: u64,
    bytes: u64,
    message_kinds: Vec<(String, u64)>,
    node_utilization: Vec<Exact>,
    cpu_util_max: Exact,
    cpu_wait_ms_max: Exact,
    events: u64,
    safety_violations: u64,
    violation_notes: Vec<String>,
    view_changes: u64,
    elections: u64,
    forks: u64,
    max_commit_gap_ms: Exact,
    recovery_ms: Vec<Exact>,
    replicas_consistent: bool,
    heights: (u64, u64),
    money_conserved: bool,
    state_digest: String,
    /// Time-series window length, ns.
    timeseries_window: u64,
    /// Per window: committed, and the sum of latencies in ns (as a decimal string: u128).
    timeseries: Vec<(u64, String)>,
    chain: Option<ChainRecord>,
    /// Non-empty latency histogram buckets `(low_ns, high_ns, count)` (absent in shards
    /// written before the charts existed).
    #[serde(default)]
    latency_buckets: Vec<(u64, u64, u64)>,
    /// Non-empty settlement histogram buckets `(low_ns, high_ns, count)`.
    #[serde(default)]
    settlement_buckets: Vec<(u64, u64, u64)>,
}

fn cost_array(c: &CostBreakdown) -> [f64; N_CATEGORIES] {
    let CostBreakdown {
        infrastructure,
        network,
        storage,
        fees,
        reconciliation,
        float,
        energy,
    } = *c;
    let by_name = |name: &str| match name {
        "infrastructure" => infrastructure,
        "network" => network,
        "storage" => storage,
        "fees" => fees,
        "reconciliation" => reconciliation,
        "float" => float,
        "energy" => energy,
        other => unreachable!("unknown cost category {other}"),
    };
    std::array::from_fn(|i| by_name(crate::cost::CATEGORIES[i]))
}

fn cost_breakdown(a: &[Exact; N_CATEGORIES]) -> CostBreakdown {
    let mut c = CostBreakdown::default();
    for (name, v) in crate::cost::CATEGORIES.iter().zip(a) {
        let slot = match *name {
            "infrastructure" => &mut c.infrastructure,
            "network" => &mut c.network,
            "storage" => &mut c.storage,
            "fees" => &mut c.fees,
            "reconciliation" => &mut c.reconciliation,
            "float" => &mut c.float,
            "energy" => &mut c.energy,
            other => unreachable!("unknown cost category {other}"),
        };
        *slot = v.0;
    }
    c
}

/// Message-kind names are `&'static str` in [`RunResult`]; names read back from a shard are
/// interned once per distinct name for the life of the process (a handful of short strings).
fn intern(name: String) -> &'static str {
    static NAMES: Mutex<BTreeMap<String, &'static str>> = Mutex::new(BTreeMap::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = names.get(&name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
    names.insert(name, leaked);
    leaked
}

impl From<&RunResult> for RunRecord {
    fn from(r: &RunResult) -> Self {
        let RunResult {
            point,
            replica_nodes,
            system,
            replication,
            submitted,
            committed,
            throughput_tps,
            latency,
            settlement,
            cost,
            cost_per_tx,
            cost_per_tx_total,
            messages,
            bytes,
            message_kinds,
            node_utilization,
            cpu_util_max,
            cpu_wait_ms_max,
            events,
            safety_violations,
            violation_notes,
            view_changes,
            elections,
            forks,
            max_commit_gap_ms,
            recovery_ms,
            replicas_consistent,
            heights,
            money_conserved,
            state_digest,
            timeseries,
            chain,
            latency_buckets,
            settlement_buckets,
        } = r;
        RunRecord {
            point: *point,
            system: *system,
            replication: *replication,
            replica_nodes: *replica_nodes,
            submitted: *submitted,
            committed: *committed,
            throughput_tps: Exact(*throughput_tps),
            latency: (*latency).into(),
            settlement: (*settlement).into(),
            cost: cost_array(cost).map(Exact),
            cost_per_tx: cost_per_tx.map(Exact),
            cost_per_tx_total: Exact(*cost_per_tx_total),
            messages: *messages,
            bytes: *bytes,
            message_kinds: message_kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            node_utilization: exact_vec(node_utilization),
            cpu_util_max: Exact(*cpu_util_max),
            cpu_wait_ms_max: Exact(*cpu_wait_ms_max),
            events: *events,
            safety_violations: *safety_violations,
            violation_notes: violation_notes.clone(),
            view_changes: *view_changes,
            elections: *elections,
            forks: *forks,
            max_commit_gap_ms: Exact(*max_commit_gap_ms),
            recovery_ms: exact_vec(recovery_ms),
            replicas_consistent: *replicas_consistent,
            heights: *heights,
            money_conserved: *money_conserved,
            state_digest: state_digest.clone(),
            latency_buckets: latency_buckets.clone(),
            settlement_buckets: settlement_buckets.clone(),
            timeseries_window: timeseries.window,
            timeseries: timeseries
                .windows
                .iter()
                .map(|w| (w.committed, w.latency_sum_ns.to_string()))
                .collect(),
            chain: chain.map(|c| {
                let ChainMetrics {
                    blocks,
                    propagated,
                    propagation_p50_ms,
                    propagation_p90_ms,
                    node_mean_p50_ms,
                    node_mean_p90_ms,
                    node_mean_mean_ms,
                    stale_rate,
                    stale,
                    stale_expected_sum,
                    stale_expected_sum_sq,
                    stale_expected_blocks,
                } = c;
                ChainRecord {
                    blocks,
                    propagated,
                    propagation_p50_ms: Exact(propagation_p50_ms),
                    propagation_p90_ms: Exact(propagation_p90_ms),
                    node_mean_p50_ms: Exact(node_mean_p50_ms),
                    node_mean_p90_ms: Exact(node_mean_p90_ms),
                    node_mean_mean_ms: Exact(node_mean_mean_ms),
                    stale_rate: Exact(stale_rate),
                    stale,
                    stale_expected_sum: Exact(stale_expected_sum),
                    stale_expected_sum_sq: Exact(stale_expected_sum_sq),
                    stale_expected_blocks,
                }
            }),
        }
    }
}

impl RunRecord {
    /// `(point, system, replication)` of this run.
    pub fn key(&self) -> (usize, usize, u32) {
        (self.point, self.system, self.replication)
    }

    /// Back to the run result it was made from.
    pub fn into_run(self) -> Result<RunResult, String> {
        let timeseries = TimeSeries {
            window: self.timeseries_window,
            windows: self
                .timeseries
                .into_iter()
                .map(|(committed, sum)| {
                    sum.parse::<u128>()
                        .map(|latency_sum_ns| Window {
                            committed,
                            latency_sum_ns,
                        })
                        .map_err(|_| format!("time-series latency sum `{sum}` is not an integer"))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(RunResult {
            point: self.point,
            replica_nodes: self.replica_nodes,
            system: self.system,
            replication: self.replication,
            submitted: self.submitted,
            committed: self.committed,
            throughput_tps: self.throughput_tps.0,
            latency: self.latency.into(),
            settlement: self.settlement.into(),
            cost: cost_breakdown(&self.cost),
            cost_per_tx: self.cost_per_tx.map(|x| x.0),
            cost_per_tx_total: self.cost_per_tx_total.0,
            messages: self.messages,
            bytes: self.bytes,
            message_kinds: self.message_kinds.into_iter().map(|(k, n)| (intern(k), n)).collect(),
            node_utilization: plain_vec(&self.node_utilization),
            cpu_util_max: self.cpu_util_max.0,
            cpu_wait_ms_max: self.cpu_wait_ms_max.0,
            events: self.events,
            safety_violations: self.safety_violations,
            violation_notes: self.violation_notes,
            view_changes: self.view_changes,
            elections: self.elections,
            forks: self.forks,
            max_commit_gap_ms: self.max_commit_gap_ms.0,
            recovery_ms: plain_vec(&self.recovery_ms),
            replicas_consistent: self.replicas_consistent,
            heights: self.heights,
            money_conserved: self.money_conserved,
            state_digest: self.state_digest,
            timeseries,
            latency_buckets: self.latency_buckets,
            settlement_buckets: self.settlement_buckets,
            chain: self.chain.map(|c| ChainMetrics {
                blocks: c.blocks,
                propagated: c.propagated,
                propagation_p50_ms: c.propagation_p50_ms.0,
                propagation_p90_ms: c.propagation_p90_ms.0,
                node_mean_p50_ms: c.node_mean_p50_ms.0,
                node_mean_p90_ms: c.node_mean_p90_ms.0,
                node_mean_mean_ms: c.node_mean_mean_ms.0,
                stale_rate: c.stale_rate.0,
                stale: c.stale,
                stale_expected_sum: c.stale_expected_sum.0,
                stale_expected_sum_sq: c.stale_expected_sum_sq.0,
                stale_expected_blocks: c.stale_expected_blocks,
            }),
        })
    }
}

/// The shard data file: one [`RunRecord`] per line, in run order.
pub fn runs_jsonl(runs: &[RunResult]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    for r in runs {
        serde_json::to_writer(&mut out, &RunRecord::from(r))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Parse a shard data file; errors name the line.
pub fn parse_runs_jsonl(text: &str) -> Result<Vec<RunResult>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<RunRecord>(l)
                .map_err(|e| e.to_string())
                .and_then(RunRecord::into_run)
                .map_err(|e| format!("line {}: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax_is_validated() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("0/1".parse::<Shard>(), Ok(Shard { index: 0, count: 1 }));
        for bad in ["4/4", "1/0", "0/0", "a/2", "1", "-1/2", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("4/4".parse::<Shard>().unwrap_err().contains("0-based"));
    }

    #[test]
    fn shards_partition_the_units() {
        for n in 1..6 {
            let mut seen = vec![0; 13];
            for k in 0..n {
                let s = Shard { index: k, count: n };
                for (u, c) in seen.iter_mut().enumerate() {
                    if s.owns(u) {
                        *c += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "{n}: {seen:?}");
        }
    }

    #[test]
    fn exact_floats_round_trip() {
        let xs = [
            0.1,
            1.0 / 3.0,
            -0.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            123456.789e10,
        ];
        let text = serde_json::to_string(&exact_vec(&xs)).unwrap();
        let back: Vec<Exact> = serde_json::from_str(&text).unwrap();
        for (a, b) in xs.iter().zip(back) {
            assert!(
                a.to_bits() == b.0.to_bits() || (a.is_nan() && b.0.is_nan()),
                "{a} vs {}",
                b.0
            );
        }
        let huge: u128 = u128::MAX - 7;
        assert_eq!(huge.to_string().parse::<u128>().unwrap(), huge);
    }
}
