//! Scenario files: the raw TOML schema ([`raw`]), unit parsing ([`units`]), validation into
//! domain types ([`validate`]) and the validated domain types themselves (this module).
//!
//! After [`Scenario::load`] succeeds the simulation cannot fail on input.

pub mod raw;
pub mod units;
pub mod validate;

use crate::engine::SimTime;
pub use validate::{ScenarioError, ValidationIssue};

/// Index of a node in [`Topology::nodes`].
pub type NodeId = u32;
/// Index of a region in [`Topology::regions`].
pub type RegionId = u16;
/// Index of a role in [`Topology::roles`].
pub type RoleId = u16;

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Scenario name (sanitized for use as a path component by the report layer).
    pub name: String,
    /// Free text.
    pub description: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated duration.
    pub duration: SimTime,
    /// Warm-up excluded from statistics.
    pub warmup: SimTime,
    /// Replications per system.
    pub replications: u32,
    /// Currency code.
    pub currency: String,
    /// Time of day (ns after midnight) at simulated time zero.
    pub start_of_day: SimTime,
    /// Time-series window.
    pub timeseries_window: SimTime,
    /// Nodes and regions.
    pub topology: Topology,
    /// Network model parameters.
    pub network: NetworkSpec,
    /// CPU costs.
    pub cpu: CpuCosts,
    /// Transaction flows.
    pub flows: Vec<FlowSpec>,
    /// Opening balance of every account, in minor units (fen/cents).
    pub initial_balance_minor: i64,
    /// Interbank settlement schedule.
    pub settlement: SettlementSchedule,
    /// Prices.
    pub cost: CostPrices,
    /// Systems to compare.
    pub systems: Vec<SystemSpec>,
    /// Index of the baseline system in `systems`.
    pub baseline: usize,
    /// The raw scenario this was validated from (for the manifest).
    pub raw: raw::RawScenario,
}

/// Regions, roles and nodes.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Region names.
    pub regions: Vec<String>,
    /// Role names, in order of first appearance.
    pub roles: Vec<String>,
    /// All nodes, ids are indices.
    pub nodes: Vec<NodeSpec>,
}

impl Topology {
    /// Nodes having role `role`, in id order.
    pub fn nodes_with_role(&self, role: RoleId) -> Vec<NodeId> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.role == role)
            .map(|(i, _)| i as NodeId)
            .collect()
    }

    /// Look up a role by name.
    pub fn role_id(&self, name: &str) -> Option<RoleId> {
        self.roles.iter().position(|r| r == name).map(|i| i as RoleId)
    }

    /// Look up a node by name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name).map(|i| i as NodeId)
    }
}

/// One node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: RoleId,
    /// Region.
    pub region: RegionId,
    /// CPU cores.
    pub cores: u32,
    /// Egress bandwidth in bits/s (`None`: unlimited).
    pub bandwidth_bps: Option<u64>,
}

/// Jitter on one-way delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// None.
    None,
    /// Uniform ± fraction of the base.
    Uniform(f64),
    /// Normal with standard deviation a fraction of the base, truncated at zero.
    Normal(f64),
    /// Multiplicative log-normal factor with mean 1 and this σ.
    Lognormal(f64),
    /// Additive exponential with this mean.
    Exponential(SimTime),
}

/// Network parameters after validation.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// One-way base delay between regions, `regions × regions`, row-major.
    pub one_way: Vec<SimTime>,
    /// Number of regions (row length of `one_way`).
    pub regions: usize,
    /// Jitter.
    pub jitter: Jitter,
    /// Loss probability per transmission.
    pub loss: f64,
    /// Retransmission timeout.
    pub rto: SimTime,
    /// Header bytes added to every message.
    pub header_bytes: u32,
}

/// CPU time of each step, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuCosts {
    /// Create a signature.
    pub sign: SimTime,
    /// Verify a signature.
    pub verify: SimTime,
    /// Hash 1,000 bytes.
    pub hash_per_kb: SimTime,
    /// Execute one transaction.
    pub execute_tx: SimTime,
    /// One database / block commit.
    pub db_commit: SimTime,
}

impl CpuCosts {
    /// All-zero costs (for analytic tests).
    pub const ZERO: CpuCosts = CpuCosts {
        sign: 0,
        verify: 0,
        hash_per_kb: 0,
        execute_tx: 0,
        db_commit: 0,
    };

    /// Hashing cost of `bytes` bytes.
    #[inline]
    pub fn hash(&self, bytes: u64) -> SimTime {
        self.hash_per_kb * bytes / 1000
    }
}

/// How a flow picks its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointChoice {
    /// Uniformly at random in each role.
    Uniform,
    /// Cycling through the members of each role.
    RoundRobin,
    /// Receiver in the payer's region when one exists, else uniform.
    SameRegion,
}

/// Arrival process.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrival {
    /// Poisson at a rate (per second).
    Poisson(f64),
    /// Deterministic spacing at a rate (per second).
    Constant(f64),
    /// Piecewise-constant Poisson rate: `(time of day, rate)` sorted by time.
    Profile(Vec<(SimTime, f64)>),
}

/// Amount distribution in minor units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmountDist {
    /// Constant.
    Constant(f64),
    /// Uniform.
    Uniform(f64, f64),
    /// Log-normal: (median, sigma).
    Lognormal(f64, f64),
}

/// Which fee schedule a flow's interbank transfers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeClass {
    /// Tiered per-transfer tariff.
    Tiered,
    /// Bulk per-item fee.
    Bulk,
}

/// One validated flow.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Name.
    pub name: String,
    /// Paying nodes.
    pub from: Vec<NodeId>,
    /// Receiving nodes.
    pub to: Vec<NodeId>,
    /// Intermediaries that submit on the payer's behalf (empty: the payer submits).
    pub via: Vec<NodeId>,
    /// Endpoint choice.
    pub endpoints: EndpointChoice,
    /// Arrival process.
    pub arrival: Arrival,
    /// Size in bytes.
    pub size_bytes: u32,
    /// Amount in currency units.
    pub amount: AmountDist,
    /// Fee class.
    pub fee: FeeClass,
}

/// Service-time distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceDist {
    /// Constant.
    Constant(SimTime),
    /// Exponential with mean.
    Exponential(SimTime),
    /// Log-normal with mean and σ.
    Lognormal(SimTime, f64),
}

impl ServiceDist {
    /// Mean of the distribution in ns.
    pub fn mean(&self) -> SimTime {
        match *self {
            ServiceDist::Constant(m) | ServiceDist::Exponential(m) | ServiceDist::Lognormal(m, _) => m,
        }
    }
}

/// Interbank settlement schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum SettlementSchedule {
    /// Daily cut-offs (ns after midnight), sorted, non-empty.
    Daily(Vec<SimTime>),
    /// Every interval from midnight.
    Every(SimTime),
}

impl SettlementSchedule {
    /// The first cut-off at or after absolute time-of-run `t`, given the time of day at run
    /// start. Returns a simulated time (same origin as `t`).
    pub fn next_cutoff(&self, start_of_day: SimTime, t: SimTime) -> SimTime {
        const DAY: SimTime = 86_400 * crate::engine::NS_PER_S;
        let abs = start_of_day + t;
        let next_abs = match self {
            SettlementSchedule::Every(iv) => abs.div_ceil(*iv) * *iv,
            SettlementSchedule::Daily(cuts) => {
                let day = abs / DAY;
                let tod = abs % DAY;
                match cuts.iter().find(|&&c| c >= tod) {
                    Some(&c) => day * DAY + c,
                    None => (day + 1) * DAY + cuts[0],
                }
            }
        };
        next_abs - start_of_day
    }
}

/// Where money settles for a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementMode {
    /// Interbank batch at the next cut-off after recording (the centralized process).
    Batch,
    /// Money moves on the ledger: settled at commit.
    OnLedger,
    /// The ledger is the shared record; cash still moves through interbank batches.
    OffLedger,
}

impl SettlementMode {
    /// Label used in outputs.
    pub fn label(&self) -> &'static str {
        match self {
            SettlementMode::Batch => "batch",
            SettlementMode::OnLedger => "on-ledger",
            SettlementMode::OffLedger => "off-ledger",
        }
    }
}

/// Prices after validation (currency units).
#[derive(Debug, Clone, PartialEq)]
pub struct CostPrices {
    /// Per node-hour.
    pub node_hour: f64,
    /// Per GB sent.
    pub egress_per_gb: f64,
    /// Per GB-month stored.
    pub storage_per_gb_month: f64,
    /// Retention in months.
    pub retention_months: f64,
    /// Annual float rate.
    pub float_rate_annual: f64,
    /// Reconciliation per transaction.
    pub reconciliation_per_tx: f64,
    /// Exception rate.
    pub exception_rate: f64,
    /// Cost per exception.
    pub exception_cost: f64,
    /// Tiered fee `(upper amount, fee)`.
    pub transfer_fee_tiers: Vec<(f64, f64)>,
    /// Fraction above the last tier.
    pub transfer_fee_above_fraction: f64,
    /// Cap above the last tier.
    pub transfer_fee_cap: f64,
    /// Bulk per-item fee.
    pub bulk_fee_per_item: f64,
    /// Ledger's own fee per transaction (on-ledger settlement).
    pub ledger_fee_per_tx: f64,
}

/// The centralized baseline's parameters.
#[derive(Debug, Clone)]
pub struct CentralizedSpec {
    /// Operator node.
    pub operator: NodeId,
    /// Optional synchronous standby.
    pub standby: Option<NodeId>,
    /// Database servers.
    pub db_servers: u32,
    /// Database service time per transaction.
    pub db_service: ServiceDist,
}

/// PBFT's parameters.
#[derive(Debug, Clone)]
pub struct PbftSpec {
    /// Validators, sorted by id; the first is the initial primary.
    pub validators: Vec<NodeId>,
    /// Maximum transactions per batch.
    pub batch_max_tx: u32,
    /// Maximum batch bytes.
    pub batch_max_bytes: u64,
    /// Batch timeout.
    pub batch_timeout: SimTime,
    /// Instances in flight at the primary.
    pub pipeline: u32,
}

/// The protocol of a system.
#[derive(Debug, Clone)]
pub enum SystemKind {
    /// Central operator with batch settlement.
    Centralized(CentralizedSpec),
    /// PBFT normal case.
    Pbft(PbftSpec),
}

impl SystemKind {
    /// The consensus label used in outputs.
    pub fn label(&self) -> &'static str {
        match self {
            SystemKind::Centralized(_) => "centralized",
            SystemKind::Pbft(_) => "pbft",
        }
    }
}

/// One validated system.
#[derive(Debug, Clone)]
pub struct SystemSpec {
    /// Name.
    pub name: String,
    /// Protocol and its parameters.
    pub kind: SystemKind,
    /// Settlement mode.
    pub settlement: SettlementMode,
    /// Prices with this system's overrides applied.
    pub cost: CostPrices,
}

impl SystemSpec {
    /// Nodes the system runs on (billed as infrastructure, holding replicas of the record).
    pub fn replica_nodes(&self) -> Vec<NodeId> {
        match &self.kind {
            SystemKind::Centralized(c) => std::iter::once(c.operator).chain(c.standby).collect(),
            SystemKind::Pbft(p) => p.validators.clone(),
        }
    }
}

impl Scenario {
    /// Read, parse and validate a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        validate::load_file(path, &[])
    }

    /// Parse and validate scenario text (`origin` names it in messages).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        validate::load_str(text, origin, &[])
    }

    /// Measurement window length (duration − warm-up).
    pub fn window(&self) -> SimTime {
        self.duration - self.warmup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NS_PER_S;

    #[test]
    fn next_cutoff_daily_and_every() {
        let h = 3600 * NS_PER_S;
        let s = SettlementSchedule::Daily(vec![17 * h]);
        // Start at 09:00; a record at t=1h (10:00) settles at 17:00 → t=8h.
        assert_eq!(s.next_cutoff(9 * h, h), 8 * h);
        // A record at 18:00 settles next day 17:00.
        assert_eq!(s.next_cutoff(9 * h, 9 * h), 8 * h + 24 * h - h + h);
        let e = SettlementSchedule::Every(4 * h);
        assert_eq!(e.next_cutoff(9 * h, 0), 3 * h);
        assert_eq!(e.next_cutoff(0, 4 * h), 4 * h);
    }
}
