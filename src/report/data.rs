//! The data files of a results directory, read back for charts and `report.html`.
//!
//! Charts and the report are drawn from these files only (never from in-memory results), so
//! `ledgersim plot DIR` regenerates exactly what `ledgersim run` wrote. Every field the
//! report does not strictly need is optional, so results written by older or newer versions
//! still plot.

use crate::scenario::Scenario;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A statistic over replications as written in `summary.json`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct StatData {
    /// Mean (`None` when no replication produced a finite value).
    pub mean: Option<f64>,
    /// 95 % confidence interval, when there are at least two values.
    pub ci95: Option<[f64; 2]>,
    /// Number of replications it is computed from.
    #[serde(default)]
    pub n: usize,
}

impl StatData {
    /// The mean, or NaN.
    pub fn m(&self) -> f64 {
        self.mean.unwrap_or(f64::NAN)
    }

    /// The CI bounds, or the mean twice when there is no CI.
    pub fn bounds(&self) -> (f64, f64) {
        match self.ci95 {
            Some([lo, hi]) => (lo, hi),
            None => (self.m(), self.m()),
        }
    }

    /// Half-width of the CI (0 without one).
    pub fn half_width(&self) -> f64 {
        self.ci95.map(|[lo, hi]| (hi - lo) / 2.0).unwrap_or(0.0)
    }
}

/// Latency quantiles (ms).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct LatencyData {
    /// Median.
    pub p50: StatData,
    /// 90th percentile.
    pub p90: StatData,
    /// 99th percentile.
    pub p99: StatData,
    /// Mean.
    pub mean: StatData,
}

/// Cost per transaction with its breakdown by category.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CostData {
    /// Total.
    pub total: StatData,
    /// Category → statistic (sorted by category name).
    pub breakdown: BTreeMap<String, StatData>,
}

/// Paired differences to the baseline.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct PairedData {
    /// Cost per transaction difference.
    pub cost_per_tx: StatData,
    /// Mean latency difference, ms.
    pub latency_mean_ms: StatData,
    /// p99 latency difference, ms.
    pub latency_p99_ms: StatData,
    /// Mean settlement latency difference, ms.
    pub settlement_mean_ms: StatData,
}

/// Recovery after one fault.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RecoveryData {
    /// Fault label.
    pub fault: String,
    /// Fault end → next client commit, ms.
    pub recovery_ms: StatData,
}

/// One system's summary.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SystemData {
    /// System name.
    pub name: String,
    /// Consensus label.
    pub consensus: String,
    /// Settlement mode.
    pub settlement: String,
    /// Nodes the system runs on.
    pub nodes: usize,
    /// Consensus members.
    pub members: usize,
    /// Faults tolerated.
    pub faults_tolerated: usize,
    /// Committed transactions in the window.
    pub committed: StatData,
    /// Throughput, tx/s.
    pub throughput_tps: StatData,
    /// Submit → recorded, ms.
    pub latency_ms: LatencyData,
    /// Submit → settled, ms.
    pub settlement_latency_ms: LatencyData,
    /// Cost per transaction.
    pub cost_per_tx: CostData,
    /// Paired saving against the baseline, %.
    pub savings_vs_baseline_pct: StatData,
    /// Paired differences to the baseline.
    pub paired_vs_baseline: PairedData,
    /// Messages per transaction.
    pub messages_per_tx: StatData,
    /// Highest CPU utilization.
    pub cpu_utilization_max: StatData,
    /// Safety violations summed over replications.
    pub safety_violations: u64,
    /// First violations described.
    pub safety_violation_notes: Vec<String>,
    /// View changes per run.
    pub view_changes: StatData,
    /// Elections per run.
    pub elections: StatData,
    /// Forks per run.
    pub forks: StatData,
    /// Longest gap without a client commit, ms.
    pub max_commit_gap_ms: StatData,
    /// Recovery per fault.
    pub recovery_ms: Vec<RecoveryData>,
    /// Replicas consistent in every replication.
    pub replicas_consistent: bool,
    /// Money conserved in every replication.
    pub money_conserved: bool,
}

/// One sweep point.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PointData {
    /// Point index.
    pub index: usize,
    /// Swept path → value as written.
    pub values: BTreeMap<String, String>,
    /// Per-system summaries at this point.
    pub systems: Vec<SystemData>,
}

/// The `sweep` object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SweepData {
    /// Swept paths in sweep order.
    pub parameters: Vec<String>,
    /// Points in index order.
    pub points: Vec<PointData>,
}

/// One probe of a capacity search.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct ProbeData {
    /// Offered load, tx/s.
    pub offered_tps: f64,
    /// Achieved throughput, tx/s.
    pub achieved_tps: f64,
    /// p99 latency, ms (`None` when nothing committed).
    pub p99_ms: Option<f64>,
    /// Whether the probe met the service-level objective.
    pub ok: bool,
}

/// Capacity search result of one system.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CapacitySystemData {
    /// System name.
    pub system: String,
    /// Highest offered load that met the objective (`None`: none did).
    pub capacity_tps: Option<f64>,
    /// Probes in the order they ran.
    pub probes: Vec<ProbeData>,
}

/// The `capacity` object of `summary.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CapacityData {
    /// p99 latency objective, ms.
    pub slo_p99_ms: Option<f64>,
    /// Minimum achieved / offered ratio.
    pub min_throughput_ratio: Option<f64>,
    /// Per system.
    pub systems: Vec<CapacitySystemData>,
}

/// `summary.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryData {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// ledgersim version.
    pub version: String,
    /// Master seed.
    pub seed: u64,
    /// Replications.
    pub replications: u32,
    /// Currency code.
    pub currency: String,
    /// Simulated duration, s.
    pub duration_s: f64,
    /// Warm-up, s.
    pub warmup_s: f64,
    /// Baseline system name.
    pub baseline: String,
    /// Settlement schedule, in words.
    pub settlement_schedule: String,
    /// Per-system summaries (first or only point).
    pub systems: Vec<SystemData>,
    /// Sweep, when the scenario has one.
    pub sweep: Option<SweepData>,
    /// Capacity search, when the scenario has one.
    pub capacity: Option<CapacityData>,
}

/// One row of `timeseries.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct TimeseriesRow {
    /// Sweep point.
    pub point: usize,
    /// System name.
    pub system: String,
    /// Replication.
    pub replication: u32,
    /// Window start, s.
    pub window_start_s: f64,
    /// Commits in the window.
    pub committed: u64,
    /// Commits per second in the window.
    pub throughput_tps: f64,
    /// Mean latency of the window's commits, ms (empty when none).
    pub latency_mean_ms: Option<f64>,
}

/// One row of `latency_histograms.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct HistogramRow {
    /// Sweep point.
    pub point: usize,
    /// System name.
    pub system: String,
    /// Replication.
    pub replication: u32,
    /// `recorded` or `settled`.
    pub measure: String,
    /// Bucket lower bound (inclusive), ns.
    pub bucket_low_ns: u64,
    /// Bucket upper bound (exclusive), ns.
    pub bucket_high_ns: u64,
    /// Samples in the bucket.
    pub count: u64,
}

/// Everything the charts and the report are drawn from.
pub struct ReportData {
    /// `summary.json`.
    pub summary: SummaryData,
    /// `timeseries.csv`.
    pub timeseries: Vec<TimeseriesRow>,
    /// `latency_histograms.csv` (empty when the file is absent).
    pub histograms: Vec<HistogramRow>,
    /// `manifest.json`.
    pub manifest: serde_json::Value,
    /// The resolved scenario of the manifest, validated (faults, prices, network).
    pub scenario: Option<Scenario>,
}

fn csv_rows<T: serde::de::DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<Vec<T>, String> {
    let mut r = csv::Reader::from_reader(bytes);
    r.deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| format!("{name}: row {}: {e}", i + 2)))
        .collect()
}

impl ReportData {
    /// Parse the data files from their bytes. `histograms` may be absent (older results).
    pub fn from_bytes(
        summary: &[u8],
        timeseries: &[u8],
        histograms: Option<&[u8]>,
        manifest: &[u8],
    ) -> Result<ReportData, String> {
        let summary: SummaryData = serde_json::from_slice(summary).map_err(|e| format!("summary.json: {e}"))?;
        let timeseries = csv_rows("timeseries.csv", timeseries)?;
        let histograms = match histograms {
            Some(b) => csv_rows("latency_histograms.csv", b)?,
            None => Vec::new(),
        };
        let manifest: serde_json::Value =
            serde_json::from_slice(manifest).map_err(|e| format!("manifest.json: {e}"))?;
        let scenario = manifest
            .get("resolved_scenario")
            .cloned()
            .and_then(|raw| serde_json::from_value::<crate::scenario::raw::RawScenario>(raw).ok())
            .and_then(|raw| {
                let base = super::manifest_input_base(&manifest);
                let mut reader = crate::scenario::inputs::InputReader::new(base.as_deref());
                crate::scenario::validate::validate_in(raw, "manifest.json", &mut reader).ok()
            });
        Ok(ReportData {
            summary,
            timeseries,
            histograms,
            manifest,
            scenario,
        })
    }

    /// Read the data files of a results directory.
    pub fn load(dir: &Path) -> Result<ReportData, String> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))
        };
        let hist = dir.join("latency_histograms.csv");
        let hist = if hist.exists() {
            Some(read("latency_histograms.csv")?)
        } else {
            None
        };
        ReportData::from_bytes(
            &read("summary.json")?,
            &read("timeseries.csv")?,
            hist.as_deref(),
            &read("manifest.json")?,
        )
    }

    /// Index of the baseline among `summary.systems` (0 if not found).
    pub fn baseline_index(&self) -> usize {
        self.summary
            .systems
            .iter()
            .position(|s| s.name == self.summary.baseline)
            .unwrap_or(0)
    }

    /// The currency, `CNY` by default.
    pub fn currency(&self) -> &str {
        if self.summary.currency.is_empty() {
            "CNY"
        } else {
            &self.summary.currency
        }
    }
}
