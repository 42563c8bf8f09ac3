//! PBFT, normal case (Castro & Liskov 1999): the primary batches requests and sends
//! PRE-PREPARE; backups broadcast PREPARE; a replica is *prepared* with the pre-prepare and
//! 2f prepares, broadcasts COMMIT, and *commits* with 2f + 1 commits; blocks execute in
//! sequence order and every replica replies to the submitters. A client takes a transaction
//! as committed after f + 1 matching replies.
//!
//! Messages per instance: (n − 1) pre-prepares + (n − 1)² prepares + n(n − 1) commits, plus
//! replies. With one-way delay δ, zero CPU and batches of one, a replica commits 3δ after the
//! primary sends pre-prepare; a client that is not a validator sees 5δ from submission
//! (request δ, pre-prepare δ, prepare δ, commit δ, reply δ).
//!
//! View change and checkpoints are not implemented yet: the primary is fixed (view 0).

use super::{Action, Batch, Deployment, Outbox, Replica, Reply};
use crate::engine::SimTime;
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{CpuCosts, NodeId, PbftSpec, Scenario};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

/// PBFT messages.
#[derive(Debug, Clone)]
pub enum PbftMsg {
    /// A backup forwards a client request to the primary.
    Forward(TxEntry),
    /// Primary → all: proposal of `batch` at `seq`.
    PrePrepare {
        /// View.
        view: u64,
        /// The batch (its `seq` is the instance number).
        batch: Rc<Batch>,
    },
    /// Backup → all.
    Prepare {
        /// View.
        view: u64,
        /// Instance.
        seq: u64,
        /// Batch digest.
        digest: u64,
    },
    /// All → all.
    Commit {
        /// View.
        view: u64,
        /// Instance.
        seq: u64,
        /// Batch digest.
        digest: u64,
    },
}

#[derive(Debug, Default)]
struct Instance {
    batch: Option<Rc<Batch>>,
    prepares: u32,
    commits: u32,
    prepared: bool,
    committed: bool,
}

/// Timer token of the batch timeout (the only timer in the normal case).
const BATCH_TIMER: u64 = 1;

/// One PBFT replica.
pub struct PbftReplica {
    id: NodeId,
    primary: NodeId,
    f: u32,
    view: u64,
    cpu: CpuCosts,
    max_tx: usize,
    max_bytes: u64,
    timeout: SimTime,
    pipeline: u32,
    // Primary state.
    pending: VecDeque<(SimTime, TxEntry)>,
    pending_bytes: u64,
    oldest_pending: SimTime,
    timer_armed: bool,
    next_seq: u64,
    in_flight: u32,
    // Replica state: instances above the last executed one. O(in-flight) memory.
    instances: BTreeMap<u64, Instance>,
    last_executed: u64,
    ledger: Ledger,
}

impl PbftReplica {
    fn is_primary(&self) -> bool {
        self.id == self.primary
    }

    fn quorum_prepared(&self) -> u32 {
        2 * self.f
    }

    fn quorum_commit(&self) -> u32 {
        2 * self.f + 1
    }

    /// Primary: propose while the pipeline has room and a batch is due (full, or the oldest
    /// pending request has waited `timeout`).
    fn try_propose(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        while self.in_flight < self.pipeline && !self.pending.is_empty() {
            let full = self.pending.len() >= self.max_tx || self.pending_bytes >= self.max_bytes;
            let due = now >= self.oldest_pending.saturating_add(self.timeout);
            if !(full || due) {
                break;
            }
            let mut txs = Vec::with_capacity(self.max_tx.min(self.pending.len()));
            let mut bytes = 0u64;
            while let Some((_, tx)) = self.pending.front() {
                if txs.len() >= self.max_tx || (!txs.is_empty() && bytes + u64::from(tx.size) > self.max_bytes) {
                    break;
                }
                bytes += u64::from(tx.size);
                txs.push(self.pending.pop_front().expect("front exists").1);
            }
            self.pending_bytes -= bytes;
            self.oldest_pending = self.pending.front().map(|p| p.0).unwrap_or(now);
            self.next_seq += 1;
            let batch = Rc::new(Batch::new(self.next_seq, txs));
            out.charge(self.cpu.hash(batch.bytes) + self.cpu.sign);
            self.in_flight += 1;
            let inst = self.instances.entry(batch.seq).or_default();
            inst.batch = Some(batch.clone());
            out.push(Action::Broadcast {
                msg: PbftMsg::PrePrepare { view: self.view, batch },
            });
            let seq = self.next_seq;
            self.check(now, seq, out);
        }
        // A timer is needed only while a slot is free and the batch is not yet due; with a
        // full pipeline, the next completed instance calls `try_propose` again.
        if !self.pending.is_empty() && !self.timer_armed && self.in_flight < self.pipeline {
            self.timer_armed = true;
            let wait = self.oldest_pending.saturating_add(self.timeout).saturating_sub(now);
            out.push(Action::SetTimer {
                after: wait.max(1),
                token: BATCH_TIMER,
            });
        }
    }

    /// Advance instance `seq` through prepared → committed, then execute in order.
    fn check(&mut self, now: SimTime, seq: u64, out: &mut Outbox<PbftMsg>) {
        let (qp, qc) = (self.quorum_prepared(), self.quorum_commit());
        let Some(inst) = self.instances.get_mut(&seq) else {
            return;
        };
        let Some(batch) = inst.batch.as_ref() else { return };
        let digest = batch.digest;
        if !inst.prepared && inst.prepares >= qp {
            inst.prepared = true;
            inst.commits += 1; // own commit
            out.charge(self.cpu.sign);
            out.push(Action::Broadcast {
                msg: PbftMsg::Commit {
                    view: self.view,
                    seq,
                    digest,
                },
            });
        }
        if inst.prepared && !inst.committed && inst.commits >= qc {
            inst.committed = true;
            self.execute_ready(now, out);
        }
    }

    fn execute_ready(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        let mut freed = false;
        while let Some(inst) = self.instances.get(&(self.last_executed + 1)) {
            if !inst.committed {
                break;
            }
            let inst = self.instances.remove(&(self.last_executed + 1)).expect("present");
            self.last_executed += 1;
            let batch = inst.batch.expect("committed instances have their batch");
            out.charge(self.cpu.execute_tx * batch.txs.len() as u64 + self.cpu.db_commit + self.cpu.sign);
            let digest = self.ledger.apply_block(&batch.txs);
            out.push(Action::Committed {
                height: self.ledger.height(),
                digest,
            });
            for (i, &(client, _, _)) in batch.by_client.iter().enumerate() {
                out.push(Action::Reply {
                    client,
                    reply: Reply::Batch {
                        batch: batch.clone(),
                        range: i as u32,
                    },
                });
            }
            if self.is_primary() {
                self.in_flight -= 1;
                freed = true;
            }
        }
        if freed {
            self.try_propose(now, out);
        }
    }
}

impl Replica for PbftReplica {
    type Msg = PbftMsg;

    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<PbftMsg>) {
        out.charge(self.cpu.verify);
        if !self.is_primary() {
            out.push(Action::Send {
                to: self.primary,
                msg: PbftMsg::Forward(tx),
            });
            return;
        }
        self.enqueue(now, tx, out);
    }

    fn on_message(&mut self, now: SimTime, _from: NodeId, msg: PbftMsg, out: &mut Outbox<PbftMsg>) {
        match msg {
            PbftMsg::Forward(tx) => {
                out.charge(self.cpu.verify);
                if self.is_primary() {
                    self.enqueue(now, tx, out);
                }
            }
            PbftMsg::PrePrepare { view, batch } => {
                if view != self.view || batch.seq <= self.last_executed || self.is_primary() {
                    return;
                }
                out.charge(self.cpu.verify + self.cpu.hash(batch.bytes) + self.cpu.verify * batch.txs.len() as u64);
                let seq = batch.seq;
                let digest = batch.digest;
                let inst = self.instances.entry(seq).or_default();
                if inst.batch.is_some() {
                    return; // duplicate
                }
                inst.batch = Some(batch);
                inst.prepares += 1; // own prepare
                out.charge(self.cpu.sign);
                out.push(Action::Broadcast {
                    msg: PbftMsg::Prepare { view, seq, digest },
                });
                self.check(now, seq, out);
            }
            PbftMsg::Prepare { view, seq, .. } => {
                out.charge(self.cpu.verify);
                if view != self.view || seq <= self.last_executed {
                    return;
                }
                self.instances.entry(seq).or_default().prepares += 1;
                self.check(now, seq, out);
            }
            PbftMsg::Commit { view, seq, .. } => {
                out.charge(self.cpu.verify);
                if view != self.view || seq <= self.last_executed {
                    return;
                }
                self.instances.entry(seq).or_default().commits += 1;
                self.check(now, seq, out);
            }
        }
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<PbftMsg>) {
        if token == BATCH_TIMER {
            self.timer_armed = false;
            self.try_propose(now, out);
        }
    }

    fn msg_bytes(msg: &PbftMsg) -> u32 {
        // Header fields + one signature (≈72 bytes) per message.
        match msg {
            PbftMsg::Forward(tx) => tx.size + 72,
            PbftMsg::PrePrepare { batch, .. } => 120 + batch.bytes.min(u64::from(u32::MAX / 2)) as u32,
            PbftMsg::Prepare { .. } | PbftMsg::Commit { .. } => 120,
        }
    }

    fn msg_kind(msg: &PbftMsg) -> usize {
        match msg {
            PbftMsg::Forward(_) => 0,
            PbftMsg::PrePrepare { .. } => 1,
            PbftMsg::Prepare { .. } => 2,
            PbftMsg::Commit { .. } => 3,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        &["forward", "pre-prepare", "prepare", "commit"]
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

impl PbftReplica {
    fn enqueue(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<PbftMsg>) {
        if self.pending.is_empty() {
            self.oldest_pending = now;
        }
        self.pending_bytes += u64::from(tx.size);
        self.pending.push_back((now, tx));
        self.try_propose(now, out);
    }
}

/// Deploy PBFT on the validators; the lowest-id validator is the primary of view 0.
pub fn deploy(scenario: &Scenario, spec: &PbftSpec) -> Deployment<PbftReplica> {
    let n = spec.validators.len() as u32;
    let f = (n - 1) / 3;
    let primary = spec.validators[0];
    let accounts = scenario.topology.nodes.len();
    let replicas = spec
        .validators
        .iter()
        .map(|&id| {
            (
                id,
                PbftReplica {
                    id,
                    primary,
                    f,
                    view: 0,
                    cpu: scenario.cpu,
                    max_tx: spec.batch_max_tx as usize,
                    max_bytes: spec.batch_max_bytes,
                    timeout: spec.batch_timeout,
                    pipeline: spec.pipeline,
                    pending: VecDeque::new(),
                    pending_bytes: 0,
                    oldest_pending: 0,
                    timer_armed: false,
                    next_seq: 0,
                    in_flight: 0,
                    instances: BTreeMap::new(),
                    last_executed: 0,
                    ledger: Ledger::new(accounts, scenario.initial_balance_minor),
                },
            )
        })
        .collect();
    let is_validator = |i: NodeId| spec.validators.binary_search(&i).is_ok();
    Deployment {
        replicas,
        members: spec.validators.clone(),
        core_overrides: vec![],
        replies_needed: (f + 1) as u16,
        entry: (0..accounts as NodeId)
            .map(|i| if is_validator(i) { i } else { primary })
            .collect(),
    }
}

/// Fault threshold for `n` validators.
pub fn max_faulty(n: usize) -> usize {
    (n.saturating_sub(1)) / 3
}
