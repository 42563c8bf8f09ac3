//! The scenario file as written: `serde` structs mirroring the TOML, with
//! `deny_unknown_fields` everywhere. Nothing here is validated; see [`super::validate`].
//!
//! Quantities are kept as strings (`"250ms"`, `"100Mbps"`) so that error messages can quote
//! what the user wrote. The same structs serialize back into the manifest as the resolved
//! scenario.

use serde::{Deserialize, Serialize};

/// The whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Short name; becomes the default output directory `results/<name>/`.
    pub name: String,
    /// One or two sentences for the report.
    #[serde(default)]
    pub description: String,
    /// Master seed of every random stream.
    pub seed: u64,
    /// Simulated duration, e.g. `"10m"`.
    pub duration: String,
    /// Warm-up excluded from statistics, e.g. `"1m"`.
    #[serde(default = "default_zero")]
    pub warmup: String,
    /// Independent replications per system.
    #[serde(default = "default_replications")]
    pub replications: u32,
    /// Currency code for every price and amount (e.g. `"CNY"`).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Time of day at simulated time zero (`"HH:MM"`); anchors cut-offs and rate profiles.
    #[serde(default = "default_start")]
    pub start_time: String,
    /// Window of the time series, e.g. `"10s"`.
    #[serde(default = "default_window")]
    pub timeseries_window: String,
    /// Nodes and regions.
    pub topology: RawTopology,
    /// Latency, jitter, bandwidth, loss.
    pub network: RawNetwork,
    /// CPU cost of every protocol step.
    #[serde(default)]
    pub cpu: RawCpu,
    /// Transaction flows.
    pub workload: RawWorkload,
    /// Interbank batch settlement schedule (used by the centralized system and off-ledger ledgers).
    #[serde(default)]
    pub settlement: RawSettlement,
    /// Prices.
    #[serde(default)]
    pub cost: RawCost,
    /// Systems compared, one of them `baseline = true`.
    #[serde(rename = "system")]
    pub systems: Vec<RawSystem>,
    /// Faults injected at simulated times.
    #[serde(default, rename = "fault", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<RawFault>,
    /// Parameter sweep: field path → values (Cartesian product over paths, in path order).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sweep: std::collections::BTreeMap<String, RawSweepAxis>,
    /// Capacity search: the largest offered load each system sustains within an SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<RawCapacity>,
    /// What the run must reproduce (validation scenarios); see `scenario::expect`.
    #[serde(default, rename = "expect", skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<RawExpect>,
}

/// The `[capacity]` section: a deterministic bisection over the offered load.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapacity {
    /// Latency objective: the 99th percentile of submit → recorded must not exceed it, e.g. `"500ms"`.
    pub slo_p99: String,
    /// Committed / submitted in the window must be at least this (default 0.99).
    #[serde(default = "default_throughput_ratio")]
    pub min_throughput_ratio: f64,
    /// Lowest offered load probed, tx/s (the whole workload, all flows together).
    pub min_tps: f64,
    /// Highest offered load probed, tx/s.
    pub max_tps: f64,
    /// Bisection steps after probing both bounds (default 8).
    #[serde(default = "default_capacity_iterations")]
    pub iterations: u32,
    /// `"mean"` (default): the means over replications pass; `"every"`: every replication passes.
    #[serde(default = "default_capacity_criterion")]
    pub criterion: String,
    /// Names of the systems to search (default: every system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systems: Option<Vec<String>>,
}

fn default_throughput_ratio() -> f64 {
    0.99
}
fn default_capacity_iterations() -> u32 {
    8
}
fn default_capacity_criterion() -> String {
    "mean".into()
}

/// One `[[expect]]` table: a metric, an expected value or bounds, and where it comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// `<system>.<path>`, e.g. `pbft.latency_ms.p50`.
    pub metric: String,
    /// Short description for reports (default: the metric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Expected value of the simulated mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Allowed deviation: `"1%"` (of `value`) or an absolute amount (`0.5` or `"0.5"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<RawTolerance>,
    /// `value` must lie inside the simulated 95 % confidence interval.
    #[serde(default, skip_serializing_if = "is_false")]
    pub within_ci: bool,
    /// Lower bound on the simulated mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound on the simulated mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Sweep point (0-based) the expectation is about; required with a `[sweep]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<u32>,
    /// Compare `point` with this sweep point instead of checking it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versus_point: Option<u32>,
    /// `"difference"` (default) or `"ratio"` between `point` and `versus_point`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// Divide a difference by this (e.g. the change of the swept parameter: a slope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<f64>,
    /// Where the expected value comes from: formula, paper, table.
    #[serde(default)]
    pub source: String,
    /// Free text shown with the verdict (e.g. why the case is known to fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A tolerance as written: `"1%"`, `"0.5"` or `0.5`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawTolerance {
    /// A number: an absolute amount.
    Number(f64),
    /// Text: `"1%"` (relative) or `"0.5"` (absolute).
    Text(String),
}

/// The values one swept parameter takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawSweepAxis {
    /// Explicit values, e.g. `[100, 500, 1000]` or `["1m", "5m"]`.
    Values(Vec<toml::Value>),
    /// `steps` evenly spaced numbers from `from` to `to` inclusive.
    Range {
        /// First value.
        from: f64,
        /// Last value.
        to: f64,
        /// Number of values (≥ 2).
        steps: u32,
    },
}

fn default_zero() -> String {
    "0".into()
}
fn default_replications() -> u32 {
    5
}
fn default_currency() -> String {
    "CNY".into()
}
fn default_start() -> String {
    "00:00".into()
}
fn default_window() -> String {
    "10s".into()
}

/// Regions and node groups.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopology {
    /// Region names; every node is in one.
    pub regions: Vec<String>,
    /// Node groups, each with one role.
    #[serde(rename = "group")]
    pub groups: Vec<RawGroup>,
}

/// A group of nodes that share a role and hardware.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// Role label (`province`, `bank`, `fund`, or any label).
    pub role: String,
    /// Explicit node names. Either `names` or `count` (+ `name_prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Number of nodes named `<name_prefix>-<i>` (i from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Prefix for generated names (default: the role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// One region for the whole group…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// …or one region per node, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// CPU cores per node.
    #[serde(default = "default_cores")]
    pub cores: u32,
    /// Egress bandwidth per node (default: `network.bandwidth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<String>,
    /// Download (ingress) bandwidth per node; a transfer is serialized at
    /// min(sender's `bandwidth`, receiver's `download_bandwidth`). Default: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_bandwidth: Option<String>,
    /// Egress bandwidth drawn for each node, once per replication, from this distribution
    /// (instead of one `bandwidth` for the whole group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_dist: Option<RawPiecewiseDist>,
    /// Download bandwidth drawn for each node from this distribution (instead of
    /// `download_bandwidth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_bandwidth_dist: Option<RawPiecewiseDist>,
    /// A node table (CSV, path relative to the scenario file): one node per line with its
    /// name and optionally its region and fixed bandwidths (instead of `names` / `count`;
    /// see [`super::inputs`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes_file: Option<String>,
}

/// A per-node bandwidth distribution: `{ dist = "piecewise", bins_mbps = [[low, high,
/// weight], ...] }` — a bin is picked with probability weight / total weight and the value
/// is uniform in [low, high) Mbit/s (C++'s `std::piecewise_constant_distribution`, with
/// empty bins left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPiecewiseDist {
    /// `"piecewise"`.
    pub dist: String,
    /// Bins `[low Mbit/s, high Mbit/s, weight]`.
    pub bins_mbps: Vec<[f64; 3]>,
}

/// A per-block size distribution (PoW `block_bytes_dist`): like [`RawPiecewiseDist`], with
/// bins `[low bytes, high bytes, weight]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlockBytesDist {
    /// `"piecewise"`.
    pub dist: String,
    /// Bins `[low bytes, high bytes, weight]`.
    pub bins_bytes: Vec<[f64; 3]>,
}

fn default_cores() -> u32 {
    8
}

/// The network model's parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Round-trip time between nodes in the same region.
    pub intra_region_rtt: String,
    /// Region-pair round-trip times (symmetric).
    #[serde(default, rename = "rtt")]
    pub rtts: Vec<RawRtt>,
    /// Alternative to `rtt`: a full matrix in the order of `topology.regions`, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_matrix_ms: Option<Vec<Vec<f64>>>,
    /// Whether `rtt_matrix_ms` must be symmetric (default true).
    #[serde(default = "default_true")]
    pub symmetric: bool,
    /// Use the diagonal of `rtt_matrix_ms` as each region's intra-region round trip instead of
    /// `intra_region_rtt` (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub rtt_matrix_diagonal: bool,
    /// Default egress bandwidth per node, e.g. `"100Mbps"`; `"unlimited"` disables serialization delay.
    #[serde(default = "default_bandwidth")]
    pub bandwidth: String,
    /// Jitter on the one-way base delay.
    #[serde(default)]
    pub jitter: RawJitter,
    /// Probability that one transmission of a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Retransmission timeout after a loss.
    #[serde(default = "default_rto")]
    pub retransmit_timeout: String,
    /// Fixed per-message header overhead in bytes added to every message.
    #[serde(default = "default_header")]
    pub header_bytes: u32,
    /// What the jitter is drawn for: "message" (default: every message draws its own delay)
    /// or "link" (each pair of nodes draws one delay, used by every message between them
    /// in both directions, as on ns-3 point-to-point links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_per: Option<String>,
}

fn default_true() -> bool {
    true
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn default_bandwidth() -> String {
    "100Mbps".into()
}
fn default_rto() -> String {
    "200ms".into()
}
fn default_header() -> u32 {
    64
}

/// One region-pair round-trip time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRtt {
    /// The two regions.
    pub between: [String; 2],
    /// Round-trip time, e.g. `"28.6ms"`.
    pub rtt: String,
}

/// Jitter distribution applied to each message's one-way delay.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawJitter {
    /// No jitter.
    #[default]
    None,
    /// Base × (1 + U(−pct, +pct)/100).
    Uniform {
        /// Half-width in percent of the base delay.
        pct: f64,
    },
    /// Base × (1 + N(0, pct/100)), truncated at zero.
    Normal {
        /// Standard deviation in percent of the base delay.
        pct: f64,
    },
    /// Base × LogNormal with mean 1 and the given σ of the underlying normal.
    Lognormal {
        /// σ in log space.
        sigma: f64,
    },
    /// Base + Exp(mean).
    Exponential {
        /// Mean extra delay, e.g. `"2ms"`.
        mean: String,
    },
    /// The whole delay is Pareto-distributed with scale x_m = base − `shift` and shape
    /// α = `shape_per_ms` × base (in ms); SimBlock's rule is `shape_per_ms = 0.2`,
    /// `shift = "5ms"`, whose mean is exactly the base. Falls back to the base delay when
    /// x_m ≤ 0 or α ≤ 1 (infinite mean).
    Pareto {
        /// Shape per millisecond of base delay (α = shape_per_ms × base_ms).
        shape_per_ms: f64,
        /// Scale x_m = base − shift, e.g. `"5ms"`.
        shift: String,
    },
}

/// CPU time of each protocol step (per node, on one core).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCpu {
    /// Create one signature.
    #[serde(default = "cpu_sign")]
    pub sign: String,
    /// Verify one signature.
    #[serde(default = "cpu_verify")]
    pub verify: String,
    /// Hash one kilobyte (1,000 bytes).
    #[serde(default = "cpu_hash")]
    pub hash_per_kb: String,
    /// Execute one transaction against the ledger state.
    #[serde(default = "cpu_exec")]
    pub execute_tx: String,
    /// Persist one block / one database commit.
    #[serde(default = "cpu_commit")]
    pub db_commit: String,
    /// Receive cost charged for every message a replica receives (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_message: Option<String>,
}

fn cpu_sign() -> String {
    "50us".into()
}
fn cpu_verify() -> String {
    "100us".into()
}
fn cpu_hash() -> String {
    "2us".into()
}
fn cpu_exec() -> String {
    "20us".into()
}
fn cpu_commit() -> String {
    "1ms".into()
}

impl Default for RawCpu {
    fn default() -> Self {
        Self {
            sign: cpu_sign(),
            verify: cpu_verify(),
            hash_per_kb: cpu_hash(),
            execute_tx: cpu_exec(),
            db_commit: cpu_commit(),
            per_message: None,
        }
    }
}

/// The workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Transaction flows between roles.
    #[serde(rename = "flow")]
    pub flows: Vec<RawFlow>,
    /// Opening balance of every institution's account, in currency units.
    #[serde(default = "default_balance")]
    pub initial_balance: f64,
}

fn default_balance() -> f64 {
    1.0e12
}

/// One flow of transactions from one role to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    /// Flow name (e.g. `payouts`).
    pub name: String,
    /// Paying role.
    pub from: String,
    /// Receiving role.
    pub to: String,
    /// Optional intermediary role that submits and carries the payment (a custodian bank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// How endpoints are chosen: `uniform`, `round_robin`, `same_region`.
    #[serde(default = "default_endpoints")]
    pub endpoints: String,
    /// Arrival process.
    pub arrival: RawArrival,
    /// Transaction size on the wire and on disk.
    pub size_bytes: u32,
    /// Amount distribution in currency units.
    pub amount: RawAmount,
    /// Interbank fee schedule for this flow: `tiered` (per-transfer corporate tariff) or `bulk`.
    #[serde(default = "default_fee")]
    pub fee: String,
    /// Stop the flow after this many transactions (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

fn default_endpoints() -> String {
    "uniform".into()
}
fn default_fee() -> String {
    "tiered".into()
}

/// Arrival process of a flow; rates in transactions per simulated second.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawArrival {
    /// Poisson arrivals at a constant rate.
    Poisson {
        /// Transactions per second.
        rate: f64,
    },
    /// Evenly spaced arrivals.
    Constant {
        /// Transactions per second.
        rate: f64,
    },
    /// Piecewise-constant rate over the time of day; Poisson within each piece.
    Profile {
        /// `[["HH:MM", rate], …]`, sorted; each rate holds until the next point (wrapping daily).
        points: Vec<(String, f64)>,
    },
}

/// Amount distribution (currency units).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAmount {
    /// Always the same amount.
    Constant {
        /// The amount.
        value: f64,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Log-normal with the given median and σ in log space.
    Lognormal {
        /// Median amount.
        median: f64,
        /// σ of ln(amount).
        sigma: f64,
    },
}

/// A distribution of service durations (e.g. the operator database's commit time).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawServiceDist {
    /// Always `mean`.
    Constant {
        /// The duration.
        mean: String,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean duration.
        mean: String,
    },
    /// Log-normal with the given mean and σ in log space.
    Lognormal {
        /// Mean duration.
        mean: String,
        /// σ of the log.
        sigma: f64,
    },
}

/// The interbank settlement schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettlement {
    /// Daily cut-off times (`"HH:MM"`), e.g. `["17:15"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cutoffs: Vec<String>,
    /// Alternative: a batch every interval from midnight, e.g. `"4h"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
}

impl Default for RawSettlement {
    fn default() -> Self {
        Self {
            cutoffs: vec!["17:15".into()],
            every: None,
        }
    }
}

/// Prices; all in the scenario's currency.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCost {
    /// Price of one node-hour (a server with its operations), per node.
    #[serde(default = "c_node_hour")]
    pub node_hour: f64,
    /// Price per GB (10^9 bytes) sent between nodes.
    #[serde(default = "c_egress")]
    pub egress_per_gb: f64,
    /// Price per GB-month of replicated storage.
    #[serde(default = "c_storage")]
    pub storage_per_gb_month: f64,
    /// Months each record is kept.
    #[serde(default = "c_retention")]
    pub retention_months: f64,
    /// Annual rate for the float cost of money waiting to settle (e.g. 0.02).
    #[serde(default = "c_float")]
    pub float_rate_annual: f64,
    /// Reconciliation effort per transaction.
    #[serde(default = "c_recon")]
    pub reconciliation_per_tx: f64,
    /// Fraction of transactions that raise an exception (enquiry, manual repair).
    #[serde(default = "c_exc_rate")]
    pub exception_rate: f64,
    /// Cost of handling one exception.
    #[serde(default = "c_exc_cost")]
    pub exception_cost: f64,
    /// Tiered per-transfer tariff: `[[upper_amount, fee], …]` ascending.
    #[serde(default = "c_tiers")]
    pub transfer_fee_tiers: Vec<(f64, f64)>,
    /// Fee above the last tier, as a fraction of the amount (0.00002 = 0.002 %).
    #[serde(default = "c_above")]
    pub transfer_fee_above_fraction: f64,
    /// Cap of the fee above the last tier.
    #[serde(default = "c_cap")]
    pub transfer_fee_cap: f64,
    /// Per-item fee of bulk (batch) transfers.
    #[serde(default = "c_bulk")]
    pub bulk_fee_per_item: f64,
    /// Electricity price per kWh (proof-of-work energy).
    #[serde(default = "c_kwh")]
    pub electricity_per_kwh: f64,
}

fn c_node_hour() -> f64 {
    3.9
}
fn c_egress() -> f64 {
    0.5
}
fn c_storage() -> f64 {
    0.7
}
fn c_retention() -> f64 {
    120.0
}
fn c_float() -> f64 {
    0.02
}
fn c_recon() -> f64 {
    0.06
}
fn c_exc_rate() -> f64 {
    0.03
}
fn c_exc_cost() -> f64 {
    150.0
}
fn c_tiers() -> Vec<(f64, f64)> {
    vec![
        (10_000.0, 5.0),
        (100_000.0, 10.0),
        (500_000.0, 15.0),
        (1_000_000.0, 20.0),
    ]
}
fn c_above() -> f64 {
    0.00002
}
fn c_cap() -> f64 {
    200.0
}
fn c_bulk() -> f64 {
    0.3
}
fn c_kwh() -> f64 {
    0.63
}

impl Default for RawCost {
    fn default() -> Self {
        Self {
            node_hour: c_node_hour(),
            egress_per_gb: c_egress(),
            storage_per_gb_month: c_storage(),
            retention_months: c_retention(),
            float_rate_annual: c_float(),
            reconciliation_per_tx: c_recon(),
            exception_rate: c_exc_rate(),
            exception_cost: c_exc_cost(),
            transfer_fee_tiers: c_tiers(),
            transfer_fee_above_fraction: c_above(),
            transfer_fee_cap: c_cap(),
            bulk_fee_per_item: c_bulk(),
            electricity_per_kwh: c_kwh(),
        }
    }
}

/// Per-system overrides of the cost model.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSystemCost {
    /// Override `cost.node_hour` for this system's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_hour: Option<f64>,
    /// Override `cost.reconciliation_per_tx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciliation_per_tx: Option<f64>,
    /// Override `cost.exception_rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_rate: Option<f64>,
    /// Fee per transaction charged by the ledger itself (on-ledger settlement), default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_fee_per_tx: Option<f64>,
}

/// Which nodes run a ledger protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValidators {
    /// Every node with one of these roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Plus these nodes by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// One system under comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSystem {
    /// Name shown in tables (unique).
    pub name: String,
    /// `centralized`, `pbft`, `raft`, `hotstuff`, `poa` or `pow`.
    pub consensus: String,
    /// Exactly one system is the baseline for savings.
    #[serde(default)]
    pub baseline: bool,
    /// `batch` (interbank batches, the only choice for `centralized`), `on-ledger` or `off-ledger`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<String>,
    /// Centralized: the operator node's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Centralized: optional synchronous standby node's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<String>,
    /// Centralized: database servers (parallel commit slots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_servers: Option<u32>,
    /// Centralized: database service time per transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_service: Option<RawServiceDist>,
    /// Ledger: validators (default: all nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<RawValidators>,
    /// PBFT: maximum transactions per batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_max_tx: Option<u32>,
    /// PBFT: maximum batch bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_max_bytes: Option<u64>,
    /// PBFT: send a partial batch after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_timeout: Option<String>,
    /// PBFT: instances the primary may have in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<u32>,
    /// PBFT / HotStuff / PoA: time without progress before a view change (PoA: before an
    /// offline authority's slot is skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_timeout: Option<String>,
    /// PBFT: a checkpoint every this many sequence numbers (bounds the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval: Option<u64>,
    /// PBFT: when a replica replies to the client: `after-execution` (default) or
    /// `on-commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// Raft: randomized election timeout range `["150ms", "300ms"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_timeout: Option<[String; 2]>,
    /// Raft: leader heartbeat interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<String>,
    /// Raft: `order-execute` (default: the orderers execute and commit) or
    /// `execute-order-validate` (Fabric: peers endorse, orderers only order, peers validate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// Raft with `execution = "execute-order-validate"`: endorsement signatures a peer
    /// verifies per transaction when it validates a block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endorsements: Option<u32>,
    /// HotStuff: CPU time to verify one quorum certificate (aggregate signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qc_verify: Option<String>,
    /// PoA: block period (one authority seals a block every period, in turn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// PoW: mean block interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_interval: Option<String>,
    /// PoW: confirmations for finality (k).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u32>,
    /// PoW: outbound peer connections per node (fixed), or see `peers_cdf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<u32>,
    /// PoW: cumulative distribution of outbound connections over k = 1, 2, … (SimBlock style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers_cdf: Option<Vec<f64>>,
    /// PoW: what the drawn peer count means: "outbound" (default: links the node opens) or
    /// "total" (the node opens links until its degree reaches the count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_links: Option<String>,
    /// PoW: peer count of every miner (instead of a draw from `peers` / `peers_cdf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miner_peers: Option<u32>,
    /// PoW: link every pair of miners directly (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miner_mesh: Option<bool>,
    /// PoW: an explicit peer graph (adjacency list, path relative to the scenario file)
    /// instead of a drawn one (see [`super::inputs`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_graph: Option<String>,
    /// PoW: relay compact blocks (fraction of nodes using it, 0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_block_share: Option<f64>,
    /// PoW: compact block size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_block_bytes: Option<u32>,
    /// PoW: probability that a compact block fails and the full block must follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_failure: Option<f64>,
    /// PoW: fixed block size in bytes (SimBlock style), instead of filling with transactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_bytes: Option<u64>,
    /// PoW: per-block size distribution, `{ dist = "piecewise", bins_bytes = [[low, high,
    /// weight], ...] }` (bytes), drawn for every mined block (instead of `block_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_bytes_dist: Option<RawBlockBytesDist>,
    /// PoW: per-node mining power distribution (relative shares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_power: Option<RawHashPower>,
    /// PoW: total hash rate of the network, hashes per second (for energy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_rate: Option<f64>,
    /// PoW: energy per hash, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joules_per_hash: Option<f64>,
    /// PoW: per-block processing time at each node before relaying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_processing: Option<String>,
    /// PoW: relay timing model, "egress" (default) or "simblock".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_timing: Option<String>,
    /// PoW: block validation time per 1,000 bytes of block, added to `block_processing`
    /// (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_processing_per_kb: Option<String>,
    /// PoW: when the per-node propagation statistic records a block: "validated" (default:
    /// after `block_processing`) or "arrival" (when the block arrived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagation_at: Option<String>,
    /// PoW: how INV / GETDATA / GETBLOCKTXN use the network: "egress" (default: the sender's
    /// egress FIFO) or "link" (each on its own link at min(both ends' up/down), in parallel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_lane: Option<String>,
    /// PoW: how long a requested block is awaited before another announcer's INV may
    /// request it again (default "60s").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inv_timeout: Option<String>,
    /// PoW: when a timed-out block request is repeated: "on-inv" (default: when another
    /// announcer's INV arrives after `inv_timeout`) or "timer" (a timer per request fires
    /// after `inv_timeout` and asks the next announcer, as Gervais et al.'s simulator does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerequest: Option<String>,
    /// PoW: cap on each node's degree while the peer graph is built (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degree_cap: Option<RawDegreeCap>,
    /// PoW: fraction of churning nodes (SimBlock), 0–1 (default 1: all use `compact_failure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn_share: Option<f64>,
    /// PoW: compact-block failure probability of non-churning nodes (default `compact_failure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_failure_stable: Option<f64>,
    /// PoW: fraction of the block a churning node sends after a compact failure (default:
    /// the full block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_refill: Option<RawRefill>,
    /// PoW: the same for a non-churning node (default: `compact_refill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compact_refill_stable: Option<RawRefill>,
    /// Cost overrides.
    #[serde(default)]
    pub cost: RawSystemCost,
}

/// PoW `degree_cap`: a node whose drawn count c is at least `slack[k][0]` (the last such k)
/// accepts links up to degree c + `slack[k][1]`; a miner up to `miner`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDegreeCap {
    /// `[[from_count, extra], ...]`, `from_count` strictly increasing from 1.
    pub slack: Vec<[u32; 2]>,
    /// Degree cap of a miner (default: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miner: Option<u32>,
}

/// An empirical distribution: `fraction[i]` with weight `weight[i]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRefill {
    /// Fractions of the block size, each in (0, 1].
    pub fraction: Vec<f64>,
    /// Positive integer weights, one per fraction.
    pub weight: Vec<u64>,
}

/// Distribution of relative mining power over miners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawHashPower {
    /// Every miner equal.
    Uniform,
    /// Normal with mean and standard deviation (truncated at a small positive value).
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
    /// Given relative powers, one per miner in miner order (node id order).
    Shares {
        /// Positive relative powers (normalized by their sum).
        values: Vec<f64>,
    },
}

/// A set of nodes named by node name, role and/or region (union).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSelector {
    /// Node names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Regions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

/// A fault injected at a simulated time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// `crash`, `partition`, `degrade`, `slow_cpu` or `byzantine`.
    pub kind: String,
    /// Start time (simulated, from 0).
    pub at: String,
    /// End time: recover / heal / restore (default: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Apply to this system only (default: every system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The affected nodes (crash, slow_cpu, byzantine) or one side (partition, degrade).
    pub target: RawSelector,
    /// Partition / degrade: the other side (default: every node not in `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<RawSelector>,
    /// Degrade: extra one-way latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_latency: Option<String>,
    /// Degrade: extra loss probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// slow_cpu: CPU time multiplier (≥ 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// byzantine: `silent`, `equivocate` or `censor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<String>,
    /// byzantine censor: transactions paid by these nodes are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<RawSelector>,
}
