//! The world of one run: the engine plus network, node CPUs, one protocol deployment, the
//! workload, settlement and metrics, built from a validated scenario. Defines the event enum
//! and its dispatch.
//!
//! A run simulates `[0, duration)` with arrivals, then drains in-flight work (no new
//! arrivals) for up to [`DRAIN_LIMIT`] so that replicas can be compared at a common height.
//! Statistics only count what happens inside the measurement window `[warmup, duration]`.

use crate::consensus::{self, Action, Deployment, Outbox, Replica, Reply};
use crate::cost::{CostAccumulator, CostBreakdown};
use crate::engine::{EventQueue, Model, NS_PER_S, SimTime, StreamLabel, run_until, stream_rng};
use crate::ledger::TxEntry;
use crate::metrics::{Histogram, TimeSeries};
use crate::net::{NetStats, Network};
use crate::node::Cpu;
use crate::scenario::{NodeId, Scenario, SettlementMode, SystemKind, SystemSpec};
use std::collections::BTreeMap;

/// How long after `duration` in-flight work may drain (simulated time).
pub const DRAIN_LIMIT: SimTime = 60 * NS_PER_S;

/// What travels on the wire.
#[derive(Debug, Clone)]
pub enum Wire<M> {
    /// Client → entry replica.
    Request(TxEntry),
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
        /// The transaction.
        tx: TxEntry,
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

/// A unit of CPU work on a node.
#[derive(Debug)]
enum Job<M> {
    Submit(TxEntry),
    Request(TxEntry),
    Proto(NodeId, M),
    Timer(u64),
}

/// Checks that every replica commits the same block at each height. Memory is bounded by
/// how far the slowest replica lags (entries are dropped once all replicas reported).
#[derive(Debug, Default)]
struct SafetyChecker {
    replicas: u32,
    pending: BTreeMap<u64, (u64, u32)>,
    violations: u64,
}

impl SafetyChecker {
    fn observe(&mut self, height: u64, digest: u64) {
        let e = self.pending.entry(height).or_insert((digest, 0));
        if e.0 != digest {
            self.violations += 1;
        }
        e.1 += 1;
        if e.1 >= self.replicas {
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
    pub cost_per_tx: [f64; 6],
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
    /// Heights at which replicas committed different blocks.
    pub safety_violations: u64,
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
}

struct World<'a, R: Replica> {
    scenario: &'a Scenario,
    system: &'a SystemSpec,
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
    latency: Histogram,
    settle: Histogram,
    series: TimeSeries,
    acc: CostAccumulator,
    submitted: u64,
    committed: u64,
}

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
        let stats = if self.in_window(at) {
            Some(&mut self.net_stats)
        } else {
            None
        };
        let arrival = self.net.transmit(at, from, to, bytes, stats);
        queue.schedule_at(arrival, Event::Deliver { from, to, wire });
    }

    /// Start queued jobs on free cores of `node`.
    fn dispatch(&mut self, now: SimTime, node: NodeId, queue: &mut EventQueue<Event<R::Msg>>) {
        while let Some((enqueued, job)) = self.cpus[node as usize].start_next() {
            self.outbox.clear();
            let mut submit = None;
            match job {
                Job::Submit(tx) => {
                    self.outbox.charge(self.scenario.cpu.sign);
                    submit = Some(tx);
                }
                Job::Request(tx) => {
                    if let Some(r) = self.replicas[node as usize].as_mut() {
                        r.on_request(now, tx, &mut self.outbox);
                    }
                }
                Job::Proto(from, msg) => {
                    if let Some(r) = self.replicas[node as usize].as_mut() {
                        r.on_message(now, from, msg, &mut self.outbox);
                    }
                }
                Job::Timer(token) => {
                    if let Some(r) = self.replicas[node as usize].as_mut() {
                        r.on_timer(now, token, &mut self.outbox);
                    }
                }
            }
            let cost = self.outbox.cpu;
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
                self.flush(now, node, queue);
                self.cpus[node as usize].release();
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
    }

    /// Carry out the outbox's commands, leaving `node` at time `at`.
    fn flush(&mut self, at: SimTime, node: NodeId, queue: &mut EventQueue<Event<R::Msg>>) {
        let mut actions = std::mem::take(&mut self.outbox.actions);
        for action in actions.drain(..) {
            match action {
                Action::Send { to, msg } => {
                    self.count_kind(at, &msg);
                    let bytes = R::msg_bytes(&msg);
                    self.send(queue, at, node, to, bytes, Wire::Proto(msg));
                }
                Action::Broadcast { msg } => {
                    let bytes = R::msg_bytes(&msg);
                    for i in 0..self.dep.members.len() {
                        let to = self.dep.members[i];
                        if to != node {
                            self.count_kind(at, &msg);
                            self.send(queue, at, node, to, bytes, Wire::Proto(msg.clone()));
                        }
                    }
                }
                Action::SetTimer { after, token } => queue.schedule_at(at + after, Event::Timer { node, token }),
                Action::Reply { client, reply } => {
                    let bytes = reply.bytes();
                    self.send(queue, at, node, client, bytes, Wire::Reply(reply));
                }
                Action::Committed { height, digest } => self.checker.observe(height, digest),
            }
        }
        self.outbox.actions = actions;
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

    fn handle(&mut self, now: SimTime, event: Event<R::Msg>, queue: &mut EventQueue<Event<R::Msg>>) {
        match event {
            Event::Arrival { flow } => {
                let tx = self.workload.make_tx(flow as usize, now);
                if self.in_window(now) {
                    self.submitted += 1;
                }
                self.cpus[tx.submitter as usize].enqueue(now, Job::Submit(tx));
                self.dispatch(now, tx.submitter, queue);
                let next = self.workload.next_arrival(flow as usize, now);
                if next < self.scenario.duration {
                    queue.schedule_at(next, Event::Arrival { flow });
                }
            }
            Event::Deliver { from, to, wire } => match wire {
                Wire::Reply(r) => self.client_reply(now, r),
                Wire::Request(tx) => {
                    self.cpus[to as usize].enqueue(now, Job::Request(tx));
                    self.dispatch(now, to, queue);
                }
                Wire::Proto(m) => {
                    self.cpus[to as usize].enqueue(now, Job::Proto(from, m));
                    self.dispatch(now, to, queue);
                }
            },
            Event::CoreFree { node, slot } => {
                if slot != NO_SLOT {
                    std::mem::swap(&mut self.outbox.actions, &mut self.parked[slot as usize]);
                    self.flush(now, node, queue);
                    self.free_slots.push(slot);
                }
                self.cpus[node as usize].release();
                self.dispatch(now, node, queue);
            }
            Event::Submitted { node, tx } => {
                self.cpus[node as usize].release();
                let entry = self.dep.entry[tx.submitter as usize];
                self.send(queue, now, node, entry, tx.size, Wire::Request(tx));
                self.dispatch(now, node, queue);
            }
            Event::Timer { node, token } => {
                self.cpus[node as usize].enqueue(now, Job::Timer(token));
                self.dispatch(now, node, queue);
            }
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
    for (id, r) in reps {
        replicas[id as usize] = Some(r);
    }
    let mut world = World {
        scenario,
        system: spec,
        net: Network::new(
            &scenario.topology,
            &scenario.network,
            stream_rng(scenario.seed, replication, StreamLabel("network"), 0),
        ),
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
            replicas: replica_nodes.len() as u32,
            ..Default::default()
        },
        latency: Histogram::new(),
        settle: Histogram::new(),
        series: TimeSeries::new(scenario.duration, scenario.timeseries_window),
        acc: CostAccumulator::default(),
        submitted: 0,
        committed: 0,
    };
    let mut queue: EventQueue<Event<R::Msg>> = EventQueue::with_capacity(1024);
    for f in 0..scenario.flows.len() {
        let t = world.workload.first_arrival(f);
        if t < scenario.duration {
            queue.schedule_at(t, Event::Arrival { flow: f as u16 });
        }
    }
    let main = run_until(&mut world, &mut queue, scenario.duration);
    let drain = run_until(&mut world, &mut queue, scenario.duration + DRAIN_LIMIT);
    let events = main.events + drain.events;

    // Replica consistency and conservation.
    let opening = i128::from(scenario.initial_balance_minor) * n as i128;
    let ledgers: Vec<_> = replica_nodes
        .iter()
        .filter_map(|&id| world.replicas[id as usize].as_ref().map(|r| r.ledger()))
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
    message_kinds.push(("client (requests + replies)", replies));
    let cost = CostBreakdown::compute(
        &spec.cost,
        &world.acc,
        window,
        replica_nodes.len(),
        replica_nodes.len(),
        world.net_stats.bytes,
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
        system,
        replication,
        submitted: world.submitted,
        committed: world.committed,
        throughput_tps: world.committed as f64 / window_s,
        latency: LatencySummary::from_hist(&world.latency),
        settlement: LatencySummary::from_hist(&world.settle),
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
        replicas_consistent,
        heights: (min_h, max_h),
        money_conserved,
        state_digest,
        timeseries: world.series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::{centralized::CentralMsg, pbft::PbftMsg};
    use crate::engine::Scheduled;

    #[test]
    fn events_stay_small_and_inline() {
        // A queue entry is (time, seq, event): keep it small enough that the heap stays cache-friendly.
        let pbft = std::mem::size_of::<Scheduled<Event<PbftMsg>>>();
        assert!(pbft <= 96, "{pbft} bytes");
        assert!(std::mem::size_of::<Scheduled<Event<CentralMsg>>>() <= 96);
    }
}
