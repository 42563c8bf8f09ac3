//! Scenario files: the raw TOML schema ([`raw`]), unit parsing ([`units`]), validation into
//! domain types ([`validate`]) and the validated domain types themselves (this module).
//!
//! After [`Scenario::load`] succeeds the simulation cannot fail on input.

pub mod bounds;
pub mod expect;
pub mod inputs;
pub mod raw;
pub mod resources;
pub mod suggest;
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
    /// Faults, in file order.
    pub faults: Vec<FaultSpec>,
    /// Sweep points (empty without a `[sweep]`): each a fully validated scenario.
    pub points: Vec<SweepPoint>,
    /// Capacity search (`[capacity]`), if requested.
    pub capacity: Option<CapacitySpec>,
    /// Valid but noteworthy settings, e.g. more faulty nodes than a protocol tolerates
    /// (allowed: it is an experiment). Printed before a run and recorded in `summary.json`.
    pub warnings: Vec<ValidationIssue>,
    /// The data files read (node tables, peer graphs) with their SHA-256, in the order
    /// read (for the manifest).
    pub inputs: Vec<inputs::InputFile>,
    /// The raw scenario this was validated from (for the manifest).
    pub raw: raw::RawScenario,
}

/// One point of a parameter sweep.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// `(field path, value as written)` for each swept parameter, in path order.
    pub values: Vec<(String, String)>,
    /// The scenario at this point (its own `points` is empty).
    pub scenario: Scenario,
}

/// How a capacity probe's replications decide pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityCriterion {
    /// The mean over replications of the p99 latency and of the throughput ratio must pass.
    Mean,
    /// Every replication must pass on its own.
    Every,
}

impl CapacityCriterion {
    /// Label used in outputs.
    pub fn label(&self) -> &'static str {
        match self {
            CapacityCriterion::Mean => "mean",
            CapacityCriterion::Every => "every",
        }
    }
}

/// A validated `[capacity]` section: bisection over the offered load (every flow's arrival
/// rate scaled by one factor) between two bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySpec {
    /// The p99 latency (submit → recorded) objective, ms.
    pub slo_p99_ms: f64,
    /// Committed / submitted in the window must reach this ratio.
    pub min_throughput_ratio: f64,
    /// Lowest offered load probed, tx/s.
    pub min_tps: f64,
    /// Highest offered load probed, tx/s.
    pub max_tps: f64,
    /// Bisection steps after the two bounds.
    pub iterations: u32,
    /// Pass criterion over replications.
    pub criterion: CapacityCriterion,
    /// Indices of the systems searched, in scenario order.
    pub systems: Vec<usize>,
    /// Offered load of the scenario as written (mean over the measurement window), tx/s.
    pub nominal_tps: f64,
}

impl Scenario {
    /// Mean offered load over the measurement window `[warmup, duration)`, tx/s: the sum over
    /// flows of their arrival rates (a profile's rate averaged over the window's times of day).
    pub fn offered_tps(&self) -> f64 {
        self.flows
            .iter()
            .map(|f| match &f.arrival {
                Arrival::Poisson(r) | Arrival::Constant(r) => *r,
                Arrival::Profile(points) => profile_mean_rate(points, self.start_of_day, self.warmup, self.duration),
            })
            .sum()
    }

    /// This scenario with every flow's arrival rate multiplied by `factor` (profiles keep
    /// their shape). Nothing else changes: same seed, topology and systems.
    pub fn with_load_scaled(&self, factor: f64) -> Scenario {
        let mut sc = self.clone();
        sc.points.clear();
        sc.capacity = None;
        for f in &mut sc.flows {
            match &mut f.arrival {
                Arrival::Poisson(r) | Arrival::Constant(r) => *r *= factor,
                Arrival::Profile(points) => points.iter_mut().for_each(|p| p.1 *= factor),
            }
        }
        sc
    }

    /// The points to run: the sweep's points, or the scenario itself as the only point.
    pub fn run_points(&self) -> Vec<(Vec<(String, String)>, &Scenario)> {
        if self.points.is_empty() {
            vec![(vec![], self)]
        } else {
            self.points.iter().map(|p| (p.values.clone(), &p.scenario)).collect()
        }
    }
}

/// Time-weighted mean of a piecewise-constant rate profile over run times `[from, to)`, given
/// the time of day at run start (`points` sorted by time of day; before the first point the
/// last point's rate applies, as in the workload).
fn profile_mean_rate(points: &[(SimTime, f64)], start_of_day: SimTime, from: SimTime, to: SimTime) -> f64 {
    const DAY: SimTime = 86_400 * crate::engine::NS_PER_S;
    if points.is_empty() || to <= from {
        return 0.0;
    }
    let mut area = 0.0;
    let mut t = from;
    while t < to {
        let tod = (start_of_day + t) % DAY;
        let idx = points.iter().rposition(|&(p, _)| p <= tod).unwrap_or(points.len() - 1);
        let next = points
            .iter()
            .map(|p| p.0)
            .find(|&p| p > tod)
            .unwrap_or(DAY + points[0].0);
        let end = (t + (next - tod)).min(to);
        area += points[idx].1 * (end - t) as f64;
        t = end;
    }
    area / (to - from) as f64
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
    /// Download bandwidth in bits/s (`None`: unlimited); a transfer uses
    /// min(sender's egress, receiver's download).
    pub download_bps: Option<u64>,
    /// If set, the egress bandwidth is drawn from this distribution for every replication
    /// (replacing `bandwidth_bps`; see [`crate::net::Network::draw_bandwidths`]).
    pub bandwidth_dist: Option<std::sync::Arc<PiecewiseDist>>,
    /// If set, the download bandwidth is drawn from this distribution (replacing
    /// `download_bps`).
    pub download_dist: Option<std::sync::Arc<PiecewiseDist>>,
}

/// A piecewise-constant distribution (`bandwidth_dist`, in bits/s; also PoW's
/// `block_bytes_dist`, in bytes): a bin is picked with probability weight / total weight,
/// the value is uniform inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseDist {
    /// Bins as (low, high) in the distribution's unit (bits/s for bandwidths, bytes for
    /// block sizes).
    bins: Vec<(f64, f64)>,
    /// Cumulative weights, the last one the total.
    cum: Vec<f64>,
}

impl PiecewiseDist {
    /// From bins `[low, high, weight]` in Mbit/s. Errors name the first bad bin.
    pub fn from_mbps(bins: &[[f64; 3]]) -> Result<Self, String> {
        Self::from_bins(bins, 1e6, "[low_mbps, high_mbps, weight]")
    }

    /// From bins `[low, high, weight]` in bytes (`block_bytes_dist`); draws are in bytes.
    pub fn from_bytes(bins: &[[f64; 3]]) -> Result<Self, String> {
        Self::from_bins(bins, 1.0, "[low_bytes, high_bytes, weight]")
    }

    /// From bins `[low, high, weight]` in units of `unit` (the draws are low × unit …);
    /// `shape` names the bin layout in the error for an empty list.
    fn from_bins(bins: &[[f64; 3]], unit: f64, shape: &str) -> Result<Self, String> {
        if bins.is_empty() {
            return Err(format!("needs at least one bin `{shape}`"));
        }
        let mut out = Vec::with_capacity(bins.len());
        let mut cum = Vec::with_capacity(bins.len());
        let mut total = 0.0;
        for (i, &[lo, hi, w]) in bins.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && hi > lo) {
                return Err(format!("bin {i}: needs 0 <= low < high (finite), got [{lo}, {hi}]"));
            }
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!("bin {i}: weight must be finite and >= 0, got {w}"));
            }
            total += w;
            out.push((lo * unit, hi * unit));
            cum.push(total);
        }
        if total <= 0.0 {
            return Err("the weights sum to zero".into());
        }
        Ok(Self { bins: out, cum })
    }

    /// One draw in the distribution's unit (at least 1).
    pub fn sample(&self, rng: &mut crate::engine::SimRng) -> u64 {
        use rand::RngExt;
        let total = *self.cum.last().expect("non-empty");
        let u = rng.random::<f64>() * total;
        // First bin whose cumulative weight exceeds u (zero-weight bins are never picked).
        let i = self.cum.partition_point(|&c| c <= u).min(self.bins.len() - 1);
        let (lo, hi) = self.bins[i];
        let v = lo + (hi - lo) * rng.random::<f64>();
        (v.round() as u64).max(1)
    }

    /// The distribution's mean, in its unit.
    pub fn mean(&self) -> f64 {
        let mut prev = 0.0;
        let mut sum = 0.0;
        for (&(lo, hi), &c) in self.bins.iter().zip(&self.cum) {
            sum += (c - prev) * (lo + hi) / 2.0;
            prev = c;
        }
        sum / prev
    }
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
    /// The delay is Pareto with scale base − `shift` and shape `shape_per_ms` × base in ms
    /// (SimBlock: 0.2 and 5 ms), i.e. mean exactly the base.
    Pareto {
        /// α per millisecond of base delay.
        shape_per_ms: f64,
        /// x_m = base − shift.
        shift: SimTime,
    },
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
    /// What the jitter is drawn for (every message, or once per link).
    pub latency_per: LatencyPer,
}

/// What a jittered one-way delay is drawn for (`network.latency_per`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyPer {
    /// Every message draws its own delay from the network's stream (the default).
    #[default]
    Message,
    /// Each unordered pair of nodes draws one delay, once, from its own stream
    /// (`"link-latency"`, keyed by the pair), and every message between the two uses it in
    /// both directions (Gervais et al.'s simulator: an ns-3 point-to-point channel per link
    /// with a Pareto delay drawn when the link is created).
    Link,
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
    /// Charged by the simulator for every protocol message and client request a replica
    /// receives, before its handler runs (a fixed per-message receive cost, as in the SimPy
    /// reference model). Default 0.
    pub per_message: SimTime,
}

impl CpuCosts {
    /// All-zero costs (for analytic tests).
    pub const ZERO: CpuCosts = CpuCosts {
        sign: 0,
        verify: 0,
        hash_per_kb: 0,
        execute_tx: 0,
        db_commit: 0,
        per_message: 0,
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
    /// Stop after this many transactions (`None`: arrivals continue until `duration`).
    pub limit: Option<u64>,
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
    /// Electricity per kWh.
    pub electricity_per_kwh: f64,
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
    /// Time a backup waits for progress on a request before starting a view change.
    pub view_timeout: SimTime,
    /// Checkpoint interval in sequence numbers.
    pub checkpoint_interval: u64,
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
    /// When a replica replies to the client: after executing the request in sequence order
    /// (`false`, PBFT's rule) or as soon as it committed locally (`true`, the SimPy reference
    /// model's rule; execution stays in order).
    pub reply_on_commit: bool,
}

/// Batching parameters shared by the leader-based ledgers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSpec {
    /// Maximum transactions per block.
    pub max_tx: u32,
    /// Maximum block payload bytes.
    pub max_bytes: u64,
    /// Propose a partial block after this long.
    pub timeout: SimTime,
}

/// Raft's parameters.
#[derive(Debug, Clone)]
pub struct RaftSpec {
    /// The orderers (Raft members), sorted by id.
    pub orderers: Vec<NodeId>,
    /// Every other node receives committed blocks from the leader (sorted).
    pub peers: Vec<NodeId>,
    /// Batching.
    pub batch: BatchSpec,
    /// Randomized election timeout range `[min, max]`.
    pub election_timeout: (SimTime, SimTime),
    /// Heartbeat interval.
    pub heartbeat: SimTime,
    /// Entries the leader may have replicated but not committed.
    pub pipeline: u32,
    /// Where transactions are executed and validated (default: by the orderers, in order).
    pub execution: RaftExecution,
    /// With [`RaftExecution::ExecuteOrderValidate`]: endorsement signatures a peer verifies
    /// per transaction when it validates a block (1 otherwise).
    pub endorsements: u32,
}

/// Largest `endorsements` a Raft system accepts.
pub const MAX_RAFT_ENDORSEMENTS: u32 = 64;

/// How a Raft deployment executes transactions (docs/protocols/raft.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RaftExecution {
    /// Order-execute: the orderers execute and commit each block after ordering it; the
    /// leader replies to the clients; peers re-validate delivered blocks.
    #[default]
    OrderExecute,
    /// Execute-order-validate (Hyperledger Fabric): the submitting peer endorses (executes
    /// and signs) a transaction before it goes to the orderers; the orderers only order; each
    /// peer validates and commits the delivered blocks one at a time, in height order, and
    /// the submitting peer reports the commit to its client.
    ExecuteOrderValidate,
}

/// HotStuff's parameters (chained HotStuff, rotating leaders).
#[derive(Debug, Clone)]
pub struct HotStuffSpec {
    /// Validators, sorted by id.
    pub validators: Vec<NodeId>,
    /// Batching.
    pub batch: BatchSpec,
    /// Pacemaker view timeout.
    pub view_timeout: SimTime,
    /// CPU time to verify a quorum certificate (aggregate signature).
    pub qc_verify: SimTime,
}

/// Proof-of-authority's parameters (Clique/Aura style).
#[derive(Debug, Clone)]
pub struct PoaSpec {
    /// Authorities, sorted by id; they seal in turn.
    pub authorities: Vec<NodeId>,
    /// Block period.
    pub period: SimTime,
    /// Wait before an offline authority's slot is skipped.
    pub slot_timeout: SimTime,
    /// Maximum transactions / bytes per block.
    pub batch: BatchSpec,
}

/// How mining power is spread over miners.
#[derive(Debug, Clone, PartialEq)]
pub enum HashPowerDist {
    /// Equal shares.
    Uniform,
    /// Normal(mean, sd), truncated at 1 % of the mean.
    Normal(f64, f64),
    /// Given relative powers, one per miner in miner (node id) order.
    Shares(Vec<f64>),
}

/// What a node's drawn peer count means when the peer graph is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerLinks {
    /// The node opens that many links of its own (its degree is that plus the links others
    /// open to it; SimBlock / Bitcoin Core outbound connections).
    #[default]
    Outbound,
    /// The node opens links until its degree (links in either direction) reaches the count
    /// (Gervais et al.'s simulator, `BitcoinTopologyHelper`: a node connects until it has its
    /// minimum number of connections).
    Total,
}

/// Proof-of-work's parameters.
#[derive(Debug, Clone)]
pub struct PowSpec {
    /// Miners, sorted by id (every node relays).
    pub miners: Vec<NodeId>,
    /// Mean block interval.
    pub block_interval: SimTime,
    /// Confirmations for finality.
    pub confirmations: u32,
    /// Outbound connections: fixed count, or a CDF over 1, 2, ….
    pub peers_cdf: Vec<f64>,
    /// Whether the drawn count is a node's own links or its total degree.
    pub peer_links: PeerLinks,
    /// Peer count of every miner instead of a draw from `peers_cdf` (`None`: drawn).
    pub miner_peers: Option<usize>,
    /// Link every pair of miners directly before the random links are drawn.
    pub miner_mesh: bool,
    /// An explicit peer graph (`peer_graph`): sorted adjacency lists, one per node, used
    /// instead of drawing one (`None`: drawn).
    pub peer_graph: Option<std::sync::Arc<Vec<Vec<NodeId>>>>,
    /// Fraction of nodes that relay compact blocks.
    pub compact_block_share: f64,
    /// Compact block size.
    pub compact_block_bytes: u32,
    /// Probability that a compact block fails and the full block follows.
    pub compact_failure: f64,
    /// Block size (bytes) if set, fixed (`block_bytes`) or drawn per block
    /// (`block_bytes_dist`); else blocks carry pending transactions up to `batch`.
    pub block_bytes: Option<BlockSize>,
    /// Block contents limits.
    pub batch: BatchSpec,
    /// Mining power distribution.
    pub hash_power: HashPowerDist,
    /// Total network hash rate (H/s).
    pub hash_rate: f64,
    /// Joules per hash.
    pub joules_per_hash: f64,
    /// Per-block processing at each node before relaying (with [`RelayTiming::SimBlock`]:
    /// added to every block upload instead).
    pub block_processing: SimTime,
    /// How block relay messages use the network.
    pub relay_timing: RelayTiming,
    /// Block validation time per 1,000 bytes of block (ns), added to `block_processing`
    /// (Gervais et al.'s simulator: 0.174 s × size / 458,263 bytes). Default 0.
    pub block_processing_per_kb: SimTime,
    /// When the per-node propagation statistic records a received block.
    pub propagation_at: PropagationAt,
    /// How the control messages (INV, GETDATA, GETBLOCKTXN) use the network.
    pub control_lane: ControlLane,
    /// A requested block not received after this long may be requested from another
    /// announcer (default 60 s; Gervais et al.'s simulator: 2 × the block interval).
    pub inv_timeout: SimTime,
    /// When a timed-out block request is repeated.
    pub rerequest: Rerequest,
    /// Degree caps applied while the peer graph is built (`None`: no cap).
    pub degree_cap: Option<DegreeCap>,
    /// Fraction of nodes that are "churning" (SimBlock); they fail compact blocks with
    /// `compact_failure`, the others with `compact_failure_stable`.
    pub churn_share: f64,
    /// Compact-block failure probability of non-churning nodes.
    pub compact_failure_stable: f64,
    /// What a churning sender sends after a compact failure, as fractions of the block
    /// (`None`: the full block).
    pub compact_refill: Option<Refill>,
    /// The same for a non-churning sender.
    pub compact_refill_stable: Option<Refill>,
}

/// An empirical distribution of the fraction of a block sent after a failed compact block
/// (SimBlock's `CBR_FAILURE_BLOCK_SIZE_DISTRIBUTION_*`): `fractions[i]` with weight
/// `weights[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refill {
    /// Fractions of the block size, each in (0, 1].
    pub fractions: Vec<f64>,
    /// Positive integer weights, one per fraction.
    pub weights: Vec<u64>,
}

/// Timing model of proof-of-work block relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelayTiming {
    /// Every message through the sender's egress FIFO (serialization at the link rate, then
    /// the one-way delay); `block_processing` once per block at each receiving node.
    #[default]
    Egress,
    /// SimBlock's algorithm: INV / GETDATA / GETBLOCKTXN take the latency + 10 ms and no
    /// bandwidth; a node uploads blocks one at a time, each upload starting when the previous
    /// one has arrived, taking ⌊bits / (rate in bits per ms)⌋ ms + `block_processing` + the
    /// latency; latencies rounded to whole ms; no processing at the receiver.
    SimBlock,
    /// Gervais et al.'s simulator: blocks (BLOCK) travel on [`crate::net::Lane::GervaisBlock`]
    /// (uploads paced at the sender's own upload rate, the transfer at min(sender's upload,
    /// receiver's download) at the receiver, one download at a time, queued in arrival
    /// order); INV / GETDATA and
    /// transactions on the egress lane; `block_processing` once per received block, as in
    /// `Egress`.
    Gervais,
}

/// When a PoW node's receipt of a block is recorded in the propagation statistics
/// (`propagation_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PropagationAt {
    /// After the block's validation (`block_processing`): when the node can relay it.
    #[default]
    Validated,
    /// When the block arrived, before validation (Gervais et al.'s simulator: the
    /// `timeReceived` its statistic uses is set on arrival, in `ReceivedBlockMessage`).
    Arrival,
}

/// How a PoW node's control messages (INV, GETDATA, GETBLOCKTXN) use the network
/// (`control_lane`; not with `relay_timing = "simblock"`, which has its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlLane {
    /// Through the sender's egress FIFO ([`crate::net::Lane::Egress`]): a node's INVs to its
    /// peers are serialized one after the other.
    #[default]
    Egress,
    /// Each on its own link ([`crate::net::Lane::Link`]): serialized at min(both ends' upload
    /// and download), then the one-way delay, in parallel over the sender's links (Gervais et
    /// al.'s simulator: one ns-3 point-to-point channel per peer link).
    Link,
}

/// When a PoW node repeats a block request that has not been answered within `inv_timeout`
/// (`rerequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rerequest {
    /// When an INV for the block arrives after the timeout, from its sender (a block nobody
    /// announces again is never asked for again).
    #[default]
    OnInv,
    /// A timer per request: when it fires and the block has not arrived, the next announcer
    /// (in the order their INVs arrived; the sender of an orphan for its missing parent) is
    /// asked, with a new timer; with no announcer left the request is dropped, so a later INV
    /// starts a new one (Gervais et al.'s simulator, `BitcoinNode::InvTimeoutExpired`).
    Timer,
}

/// PoW `degree_cap` (Gervais et al.'s `BitcoinTopologyHelper`: a node accepts links up to
/// its minimum number of connections + 1…6, a miner up to 800).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegreeCap {
    /// `(from_count, extra)` with `from_count` strictly increasing: a drawn count c takes
    /// the `extra` of the last entry with `from_count` ≤ c (0 below the first).
    pub slack: Vec<(usize, usize)>,
    /// Degree cap of a miner (`None`: no cap).
    pub miner: Option<usize>,
}

impl DegreeCap {
    /// The degree cap of a node whose drawn count is `count`. O(entries).
    pub fn cap_for(&self, count: usize) -> usize {
        let extra = self
            .slack
            .iter()
            .take_while(|&&(from, _)| from <= count)
            .last()
            .map_or(0, |&(_, e)| e);
        count + extra
    }
}

/// PoW block size (`block_bytes` / `block_bytes_dist`).
#[derive(Debug, Clone, PartialEq)]
pub enum BlockSize {
    /// Every block has this many bytes.
    Fixed(u64),
    /// Every mined block's size (bytes) is drawn from this distribution (from the miner's
    /// `pow-block-bytes` stream).
    Dist(std::sync::Arc<PiecewiseDist>),
}

/// The protocol of a system.
// One value per configured system, built once and never moved on a hot path: the size of
// the PoW variant (its many options) costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SystemKind {
    /// Central operator with batch settlement.
    Centralized(CentralizedSpec),
    /// PBFT.
    Pbft(PbftSpec),
    /// Raft ordering service.
    Raft(RaftSpec),
    /// Chained HotStuff.
    HotStuff(HotStuffSpec),
    /// Proof-of-authority.
    Poa(PoaSpec),
    /// Proof-of-work.
    Pow(PowSpec),
}

impl SystemKind {
    /// The consensus label used in outputs.
    pub fn label(&self) -> &'static str {
        match self {
            SystemKind::Centralized(_) => "centralized",
            SystemKind::Pbft(_) => "pbft",
            SystemKind::Raft(_) => "raft",
            SystemKind::HotStuff(_) => "hotstuff",
            SystemKind::Poa(_) => "poa",
            SystemKind::Pow(_) => "pow",
        }
    }

    /// Faults the protocol tolerates with `n` members: Byzantine for PBFT and HotStuff
    /// (n = 3f + 1), crash for Raft and PoA (majority), 0 for the centralized operator and
    /// for PoW (whose bound is a share of hash power, not a count).
    pub fn faults_tolerated(&self, n: usize) -> usize {
        match self {
            SystemKind::Pbft(_) | SystemKind::HotStuff(_) => n.saturating_sub(1) / 3,
            SystemKind::Raft(_) | SystemKind::Poa(_) => n.saturating_sub(1) / 2,
            SystemKind::Centralized(_) | SystemKind::Pow(_) => 0,
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// The nodes stop (volatile state and queued work lost, ledger kept) until `until`.
    Crash,
    /// Messages between the two sides are dropped until `until`.
    Partition,
    /// Messages between the two sides get extra latency and loss.
    Degrade {
        /// Extra one-way latency.
        extra_latency: SimTime,
        /// Extra loss probability.
        loss: f64,
    },
    /// The nodes' CPU work takes `factor` times longer.
    SlowCpu(f64),
    /// The nodes behave Byzantine.
    Byzantine(Behaviour),
}

impl FaultKind {
    /// A plain-language description for reports, e.g. "degraded links: +50 ms, 2 % loss".
    pub fn describe(&self) -> String {
        match self {
            FaultKind::Crash => "crash".into(),
            FaultKind::Partition => "network partition".into(),
            FaultKind::Degrade { extra_latency, loss } => {
                // Up to three decimals, without trailing zeros (0.07 × 100 prints as 7, not 7.000000000000001).
                let short = |x: f64| {
                    let t = format!("{x:.3}");
                    t.trim_end_matches('0').trim_end_matches('.').to_string()
                };
                format!(
                    "degraded links: +{} ms, {} % loss",
                    short(*extra_latency as f64 / 1e6),
                    short(loss * 100.0)
                )
            }
            FaultKind::SlowCpu(factor) => format!("slow CPU: work takes {factor}× longer"),
            FaultKind::Byzantine(Behaviour::Silent) => "Byzantine: silent".into(),
            FaultKind::Byzantine(Behaviour::Equivocate) => "Byzantine: equivocating proposals".into(),
            FaultKind::Byzantine(Behaviour::Censor(payers)) => {
                format!("Byzantine: censoring transactions of {} payer node(s)", payers.len())
            }
        }
    }
}

/// A Byzantine behaviour, applied as a wrapper around any replica.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Drops everything it receives and sends nothing.
    Silent,
    /// Sends conflicting versions of its proposals to the two halves of the members.
    Equivocate,
    /// Drops transactions paid by these nodes.
    Censor(Vec<NodeId>),
}

/// A validated fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Human label for reports (e.g. `crash NSSF 30s–90s`).
    pub label: String,
    /// Start.
    pub at: SimTime,
    /// End (None: until the run ends).
    pub until: Option<SimTime>,
    /// Systems it applies to (indices).
    pub systems: Vec<usize>,
    /// Affected nodes / one side, sorted.
    pub target: Vec<NodeId>,
    /// The other side, sorted (partition, degrade).
    pub peer: Vec<NodeId>,
    /// What happens.
    pub kind: FaultKind,
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
            SystemKind::Raft(r) => r.orderers.clone(),
            SystemKind::HotStuff(h) => h.validators.clone(),
            SystemKind::Poa(p) => p.authorities.clone(),
            SystemKind::Pow(p) => p.miners.clone(),
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

    #[test]
    fn profile_mean_rate_weights_each_piece_by_its_time_in_the_window() {
        let h = 3600 * NS_PER_S;
        // 10/s from 09:00 to 17:00, 2/s from 17:00 to 09:00 the next day (before the first
        // point the last point's rate applies, as in the workload).
        let points = vec![(9 * h, 10.0), (17 * h, 2.0)];
        // Start at 08:00, window [1h, 3h) = 09:00–11:00: all at 10/s.
        assert_eq!(profile_mean_rate(&points, 8 * h, h, 3 * h), 10.0);
        // Window 08:00–10:00: one hour at 2/s (wrapped), one at 10/s.
        assert_eq!(profile_mean_rate(&points, 8 * h, 0, 2 * h), 6.0);
        // A whole day: 8 h at 10/s and 16 h at 2/s.
        let day = profile_mean_rate(&points, 0, 0, 24 * h);
        assert!((day - (8.0 * 10.0 + 16.0 * 2.0) / 24.0).abs() < 1e-12, "{day}");
        // Across midnight into the next day: 16:00–10:00 (18 h): 1 h at 10, 16 h at 2, 1 h at 10.
        let v = profile_mean_rate(&points, 16 * h, 0, 18 * h);
        assert!((v - (2.0 * 10.0 + 16.0 * 2.0) / 18.0).abs() < 1e-12, "{v}");
    }

    #[test]
    fn fault_kinds_are_described_in_plain_language() {
        assert_eq!(FaultKind::Partition.describe(), "network partition");
        assert_eq!(
            FaultKind::Degrade {
                extra_latency: 50_000_000,
                loss: 0.07
            }
            .describe(),
            "degraded links: +50 ms, 7 % loss"
        );
        assert_eq!(FaultKind::SlowCpu(3.0).describe(), "slow CPU: work takes 3× longer");
        assert_eq!(
            FaultKind::Byzantine(Behaviour::Censor(vec![1, 2])).describe(),
            "Byzantine: censoring transactions of 2 payer node(s)"
        );
    }
}
