//! The world of one run: the engine plus network, node CPUs, one protocol deployment, the
//! workload, settlement and metrics, built from a validated scenario. Defines the event enum
//! and its dispatch.
//!
//! A run simulates `[0, duration)` with arrivals, then drains in-flight work (no new
//! arrivals) for up to [`DRAIN_LIMIT`] so that replicas can be compared at a common height.
//! Statistics only count what happens inside the measurement window `[warmup, duration]`.

use crate::consensus::{self, Action, Deployment, Outbox, Replica, Reply};
use crate::cost::{CostAccumulator, CostBreakdown};
use crate::engine::{EventQueue, Model, NS_PER_S, SimTime, StreamLabel, run_until_or_stop, stream_rng};
use crate::ledger::TxEntry;
use crate::metrics::{Histogram, TimeSeries};
use crate::net::{NetStats, Network};
use crate::node::Cpu;
use crate::scenario::{NodeId, Scenario, SettlementMode, SystemKind, SystemSpec};
use std::collections::BTreeMap;

mod pool;
mod silent;
use pool::BoxPool;
use silent::SilentCores;

/// How long after `duration` in-flight work may drain (simulated time).
pub const DRAIN_LIMIT: SimTime = 60 * NS_PER_S;

/// What travels on the wire.
#[derive(Debug, Clone)]
pub enum Wire<M> {
    /// Client → entry replica (boxed, like every transaction carried by an event: it keeps
    /// the event small — one allocation per transaction, not per event).
    Request(Box<TxEntry>),
    /// Replica → client.
    Reply(Reply),
    /// Replica → replica.
    Proto(M),
}

/// The events of a run. Small and inline: payloads are `Copy` data or `Rc` handles.
#[derive(Debug, Clone)]
pub enum Event<M> {
    /// The next transaction of flow `flow` arrives.
    Arrival {
        /// Flow index.
        flow: u16,
    },
    /// A block on [`crate::net::Lane::GervaisBlock`] reaches `to`: its download is queued
    /// now, in arrival order ([`Network::gervais_download`]), and it is delivered when the
    /// download ends. Same fields as `Deliver`, so the event stays the same size.
    Reach {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Payload.
        wire: Wire<M>,
    },
    /// A message reaches `to`.
    Deliver {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Payload.
        wire: Wire<M>,
    },
    /// A core of `node` finished its job; the job's outputs (parked in `slot`) leave now.
    CoreFree {
        /// Node.
        node: NodeId,
        /// Index of the parked outbox, or [`NO_SLOT`].
        slot: u32,
    },
    /// A client at `node` finished signing `tx`; the request leaves now.
    Submitted {
        /// Node.
        node: NodeId,
        /// The transaction (boxed: see [`Wire::Request`]).
        tx: Box<TxEntry>,
    },
    /// Fault `index` of the scenario starts (`start`) or ends.
    Fault {
        /// Index into `scenario.faults`.
        index: u16,
        /// Start or end.
        start: bool,
    },
    /// A replica timer fired.
    Timer {
        /// Node.
        node: NodeId,
        /// Replica's token.
        token: u64,
    },
}

/// `CoreFree` without parked outputs.
pub const NO_SLOT: u32 = u32::MAX;

#[cfg(test)]
thread_local! {
    /// Unit tests only: take the straightforward paths (`submit_job` with a `Job::Proto` for
    /// every delivery, `send_on` for every broadcast copy, no delivery dropped by
    /// `NoopFilter::drops`) instead of the fast ones, so that a test can compare the two.
    static STRAIGHTFORWARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the fast delivery, fan-out and vote paths are on (always, except in unit tests
/// that turn them off to compare).
#[inline(always)]
pub(crate) fn fast_paths() -> bool {
    #[cfg(test)]
    if STRAIGHTFORWARD.with(|s| s.get()) {
        return false;
    }
    true
}

/// A unit of CPU work on a node.
#[derive(Debug)]
enum Job<M> {
    Submit(Box<TxEntry>),
    Request(Box<TxEntry>),
    Proto(NodeId, M),
    Timer(u64),
}

/// Checks that every correct replica commits the same block at each height and never
/// commits a height twice (a revert). Memory is bounded by how far the slowest correct replica
/// lags: an entry is dropped once every correct replica reported it.
#[derive(Debug, Default)]
struct SafetyChecker {
    /// Correct replicas.
    replicas: u32,
    /// height → (digest, first reporter, reports).
    pending: BTreeMap<u64, (u64, NodeId, u32)>,
    /// Last height each node reported.
    last_height: Vec<u64>,
    violations: u64,
    /// The first few violations, described.
    notes: Vec<String>,
}

/// Violations described in full (later ones are only counted).
const MAX_NOTES: usize = 10;

impl SafetyChecker {
    fn observe(&mut self, now: SimTime, node: NodeId, height: u64, digest: u64, nodes: &[crate::scenario::NodeSpec]) {
        let last = &mut self.last_height[node as usize];
        if height <= *last {
            self.violations += 1;
            if self.notes.len() < MAX_NOTES {
                self.notes.push(format!(
                    "t={:.3}s: {} committed height {height} again after height {} (a committed block was reverted)",
                    crate::engine::to_s(now),
                    nodes[node as usize].name,
                    *last
                ));
            }
            return;
        }
        *last = height;
        let e = self.pending.entry(height).or_insert((digest, node, 0));
        if e.0 != digest {
            self.violations += 1;
            if self.notes.len() < MAX_NOTES {
                self.notes.push(format!(
                    "t={:.3}s: height {height}: {} committed block {:016x} but {} committed {:016x}",
                    crate::engine::to_s(now),
                    nodes[node as usize].name,
                    digest,
                    nodes[e.1 as usize].name,
                    e.0
                ));
            }
        }
        e.2 += 1;
        if e.2 >= self.replicas {
            self.pending.remove(&height);
        }
    }
}

/// Latency quantiles of one run, in milliseconds (NaN when nothing committed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub mean: f64,
    /// Samples.
    pub count: u64,
}

impl LatencySummary {
    fn from_hist(h: &Histogram) -> Self {
        let ms = |v: Option<f64>| v.map(|x| x / 1e6).unwrap_or(f64::NAN);
        LatencySummary {
            p50: ms(h.quantile(0.5)),
            p90: ms(h.quantile(0.9)),
            p99: ms(h.quantile(0.99)),
            mean: ms(h.mean()),
            count: h.count(),
        }
    }
}

/// Everything measured in one run of one system.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Sweep point index (0 without a sweep).
    pub point: usize,
    /// Nodes running a replica of the system (billed as infrastructure, holding the ledger).
    pub replica_nodes: usize,
    /// System index in the scenario.
    pub system: usize,
    /// Replication index.
    pub replication: u32,
    /// Transactions submitted inside the window.
    pub submitted: u64,
    /// Transactions whose commit became known to the submitter inside the window.
    pub committed: u64,
    /// `committed / window` in tx/s.
    pub throughput_tps: f64,
    /// Submit → recorded (commit known to the submitter).
    pub latency: LatencySummary,
    /// Submit → settled.
    pub settlement: LatencySummary,
    /// Cost totals over the window.
    pub cost: CostBreakdown,
    /// Cost per committed transaction, by category (see [`crate::cost::CATEGORIES`]).
    pub cost_per_tx: [f64; crate::cost::N_CATEGORIES],
    /// Sum of `cost_per_tx`.
    pub cost_per_tx_total: f64,
    /// Network messages sent in the window (replies and requests included).
    pub messages: u64,
    /// Bytes sent in the window.
    pub bytes: u64,
    /// Messages per protocol message kind (name, count), replies and requests last.
    pub message_kinds: Vec<(&'static str, u64)>,
    /// CPU utilization in the window per node (indexed by node id; 0 for idle nodes).
    pub node_utilization: Vec<f64>,
    /// Highest CPU utilization among the system's nodes.
    pub cpu_util_max: f64,
    /// Mean queueing wait of CPU jobs at the system's busiest node, ms.
    pub cpu_wait_ms_max: f64,
    /// Events processed by the engine (whole run, drain included).
    pub events: u64,
    /// Safety violations: correct replicas committing different blocks at one height, or
    /// re-committing a height (revert).
    pub safety_violations: u64,
    /// The first violations, described (time, height, replicas).
    pub violation_notes: Vec<String>,
    /// View changes (max over correct replicas).
    pub view_changes: u64,
    /// Elections started (sum over correct replicas).
    pub elections: u64,
    /// Forks / stale blocks seen (max over correct replicas).
    pub forks: u64,
    /// Longest interval inside the window without a commit known to a client, ms.
    pub max_commit_gap_ms: f64,
    /// Per fault of the scenario (in file order): time from its end to the next client
    /// commit, ms (NaN: the fault does not apply, never ends, or no commit followed in the window).
    pub recovery_ms: Vec<f64>,
    /// Replicas at the same final height have identical state digests.
    pub replicas_consistent: bool,
    /// Minimum and maximum final height over replicas.
    pub heights: (u64, u64),
    /// Σ balances equals the opening total on every replica.
    pub money_conserved: bool,
    /// State digest of the replica(s) at the maximum height, hex.
    pub state_digest: String,
    /// Time series of commits.
    pub timeseries: TimeSeries,
    /// Non-empty buckets `(low_ns, high_ns, count)` of the submit → recorded histogram.
    pub latency_buckets: Vec<(u64, u64, u64)>,
    /// Non-empty buckets `(low_ns, high_ns, count)` of the submit → settled histogram.
    pub settlement_buckets: Vec<(u64, u64, u64)>,
    /// Block propagation and stale rate (proof-of-work only).
    pub chain: Option<consensus::ChainMetrics>,
}

/// The fault schedule's effect on the world at the current instant.
struct FaultState {
    /// Crashed (or silent) nodes: deliveries, timers and jobs are dropped.
    down: Vec<bool>,
    /// Byzantine behaviour per node while active.
    byzantine: Vec<Option<crate::scenario::Behaviour>>,
    /// Nodes that are never Byzantine in this run (the safety checker's "correct" set).
    correct: Vec<bool>,
    /// CPU time multiplier per node.
    cpu_factor: Vec<f64>,
    /// Active partition / degrade faults: (fault index, node in target, node in peer).
    links: Vec<(usize, Vec<bool>, Vec<bool>)>,
    /// Active slow-CPU faults.
    slow: Vec<usize>,
    /// Random stream for degraded-link losses.
    rng: crate::engine::SimRng,
    /// Last client commit inside the window (starts at the warm-up end).
    last_commit: SimTime,
    /// Longest gap between client commits in the window.
    max_gap: SimTime,
    /// Per scenario fault: time from its end to the next client commit.
    recovered: Vec<Option<SimTime>>,
}

impl FaultState {
    fn new(scenario: &Scenario, system: usize, replication: u32) -> Self {
        let n = scenario.topology.nodes.len();
        let mut correct = vec![true; n];
        for f in scenario.faults.iter().filter(|f| f.systems.contains(&system)) {
            if let crate::scenario::FaultKind::Byzantine(_) = f.kind {
                for &t in &f.target {
                    correct[t as usize] = false;
                }
            }
        }
        FaultState {
            down: vec![false; n],
            byzantine: vec![None; n],
            correct,
            cpu_factor: vec![1.0; n],
            links: Vec::new(),
            slow: Vec::new(),
            rng: stream_rng(scenario.seed, replication, StreamLabel("faults"), 0),
            last_commit: scenario.warmup,
            max_gap: 0,
            recovered: vec![None; scenario.faults.len()],
        }
    }

    /// Whether `node` takes part at all right now (not crashed, not silent).
    #[inline]
    fn is_up(&self, node: NodeId) -> bool {
        !self.down[node as usize]
    }
}

struct World<'a, R: Replica> {
    scenario: &'a Scenario,
    system: &'a SystemSpec,
    system_index: usize,
    net: Network,
    net_stats: NetStats,
    kind_counts: Vec<u64>,
    cpus: Vec<Cpu<Job<R::Msg>>>,
    replicas: Vec<Option<R>>,
    dep: Deployment<()>,
    workload: crate::workload::Workload<'a>,
    outbox: Outbox<R::Msg>,
    /// Outputs of running jobs, released when their CPU time has passed. Pooled: the
    /// vectors are reused, so steady state allocates nothing.
    parked: Vec<Vec<Action<R::Msg>>>,
    free_slots: Vec<u32>,
    checker: SafetyChecker,
    faults: FaultState,
    /// Skip deliveries the receiver declares no-ops (no faults, no per-message CPU).
    skip_noops: bool,
    /// The deployment's shared no-op test, if it has one (asked instead of the receiver).
    noop_filter: Option<std::rc::Rc<dyn consensus::NoopFilter<R::Msg>>>,
    /// Per node: cores busy with a job that has no outputs, as `(done, reserved seq)` of the
    /// `CoreFree` event that would release them. The event is only scheduled (with that
    /// seq, so every tie-break stays the same) if a job has to wait for the core; otherwise
    /// the core is released when the node's CPU is next used.
    silent_busy: Vec<SilentCores>,
    /// Entries in all of `silent_busy` (so that a run where no core is ever silently busy
    /// does not read a node's list on every job).
    silent_total: usize,
    latency: Histogram,
    settle: Histogram,
    series: TimeSeries,
    acc: CostAccumulator,
    submitted: u64,
    committed: u64,
    /// Boxes of transactions whose request was handled, reused for new arrivals (a
    /// transaction travels boxed from its arrival to its request's job).
    tx_boxes: BoxPool<TxEntry>,
}

/// Transaction boxes kept for reuse (more are in flight only under a backlog).
const TX_BOXES_KEPT: usize = 1024;

impl<'a, R: Replica> World<'a, R> {
    #[inline]
    fn in_window(&self, t: SimTime) -> bool {
        t >= self.scenario.warmup && t < self.scenario.duration
    }

    fn send(
        &mut self,
        queue: &mut EventQueue<Event<R::Msg>>,
        at: SimTime,
        from: NodeId,
        to: NodeId,
        bytes: u32,
        wire: Wire<R::Msg>,
    ) {
        let counted = self.in_window(at);
        self.send_on(queue, crate::net::Lane::Egress, at, from, to, bytes, wire, counted);
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn send_on(
        &mut self,
        queue: &mut EventQueue<Event<R::Msg>>,
        lane: crate::net::Lane,
        at: SimTime,
        from: NodeId,
        to: NodeId,
        bytes: u32,
        wire: Wire<R::Msg>,
        counted: bool,
    ) {
        debug_assert_eq!(counted, self.in_window(at), "`counted` is `in_window(at)`");
        let stats = if counted { Some(&mut self.net_stats) } else { None };
        // A shared no-op filter answers before the arrival time is known, so a certain no-op
        // needs neither an event nor (where it is cheaper) its arrival time; the network's
        // draws and counters are the same (see `NoopFilter::noop_window`).
        // (Gervais block transfers take the general path: they are delivered in two steps.)
        if self.skip_noops
            && self.faults.links.is_empty()
            && lane != crate::net::Lane::GervaisBlock
            && let Wire::Proto(m) = &wire
            && let Some(f) = &self.noop_filter
        {
            let arrival = match f.noop_window(from, to, m) {
                consensus::NoopWindow::Always => {
                    self.net.transmit_skipped(lane, at, from, to, bytes, stats);
                    return;
                }
                consensus::NoopWindow::Before(deadline) => {
                    match self
                        .net
                        .transmit_unless_before(lane, at, from, to, bytes, stats, deadline)
                    {
                        Some(arrival) => arrival,
                        None => return,
                    }
                }
                consensus::NoopWindow::Ask => {
                    let arrival = self.net.transmit_on(lane, at, from, to, bytes, stats);
                    if f.ignores(arrival, from, to, m) {
                        return;
                    }
                    arrival
                }
            };
            queue.schedule_at(arrival, Event::Deliver { from, to, wire });
            return;
        }
        let mut arrival = self.net.transmit_on(lane, at, from, to, bytes, stats);
        if !self.faults.links.is_empty() && from != to {
            let (f, t) = (from as usize, to as usize);
            for (idx, in_target, in_peer) in &self.faults.links {
                if !((in_target[f] && in_peer[t]) || (in_target[t] && in_peer[f])) {
                    continue;
                }
                match self.scenario.faults[*idx].kind {
                    // Across a partition the message is lost for good.
                    crate::scenario::FaultKind::Partition => return,
                    crate::scenario::FaultKind::Degrade { extra_latency, loss } => {
                        arrival += extra_latency;
                        let mut retries = 0;
                        while retries < 32 && rand::RngExt::random::<f64>(&mut self.faults.rng) < loss {
                            retries += 1;
                            arrival += self.scenario.network.rto;
                        }
                    }
                    _ => {}
                }
            }
        }
        // A Gervais block transfer is delivered in two steps: its download is computed when
        // it reaches the receiver (a BLOCK is never a no-op, so nothing is skipped here).
        if lane == crate::net::Lane::GervaisBlock && from != to {
            queue.schedule_at(arrival, Event::Reach { from, to, wire });
            return;
        }
        // A delivery that is certain to be a no-op needs no event (see `Replica::ignores`).
        if self.skip_noops
            && let Wire::Proto(m) = &wire
            && match &self.noop_filter {
                Some(f) => f.ignores(arrival, from, to, m),
                None => self.replicas[to as usize]
                    .as_ref()
                    .is_some_and(|r| r.ignores(arrival, from, m)),
            }
        {
            return;
        }
        queue.schedule_at(arrival, Event::Deliver { from, to, wire });
    }

    /// Whether a Byzantine censor at `node` drops this transaction.
    fn censored(&self, node: NodeId, tx: &TxEntry) -> bool {
        matches!(&self.faults.byzantine[node as usize], Some(crate::scenario::Behaviour::Censor(origins)) if origins.binary_search(&tx.from).is_ok())
    }

    /// Start or end fault `idx`.
    fn apply_fault(&mut self, now: SimTime, idx: usize, start: bool, queue: &mut EventQueue<Event<R::Msg>>) {
        use crate::scenario::{Behaviour, FaultKind};
        let f = &self.scenario.faults[idx];
        let n = self.scenario.topology.nodes.len();
        match &f.kind {
            FaultKind::Crash => {
                for &node in &f.target {
                    if start {
                        self.faults.down[node as usize] = true;
                        self.cpus[node as usize].clear_queue();
                    } else if self.faults.down[node as usize] {
                        self.faults.down[node as usize] = false;
                        if let Some(r) = self.replicas[node as usize].as_mut() {
                            self.outbox.clear();
                            r.on_recover(now, &mut self.outbox);
                            self.flush(now, node, queue, false);
                        }
                    }
                }
            }
            FaultKind::Partition | FaultKind::Degrade { .. } => {
                if start {
                    let mut in_target = vec![false; n];
                    let mut in_peer = vec![false; n];
                    for &t in &f.target {
                        in_target[t as usize] = true;
                    }
                    for &p in &f.peer {
                        in_peer[p as usize] = true;
                    }
                    self.faults.links.push((idx, in_target, in_peer));
                } else {
                    self.faults.links.retain(|(i, _, _)| *i != idx);
                }
            }
            FaultKind::SlowCpu(_) => {
                if start {
                    self.faults.slow.push(idx);
                } else {
                    self.faults.slow.retain(|i| *i != idx);
                }
                self.faults.cpu_factor.iter_mut().for_each(|x| *x = 1.0);
                for &i in &self.faults.slow {
                    if let FaultKind::SlowCpu(factor) = self.scenario.faults[i].kind {
                        for &t in &self.scenario.faults[i].target {
                            self.faults.cpu_factor[t as usize] *= factor;
                        }
                    }
                }
            }
            FaultKind::Byzantine(b) => {
                for &node in &f.target {
                    let silent = *b == Behaviour::Silent;
                    self.faults.byzantine[node as usize] = if start { Some(b.clone()) } else { None };
                    if silent {
                        self.faults.down[node as usize] = start;
                        if start {
                            self.cpus[node as usize].clear_queue();
                        }
                    }
                }
            }
        }
    }

    /// Queue `job` on `node` and start queued jobs on its free cores. Same as
    /// `cpus[node].enqueue(now, job)` then [`World::dispatch`], without the trip through the
    /// queue when the job would start at once.
    #[inline]
    fn submit_job(&mut self, now: SimTime, node: NodeId, job: Job<R::Msg>, queue: &mut EventQueue<Event<R::Msg>>) {
        self.release_silent(now, node, queue);
        let cpu = &mut self.cpus[node as usize];
        if cpu.queued() == 0 && cpu.try_take_core() {
            self.run_job(now, node, now, job, queue);
            // A job's handler and outputs never queue a job on a CPU (inputs arrive as
            // events): the queue is still empty, so nothing starts and no silent core's
            // release has to be scheduled.
            debug_assert_eq!(self.cpus[node as usize].queued(), 0);
            return;
        }
        cpu.enqueue(now, job);
        self.start_jobs(now, node, queue);
        self.schedule_silent_if_needed(node, queue);
    }

    /// A peer message `msg` from `from` reaches `to`: [`World::submit_job`] with
    /// `Job::Proto(from, msg)`, with the handler called directly (no `Job` built and matched)
    /// when the job would start at once — the same steps in the same order.
    #[inline]
    fn deliver_proto(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        msg: R::Msg,
        queue: &mut EventQueue<Event<R::Msg>>,
    ) {
        self.release_silent(now, to, queue);
        let cpu = &mut self.cpus[to as usize];
        if cpu.queued() == 0 && cpu.try_take_core() {
            // `run_job`'s `Job::Proto` arm, then its common part.
            self.outbox.clear();
            self.outbox.charge(self.scenario.cpu.per_message);
            let censored = R::carried_tx(&msg).is_some_and(|tx| self.censored(to, tx));
            if !censored && let Some(r) = self.replicas[to as usize].as_mut() {
                r.on_message(now, from, msg, &mut self.outbox);
            }
            self.finish_job(now, to, now, None, queue);
            // As in `submit_job`: a handler never queues a job on a CPU.
            debug_assert_eq!(self.cpus[to as usize].queued(), 0);
            return;
        }
        cpu.enqueue(now, Job::Proto(from, msg));
        self.start_jobs(now, to, queue);
        self.schedule_silent_if_needed(to, queue);
    }

    /// Start queued jobs on free cores of `node`.
    #[inline]
    fn dispatch(&mut self, now: SimTime, node: NodeId, queue: &mut EventQueue<Event<R::Msg>>) {
        self.release_silent(now, node, queue);
        // Nothing queued (the usual case): `start_jobs` would start nothing and
        // `schedule_silent_if_needed` schedule nothing.
        if self.cpus[node as usize].queued() == 0 {
            return;
        }
        self.start_jobs(now, node, queue);
        self.schedule_silent_if_needed(node, queue);
    }

    /// Release the silently busy cores whose virtual CoreFree precedes the current event.
    #[inline(always)]
    fn release_silent(&mut self, now: SimTime, node: NodeId, queue: &EventQueue<Event<R::Msg>>) {
        if self.silent_total > 0 && !self.silent_busy[node as usize].is_empty() {
            let current = (now, queue.current_seq());
            let cpu = &mut self.cpus[node as usize];
            let released = self.silent_busy[node as usize].release_before(current);
            for _ in 0..released {
                cpu.release();
            }
            self.silent_total -= released;
        }
    }

    /// A job waits for a core: the silent cores' CoreFree events are needed after all.
    #[inline]
    fn schedule_silent_if_needed(&mut self, node: NodeId, queue: &mut EventQueue<Event<R::Msg>>) {
        if self.cpus[node as usize].queued() > 0 && !self.silent_busy[node as usize].is_empty() {
            self.silent_total -= self.silent_busy[node as usize].len();
            for (done, seq) in self.silent_busy[node as usize].drain() {
                queue.schedule_with_seq(done, seq, Event::CoreFree { node, slot: NO_SLOT });
            }
        }
    }

    /// Start queued jobs on free cores of `node`.
    fn start_jobs(&mut self, now: SimTime, node: NodeId, queue: &mut EventQueue<Event<R::Msg>>) {
        while let Some((enqueued, job)) = self.cpus[node as usize].start_next() {
            self.run_job(now, node, enqueued, job, queue);
        }
    }

    /// Run `job` (queued at `enqueued`) on a core of `node` just taken for it: the handler,
    /// commit observation, CPU accounting and the release of its outputs.
    #[inline]
    fn run_job(
        &mut self,
        now: SimTime,
        node: NodeId,
        enqueued: SimTime,
        job: Job<R::Msg>,
        queue: &mut EventQueue<Event<R::Msg>>,
    ) {
        self.outbox.clear();
        let mut submit = None;
        match job {
            Job::Submit(tx) => {
                self.outbox.charge(self.scenario.cpu.sign);
                submit = Some(tx);
            }
            Job::Request(boxed) => {
                self.outbox.charge(self.scenario.cpu.per_message);
                let tx = *boxed;
                self.tx_boxes.recycle(boxed);
                if !self.censored(node, &tx)
                    && let Some(r) = self.replicas[node as usize].as_mut()
                {
                    r.on_request(now, tx, &mut self.outbox);
                }
            }
            Job::Proto(from, msg) => {
                self.outbox.charge(self.scenario.cpu.per_message);
                let censored = R::carried_tx(&msg).is_some_and(|tx| self.censored(node, tx));
                if !censored && let Some(r) = self.replicas[node as usize].as_mut() {
                    r.on_message(now, from, msg, &mut self.outbox);
                }
            }
            Job::Timer(token) => {
                if let Some(r) = self.replicas[node as usize].as_mut() {
                    r.on_timer(now, token, &mut self.outbox);
                }
            }
        }
        self.finish_job(now, node, enqueued, submit, queue);
    }

    /// The second half of [`World::run_job`], after the handler filled the outbox: commit
    /// observation, CPU accounting and the release of the job's outputs (`submit`: the
    /// transaction of a signing job, which leaves when the signature is done).
    #[inline(always)]
    fn finish_job(
        &mut self,
        now: SimTime,
        node: NodeId,
        enqueued: SimTime,
        submit: Option<Box<TxEntry>>,
        queue: &mut EventQueue<Event<R::Msg>>,
    ) {
        // Commits are observed in the order the replica made them, now (a multi-core node's
        // outputs may leave in another order). They stay among the outputs, which `flush`
        // then releases with `commits_seen` (it skips them); a job whose only outputs are
        // commits has no outputs left.
        if self
            .outbox
            .actions
            .iter()
            .any(|a| matches!(a, Action::Committed { .. }))
        {
            let correct = self.faults.correct[node as usize];
            let mut others = 0usize;
            for a in &self.outbox.actions {
                match *a {
                    Action::Committed { height, digest } => {
                        if correct {
                            self.checker
                                .observe(now, node, height, digest, &self.scenario.topology.nodes);
                        }
                    }
                    _ => others += 1,
                }
            }
            if others == 0 {
                self.outbox.actions.clear();
            }
        }
        // Every factor is 1 while no slow-CPU fault is active: no per-job table read then.
        let cost = if self.faults.slow.is_empty() {
            self.outbox.cpu
        } else {
            let factor = self.faults.cpu_factor[node as usize];
            if factor == 1.0 {
                self.outbox.cpu
            } else {
                (self.outbox.cpu as f64 * factor).round() as SimTime
            }
        };
        let done = now + cost;
        if self.in_window(now) {
            let cpu = &mut self.cpus[node as usize];
            cpu.busy_ns += cost;
            cpu.wait_ns += u128::from(now - enqueued);
            cpu.jobs += 1;
        }
        if let Some(tx) = submit {
            // The request leaves when the signature is done.
            queue.schedule_at(done, Event::Submitted { node, tx });
        } else if cost == 0 {
            self.flush(now, node, queue, true);
            self.cpus[node as usize].release();
        } else if self.outbox.actions.is_empty() {
            // Nothing to send when the job ends: the core's release needs no event unless
            // a job waits for it (see `silent_busy`).
            let seq = queue.reserve_seq();
            self.silent_busy[node as usize].push((done, seq));
            self.silent_total += 1;
        } else {
            // Park the outputs until the CPU time has passed, so that every node's sends
            // happen in time order (the egress FIFO sees departures as they occur).
            let slot = match self.free_slots.pop() {
                Some(s) => s,
                None => {
                    self.parked.push(Vec::new());
                    (self.parked.len() - 1) as u32
                }
            };
            std::mem::swap(&mut self.outbox.actions, &mut self.parked[slot as usize]);
            queue.schedule_at(done, Event::CoreFree { node, slot });
        }
    }

    /// Carry out the outbox's commands, leaving `node` at time `at`. `commits_seen`: the
    /// outbox's `Committed` reports were observed already (by `finish_job`, for a job's
    /// outputs) and are skipped.
    fn flush(&mut self, at: SimTime, node: NodeId, queue: &mut EventQueue<Event<R::Msg>>, commits_seen: bool) {
        let mut actions = std::mem::take(&mut self.outbox.actions);
        for action in actions.drain(..) {
            match action {
                Action::Send { to, msg } => {
                    self.count_kind(at, &msg);
                    let bytes = R::msg_bytes(&msg);
                    let lane = self.replicas[node as usize]
                        .as_ref()
                        .map_or(crate::net::Lane::Egress, |r| r.msg_lane(&msg));
                    let counted = self.in_window(at);
                    self.send_on(queue, lane, at, node, to, bytes, Wire::Proto(msg), counted);
                }
                Action::Broadcast { msg } => {
                    let bytes = R::msg_bytes(&msg);
                    // An equivocating node sends a conflicting version to the second half.
                    let alt = match self.faults.byzantine[node as usize] {
                        Some(crate::scenario::Behaviour::Equivocate) => {
                            self.replicas[node as usize].as_ref().and_then(|r| r.equivocate(&msg))
                        }
                        _ => None,
                    };
                    let members = std::mem::take(&mut self.dep.members);
                    // Per broadcast, not per copy: the window test and the message kinds.
                    let counted = self.in_window(at);
                    let kind = R::msg_kind(&msg);
                    if alt.is_none()
                        && fast_paths()
                        && self.faults.links.is_empty()
                        && let Some(plan) = self.net.broadcast_plan(node, bytes)
                    {
                        self.broadcast_planned(queue, at, node, &members, &msg, kind, plan, counted);
                        self.dep.members = members;
                        continue;
                    }
                    let half = R::equivocation_split(members.len());
                    let alt_kind = alt.as_ref().map_or(kind, |a| R::msg_kind(a));
                    for (i, &to) in members.iter().enumerate() {
                        if to != node {
                            let (m, k) = match &alt {
                                Some(a) if i >= half => (a.clone(), alt_kind),
                                _ => (msg.clone(), kind),
                            };
                            if counted {
                                self.kind_counts[k] += 1;
                            }
                            let lane = crate::net::Lane::Egress;
                            self.send_on(queue, lane, at, node, to, bytes, Wire::Proto(m), counted);
                        }
                    }
                    self.dep.members = members;
                }
                Action::SetTimer { after, token } => queue.schedule_at(at + after, Event::Timer { node, token }),
                Action::Reply { client, reply } => {
                    let bytes = reply.bytes();
                    self.send(queue, at, node, client, bytes, Wire::Reply(reply));
                }
                Action::Committed { height, digest } => {
                    if !commits_seen && self.faults.correct[node as usize] {
                        self.checker
                            .observe(at, node, height, digest, &self.scenario.topology.nodes);
                    }
                }
            }
        }
        // Hand the emptied buffer back. Nothing pushes into the outbox during a flush, so what
        // `take` left there has no allocation: nothing to free (no call to the drop glue).
        let left = std::mem::replace(&mut self.outbox.actions, actions);
        if left.capacity() == 0 {
            std::mem::forget(left);
        }
    }

    /// A broadcast of `msg` (kind `kind`) from `node` to every other member on the egress
    /// lane, with no partition or degraded link active and no equivocation: per copy exactly
    /// what [`World::send_on`] does (same draws in member order, same arrival times, same
    /// sequence numbers), with the per-broadcast work done once (`plan`, the statistics).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn broadcast_planned(
        &mut self,
        queue: &mut EventQueue<Event<R::Msg>>,
        at: SimTime,
        node: NodeId,
        members: &[NodeId],
        msg: &R::Msg,
        kind: usize,
        mut plan: crate::net::BroadcastPlan,
        counted: bool,
    ) {
        debug_assert!(self.faults.links.is_empty());
        let (mut copies, mut transmissions) = (0u64, 0u64);
        let bytes = plan.bytes;
        let (net, replicas, noop_filter, skip_noops) =
            (&mut self.net, &self.replicas, &self.noop_filter, self.skip_noops);
        // Copies are drawn, filtered and scheduled one by one in member order, as before.
        queue.schedule_each(members.iter().filter(|&&to| to != node).filter_map(|&to| {
            let (arrival, attempts) = net.broadcast_copy(&mut plan, at, to);
            copies += 1;
            transmissions += attempts;
            // A delivery that is certain to be a no-op needs no event (see `Replica::ignores`).
            if skip_noops
                && match noop_filter {
                    Some(f) => f.ignores(arrival, node, to, msg),
                    None => replicas[to as usize]
                        .as_ref()
                        .is_some_and(|r| r.ignores(arrival, node, msg)),
                }
            {
                return None;
            }
            Some((
                arrival,
                Event::Deliver {
                    from: node,
                    to,
                    wire: Wire::Proto(msg.clone()),
                },
            ))
        }));
        self.net.end_broadcast(plan);
        if counted {
            self.kind_counts[kind] += copies;
            self.net_stats.add_copies(copies, bytes, transmissions);
        }
    }

    #[inline]
    fn count_kind(&mut self, at: SimTime, msg: &R::Msg) {
        if self.in_window(at) {
            self.kind_counts[R::msg_kind(msg)] += 1;
        }
    }

    fn client_reply(&mut self, now: SimTime, reply: Reply) {
        match reply {
            Reply::Tx(tx) => {
                if self.dep.replies_needed <= 1 {
                    self.record_commit(now, &tx);
                }
            }
            Reply::Batch { batch, range } => {
                let counter = &batch.reply_counts[range as usize];
                let v = counter.get() + 1;
                counter.set(v);
                if v == self.dep.replies_needed {
                    let (_, s, e) = batch.by_client[range as usize];
                    for tx in &batch.txs[s as usize..e as usize] {
                        self.record_commit(now, tx);
                    }
                }
            }
        }
    }

    /// The submitter learned that `tx` is committed (recorded) at `now`.
    fn record_commit(&mut self, now: SimTime, tx: &TxEntry) {
        let sc = self.scenario;
        let settled = match self.system.settlement {
            SettlementMode::OnLedger => now,
            SettlementMode::Batch | SettlementMode::OffLedger => sc.settlement.next_cutoff(sc.start_of_day, now),
        };
        let latency = now - tx.submitted_at;
        if now < sc.duration {
            self.series.record(now, latency);
        }
        if self.in_window(now) {
            self.faults.max_gap = self.faults.max_gap.max(now - self.faults.last_commit);
            self.faults.last_commit = now;
            for (i, f) in sc.faults.iter().enumerate() {
                if let Some(until) = f.until
                    && now >= until
                    && self.faults.recovered[i].is_none()
                    && f.systems.contains(&self.system_index)
                {
                    self.faults.recovered[i] = Some(now - until);
                }
            }
            self.committed += 1;
            let flow = &sc.flows[tx.flow as usize];
            self.acc.record(
                &self.system.cost,
                self.system.settlement,
                flow.fee,
                tx.amount_minor as f64 / 100.0,
                settled - tx.submitted_at,
                tx.size,
            );
            if tx.submitted_at >= sc.warmup {
                self.latency.record(latency);
                self.settle.record(settled - tx.submitted_at);
            }
        }
    }
}

impl<'a, R: Replica> Model for World<'a, R> {
    type Event = Event<R::Msg>;

    /// Inlined into the event loop (a call would pass every event through memory).
    #[inline(always)]
    fn handle(&mut self, now: SimTime, event: Event<R::Msg>, queue: &mut EventQueue<Event<R::Msg>>) {
        match event {
            Event::Arrival { flow } => {
                let tx = self.workload.make_tx(flow as usize, now);
                if self.in_window(now) {
                    self.submitted += 1;
                }
                // A crashed client loses the transaction (the workload itself is unchanged).
                if self.faults.is_up(tx.submitter) {
                    let boxed = self.tx_boxes.boxed(tx);
                    self.submit_job(now, tx.submitter, Job::Submit(boxed), queue);
                }
                let next = self.workload.next_arrival(flow as usize, now);
                if next < self.scenario.duration {
                    queue.schedule_at(next, Event::Arrival { flow });
                }
            }
            Event::Reach { to, .. } if !self.faults.is_up(to) => {} // a down node downloads nothing
            Event::Reach { from, to, wire } => {
                let bytes = match &wire {
                    Wire::Proto(m) => R::msg_bytes(m),
                    Wire::Request(tx) => tx.size,
                    Wire::Reply(r) => r.bytes(),
                };
                let done = self.net.gervais_download(now, from, to, bytes);
                queue.schedule_at(done, Event::Deliver { from, to, wire });
            }
            Event::Deliver { to, .. } if !self.faults.is_up(to) => {}
            Event::Deliver { from, to, wire } => match wire {
                Wire::Reply(r) => self.client_reply(now, r),
                Wire::Request(tx) => self.submit_job(now, to, Job::Request(tx), queue),
                // Certain no-ops need not reach the CPU (see `NoopFilter::drops`; the
                // straightforward paths deliver them).
                Wire::Proto(m)
                    if self.skip_noops
                        && fast_paths()
                        && self.noop_filter.as_ref().is_some_and(|f| f.drops(from, to, &m)) => {}
                Wire::Proto(m) if fast_paths() => self.deliver_proto(now, from, to, m, queue),
                Wire::Proto(m) => self.submit_job(now, to, Job::Proto(from, m), queue),
            },
            Event::CoreFree { node, slot } => {
                if slot != NO_SLOT {
                    std::mem::swap(&mut self.outbox.actions, &mut self.parked[slot as usize]);
                    if self.faults.is_up(node) {
                        self.flush(now, node, queue, true); // a job's outputs (`finish_job`)
                    } else {
                        self.outbox.actions.clear(); // crashed before the outputs left
                    }
                    self.free_slots.push(slot);
                }
                self.cpus[node as usize].release();
                self.dispatch(now, node, queue);
            }
            Event::Submitted { node, tx } => {
                self.cpus[node as usize].release();
                if self.faults.is_up(node) {
                    let entry = self.dep.entry[tx.submitter as usize];
                    self.send(queue, now, node, entry, tx.size, Wire::Request(tx));
                    self.dispatch(now, node, queue);
                }
            }
            Event::Timer { node, .. } if !self.faults.is_up(node) => {} // timers die with the node
            Event::Timer { node, token } => self.submit_job(now, node, Job::Timer(token), queue),
            Event::Fault { index, start } => self.apply_fault(now, index as usize, start, queue),
        }
    }
}

/// Run system `system` of `scenario`, replication `replication`.
pub fn run_system(scenario: &Scenario, system: usize, replication: u32) -> RunResult {
    let spec = &scenario.systems[system];
    match &spec.kind {
        SystemKind::Centralized(c) => run_world(
            scenario,
            system,
            replication,
            consensus::centralized::deploy(scenario, c, replication),
        ),
        SystemKind::Pbft(p) => run_world(scenario, system, replication, consensus::pbft::deploy(scenario, p)),
        SystemKind::Raft(p) => run_world(
            scenario,
            system,
            replication,
            consensus::raft::deploy(scenario, p, replication),
        ),
        SystemKind::HotStuff(p) => run_world(
            scenario,
            system,
            replication,
            consensus::hotstuff::deploy(scenario, p, replication),
        ),
        SystemKind::Poa(p) => run_world(
            scenario,
            system,
            replication,
            consensus::poa::deploy(scenario, p, replication),
        ),
        SystemKind::Pow(p) => run_world(
            scenario,
            system,
            replication,
            consensus::pow::deploy(scenario, p, replication),
        ),
    }
}

fn run_world<R: Replica>(scenario: &Scenario, system: usize, replication: u32, dep: Deployment<R>) -> RunResult {
    let spec = &scenario.systems[system];
    let n = scenario.topology.nodes.len();
    let mut cpus: Vec<Cpu<Job<R::Msg>>> = scenario.topology.nodes.iter().map(|nd| Cpu::new(nd.cores)).collect();
    for &(node, cores) in &dep.core_overrides {
        cpus[node as usize] = Cpu::new(cores);
    }
    let mut replicas: Vec<Option<R>> = (0..n).map(|_| None).collect();
    let replica_nodes: Vec<NodeId> = dep.replicas.iter().map(|(id, _)| *id).collect();
    let Deployment {
        replicas: reps,
        members,
        core_overrides,
        replies_needed,
        entry,
    } = dep;
    let noop_filter = reps.first().and_then(|(_, r)| r.noop_filter());
    for (id, r) in reps {
        replicas[id as usize] = Some(r);
    }
    let faults = FaultState::new(scenario, system, replication);
    let checker_replicas = replica_nodes.iter().filter(|&&id| faults.correct[id as usize]).count() as u32;
    let mut world = World {
        scenario,
        system: spec,
        system_index: system,
        net: {
            let mut net = Network::new(
                &scenario.topology,
                &scenario.network,
                stream_rng(scenario.seed, replication, StreamLabel("network"), 0),
            );
            net.draw_bandwidths(&scenario.topology, scenario.seed, replication);
            net.fix_link_latencies(&scenario.network, scenario.seed, replication);
            net
        },
        net_stats: NetStats::default(),
        kind_counts: vec![0; R::msg_kind_names().len()],
        cpus,
        replicas,
        dep: Deployment {
            replicas: vec![],
            members,
            core_overrides,
            replies_needed,
            entry,
        },
        workload: crate::workload::Workload::new(scenario, replication),
        outbox: Outbox::default(),
        parked: Vec::new(),
        free_slots: Vec::new(),
        checker: SafetyChecker {
            replicas: checker_replicas,
            last_height: vec![0; n],
            ..Default::default()
        },
        faults,
        skip_noops: scenario.faults.is_empty() && scenario.cpu.per_message == 0,
        noop_filter,
        silent_busy: vec![SilentCores::default(); n],
        silent_total: 0,
        latency: Histogram::new(),
        settle: Histogram::new(),
        series: TimeSeries::new(scenario.duration, scenario.timeseries_window),
        acc: CostAccumulator::default(),
        submitted: 0,
        committed: 0,
        tx_boxes: BoxPool::new(TX_BOXES_KEPT),
    };
    let mut queue: EventQueue<Event<R::Msg>> = EventQueue::with_capacity(1024);
    for (i, f) in scenario.faults.iter().enumerate() {
        if f.systems.contains(&system) {
            queue.schedule_at(
                f.at,
                Event::Fault {
                    index: i as u16,
                    start: true,
                },
            );
            if let Some(u) = f.until {
                queue.schedule_at(
                    u,
                    Event::Fault {
                        index: i as u16,
                        start: false,
                    },
                );
            }
        }
    }
    for f in 0..scenario.flows.len() {
        let t = world.workload.first_arrival(f);
        if t < scenario.duration {
            queue.schedule_at(t, Event::Arrival { flow: f as u16 });
        }
    }
    // Replicas arm their initial timers (a no-op for protocols that need none).
    for &id in &replica_nodes {
        if let Some(r) = world.replicas[id as usize].as_mut() {
            world.outbox.clear();
            r.on_start(0, &mut world.outbox);
            if !world.outbox.actions.is_empty() {
                world.flush(0, id, &mut queue, false);
            }
        }
    }
    // Stoppable (Ctrl-C): a stopped run's results are incomplete and discarded by the caller.
    let stop = &crate::engine::STOP_REQUESTED;
    let (main, _) = run_until_or_stop(&mut world, &mut queue, scenario.duration, stop);
    let (drain, _) = run_until_or_stop(&mut world, &mut queue, scenario.duration + DRAIN_LIMIT, stop);
    let events = main.events + drain.events;

    // Replica consistency and conservation.
    let opening = i128::from(scenario.initial_balance_minor) * n as i128;
    let ledgers: Vec<_> = replica_nodes
        .iter()
        .filter(|&&id| world.faults.correct[id as usize])
        .filter_map(|&id| world.replicas[id as usize].as_ref().map(|r| r.ledger()))
        .collect();
    let correct_reps: Vec<&R> = replica_nodes
        .iter()
        .filter(|&&id| world.faults.correct[id as usize])
        .filter_map(|&id| world.replicas[id as usize].as_ref())
        .collect();
    let view_changes = correct_reps
        .iter()
        .map(|r| r.counters().view_changes)
        .max()
        .unwrap_or(0);
    let elections = correct_reps.iter().map(|r| r.counters().elections).sum();
    let forks = correct_reps.iter().map(|r| r.counters().forks).max().unwrap_or(0);
    let chain = correct_reps.iter().find_map(|r| r.chain_metrics());
    let max_gap = world.faults.max_gap.max(scenario.duration - world.faults.last_commit);
    let recovery_ms: Vec<f64> = world
        .faults
        .recovered
        .iter()
        .map(|r| r.map(|t| t as f64 / 1e6).unwrap_or(f64::NAN))
        .collect();
    let max_h = ledgers.iter().map(|l| l.height()).max().unwrap_or(0);
    let min_h = ledgers.iter().map(|l| l.height()).min().unwrap_or(0);
    let top: Vec<u64> = ledgers
        .iter()
        .filter(|l| l.height() == max_h)
        .map(|l| l.state_digest())
        .collect();
    let replicas_consistent = top.windows(2).all(|w| w[0] == w[1]);
    let money_conserved = ledgers.iter().all(|l| l.total() == opening);
    let state_digest = format!("{:016x}", top.first().copied().unwrap_or(0));

    let window = scenario.window();
    let window_s = window as f64 / NS_PER_S as f64;
    let replies = world.net_stats.messages - world.kind_counts.iter().sum::<u64>();
    let mut message_kinds: Vec<(&'static str, u64)> = R::msg_kind_names()
        .iter()
        .copied()
        .zip(world.kind_counts.iter().copied())
        .collect();
    message_kinds.push((crate::names::CLIENT_KIND, replies));
    let energy_kwh = match &spec.kind {
        SystemKind::Pow(p) => crate::cost::mining_energy_kwh(p.hash_rate, p.joules_per_hash, window),
        _ => 0.0,
    };
    let cost = CostBreakdown::compute(
        &spec.cost,
        &world.acc,
        window,
        replica_nodes.len(),
        replica_nodes.len(),
        world.net_stats.bytes,
        energy_kwh,
    );
    let per_tx = cost.per_tx(world.committed);
    let node_utilization: Vec<f64> = world
        .cpus
        .iter()
        .map(|cpu| cpu.busy_ns as f64 / (window as f64 * f64::from(cpu.cores())))
        .collect();
    let (mut util_max, mut wait_max) = (0.0f64, 0.0f64);
    for &id in &replica_nodes {
        let cpu = &world.cpus[id as usize];
        util_max = util_max.max(node_utilization[id as usize]);
        if cpu.jobs > 0 {
            wait_max = wait_max.max(cpu.wait_ns as f64 / cpu.jobs as f64 / 1e6);
        }
    }
    RunResult {
        point: 0,
        replica_nodes: replica_nodes.len(),
        system,
        replication,
        submitted: world.submitted,
        committed: world.committed,
        throughput_tps: world.committed as f64 / window_s,
        latency: LatencySummary::from_hist(&world.latency),
        settlement: LatencySummary::from_hist(&world.settle),
        latency_buckets: world.latency.buckets(),
        settlement_buckets: world.settle.buckets(),
        cost_per_tx_total: if world.committed > 0 {
            per_tx.iter().sum()
        } else {
            f64::NAN
        },
        cost,
        cost_per_tx: per_tx,
        messages: world.net_stats.messages,
        bytes: world.net_stats.bytes,
        message_kinds,
        node_utilization,
        cpu_util_max: util_max,
        cpu_wait_ms_max: wait_max,
        events,
        safety_violations: world.checker.violations,
        violation_notes: world.checker.notes,
        view_changes,
        elections,
        forks,
        max_commit_gap_ms: max_gap as f64 / 1e6,
        recovery_ms,
        replicas_consistent,
        heights: (min_h, max_h),
        money_conserved,
        state_digest,
        timeseries: world.series,
        chain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::{centralized::CentralMsg, pbft::PbftMsg};
    use crate::engine::Scheduled;

    /// The fast delivery path (`deliver_proto`), the planned broadcast
    /// (`broadcast_planned`), PBFT's fused vote handler (`PbftReplica::on_vote`) and the
    /// deliveries dropped by `NoopFilter::drops` give the same results, to the last counter,
    /// as the straightforward `submit_job(Job::Proto)`, per-copy `send_on`, `record_vote` +
    /// `check` and every delivery reaching its handler: PBFT with one busy core per replica
    /// (jobs queue), the national day's network (8 cores, jitter, loss), crashes,
    /// equivocation within and beyond f and a partition (from 180 s on: the fan-out takes
    /// the general path), and proof of work without CPU costs (SimBlock's relay; a full mesh
    /// with stale blocks).
    #[test]
    fn fast_paths_give_the_straightforward_results() {
        let cases: &[(&str, &[&str])] = &[
            (
                "scenarios/bench/pbft-reference.toml",
                &["topology.group[0].count=4", "workload.flow[0].limit=300", "duration=4s"],
            ),
            // Equivocation beyond f: votes for two digests per view (the fused vote handler's
            // fallback to `check`) and a safety violation.
            ("scenarios/faults/pbft-equivocation-beyond-f.toml", &[]),
            ("scenarios/national-day.toml", &["duration=20s", "start_time=09:00"]),
            ("scenarios/faults/pbft-primary-crash.toml", &[]),
            ("scenarios/faults/pbft-equivocation-within-f.toml", &[]),
            ("scenarios/faults/northwest-partition.toml", &["duration=200s"]),
            // Proof of work without CPU costs: INVs and transactions that the receiver
            // already holds are dropped on delivery (the fast path) or reach the handler.
            // SimBlock's relay on a small network with transaction floods, and a full mesh
            // with 6 % stale blocks (reorganizations move transactions between the mempool
            // and the chain).
            (
                "scenarios/bitcoin-simblock-2019.toml",
                &[
                    "topology.group[0].count=60",
                    "topology.group[1].count=90",
                    "topology.group[2].count=4",
                    "topology.group[3].count=20",
                    "topology.group[4].count=5",
                    "topology.group[5].count=5",
                    "duration=4h",
                    "workload.flow[0].arrival.rate=0.02",
                ],
            ),
            (
                "scenarios/validation/pow-stale-rate.toml",
                &["duration=1500s", "workload.flow[0].arrival.rate=2"],
            ),
        ];
        for (path, overrides) in cases {
            let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
            let sc = crate::scenario::validate::load_file(std::path::Path::new(path), &overrides)
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            for system in 0..sc.systems.len() {
                let fast = format!("{:?}", run_system(&sc, system, 0));
                STRAIGHTFORWARD.with(|s| s.set(true));
                let plain = format!("{:?}", run_system(&sc, system, 0));
                STRAIGHTFORWARD.with(|s| s.set(false));
                assert!(fast == plain, "{path}, system {system}: fast paths changed the result");
            }
        }
    }

    #[test]
    fn events_stay_small_and_inline() {
        // A queue entry is (time, seq, event): keep it small enough that the heap stays cache-friendly.
        let pbft = std::mem::size_of::<Scheduled<Event<PbftMsg>>>();
        assert!(pbft <= 96, "{pbft} bytes");
        assert!(std::mem::size_of::<Scheduled<Event<CentralMsg>>>() <= 96);
        // What the queue's slab holds per pending event: transactions are boxed, so a PBFT
        // event is at most a vote (view, seq, digest) plus addresses and tags.
        let slab_entry = std::mem::size_of::<Option<Event<PbftMsg>>>();
        assert!(slab_entry <= 48, "{slab_entry} bytes");
    }
}
