//! The centralized baseline: an operator's database records each transaction (a c-server
//! queue with a configured service time), optionally after a synchronous standby has also
//! committed it, then acknowledges the submitter. Settlement happens later, in interbank
//! batches (handled by the simulator's settlement schedule, not here).

use super::{Action, Deployment, Outbox, Replica, Reply};
use crate::engine::{SimRng, SimTime, StreamLabel, stream_rng};
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{CentralizedSpec, NodeId, Scenario, ServiceDist};
use crate::workload::sample_service;
use std::collections::BTreeMap;

/// Messages between operator and standby.
#[derive(Debug, Clone)]
pub enum CentralMsg {
    /// Operator → standby: log record `seq`.
    Replicate {
        /// Log position.
        seq: u64,
        /// The transaction.
        tx: TxEntry,
    },
    /// Standby → operator: record `seq` committed.
    Ack {
        /// Log position.
        seq: u64,
        /// The transaction.
        tx: TxEntry,
    },
}

/// Timer: the operator resends records the standby has not acknowledged.
const RESEND: u64 = 1;

/// Operator or standby.
///
/// Synchronous log shipping: the operator commits, ships record `seq` and answers the client
/// only when the standby acknowledges it. Records unacknowledged after `resend_after` are
/// shipped again (a crashed or cut-off standby catches up when it is back); the standby
/// applies records strictly in order and re-acknowledges duplicates.
pub struct CentralReplica {
    is_operator: bool,
    peer: Option<NodeId>,
    service: ServiceDist,
    rng: SimRng,
    ledger: Ledger,
    next_seq: u64,
    /// Standby: out-of-order log records waiting for their predecessors. Operator: records
    /// shipped but not acknowledged, with when they were (last) shipped.
    pending: BTreeMap<u64, (SimTime, TxEntry)>,
    /// Operator: resend period. Standby: unused.
    resend_after: SimTime,
    /// Operator: the resend timer is armed.
    timer_armed: bool,
}

impl CentralReplica {
    fn commit(&mut self, tx: &TxEntry, out: &mut Outbox<CentralMsg>) {
        out.charge(sample_service(&mut self.rng, &self.service));
        let digest = self.ledger.apply_block(std::slice::from_ref(tx));
        out.push(Action::Committed {
            height: self.ledger.height(),
            digest,
        });
    }

    /// Standby: apply every buffered record that is next in order (one CPU job replays the
    /// backlog a lost record held up; the acknowledgements leave when it is done).
    fn apply_ready(&mut self, out: &mut Outbox<CentralMsg>) {
        while let Some((_, tx)) = self.pending.remove(&self.next_seq) {
            let seq = self.next_seq;
            self.commit(&tx, out);
            self.next_seq += 1;
            if let Some(op) = self.peer {
                out.push(Action::Send {
                    to: op,
                    msg: CentralMsg::Ack { seq, tx },
                });
            }
        }
    }

    fn arm_resend(&mut self, out: &mut Outbox<CentralMsg>) {
        if self.is_operator && !self.timer_armed && !self.pending.is_empty() {
            self.timer_armed = true;
            out.push(Action::SetTimer {
                after: self.resend_after,
                token: RESEND,
            });
        }
    }
}

impl Replica for CentralReplica {
    type Msg = CentralMsg;

    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<CentralMsg>) {
        if !self.is_operator {
            return; // clients only talk to the operator
        }
        self.commit(&tx, out);
        let seq = self.next_seq;
        self.next_seq += 1;
        match self.peer {
            Some(standby) => {
                self.pending.insert(seq, (now, tx));
                out.push(Action::Send {
                    to: standby,
                    msg: CentralMsg::Replicate { seq, tx },
                });
                self.arm_resend(out);
            }
            None => out.push(Action::Reply {
                client: tx.submitter,
                reply: Reply::Tx(Box::new(tx)),
            }),
        }
    }

    fn on_message(&mut self, now: SimTime, _from: NodeId, msg: CentralMsg, out: &mut Outbox<CentralMsg>) {
        match msg {
            CentralMsg::Replicate { seq, tx } if !self.is_operator => {
                if seq < self.next_seq {
                    // Already applied: the ack was lost or is late; acknowledge again.
                    if let Some(op) = self.peer {
                        out.push(Action::Send {
                            to: op,
                            msg: CentralMsg::Ack { seq, tx },
                        });
                    }
                    return;
                }
                self.pending.entry(seq).or_insert((now, tx));
                self.apply_ready(out);
            }
            CentralMsg::Ack { seq, tx } if self.is_operator && self.pending.remove(&seq).is_some() => {
                out.push(Action::Reply {
                    client: tx.submitter,
                    reply: Reply::Tx(Box::new(tx)),
                });
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<CentralMsg>) {
        self.timer_armed = false;
        match token {
            RESEND if self.is_operator => {
                if let Some(standby) = self.peer {
                    for (&seq, (sent, tx)) in self.pending.iter_mut() {
                        if now >= *sent + self.resend_after {
                            *sent = now;
                            out.push(Action::Send {
                                to: standby,
                                msg: CentralMsg::Replicate { seq, tx: *tx },
                            });
                        }
                    }
                }
                self.arm_resend(out);
            }
            _ => {}
        }
    }

    fn on_recover(&mut self, _now: SimTime, out: &mut Outbox<CentralMsg>) {
        // Timers died with the node; the log (ledger, pending records) survived.
        self.timer_armed = false;
        self.arm_resend(out);
    }

    fn msg_bytes(msg: &CentralMsg) -> u32 {
        match msg {
            CentralMsg::Replicate { tx, .. } => tx.size + 16,
            CentralMsg::Ack { .. } => 64,
        }
    }

    fn msg_kind(msg: &CentralMsg) -> usize {
        match msg {
            CentralMsg::Replicate { .. } => 0,
            CentralMsg::Ack { .. } => 1,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        crate::names::CENTRALIZED_KINDS
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

/// Deploy the centralized system: the operator (and standby) with `db_servers` cores.
pub fn deploy(scenario: &Scenario, spec: &CentralizedSpec, replication: u32) -> Deployment<CentralReplica> {
    let accounts = scenario.topology.nodes.len();
    let mk = |node: NodeId, is_operator: bool, peer: Option<NodeId>| CentralReplica {
        is_operator,
        peer,
        service: spec.db_service,
        rng: stream_rng(scenario.seed, replication, StreamLabel("centralized-db"), node),
        ledger: Ledger::new(accounts, scenario.initial_balance_minor),
        next_seq: 0,
        pending: BTreeMap::new(),
        resend_after: (2 * scenario.network.rto).max(100 * crate::engine::NS_PER_MS),
        timer_armed: false,
    };
    let mut replicas = vec![(spec.operator, mk(spec.operator, true, spec.standby))];
    let mut core_overrides = vec![(spec.operator, spec.db_servers)];
    if let Some(sb) = spec.standby {
        replicas.push((sb, mk(sb, false, Some(spec.operator))));
        core_overrides.push((sb, spec.db_servers));
    }
    replicas.sort_by_key(|(n, _)| *n);
    Deployment {
        members: replicas.iter().map(|(n, _)| *n).collect(),
        replicas,
        core_overrides,
        replies_needed: 1,
        entry: vec![spec.operator; accounts],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(is_operator: bool, peer: Option<NodeId>) -> CentralReplica {
        CentralReplica {
            is_operator,
            peer,
            service: ServiceDist::Constant(1_000),
            rng: stream_rng(1, 0, StreamLabel("t"), 0),
            ledger: Ledger::new(4, 0),
            next_seq: 0,
            pending: BTreeMap::new(),
            resend_after: 100,
            timer_armed: false,
        }
    }

    fn tx(id: u64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 5,
            from: 2,
            to: 3,
            submitter: 2,
            size: 100,
            flow: 0,
        }
    }

    #[test]
    fn operator_with_standby_replies_only_after_ack() {
        let mut op = replica(true, Some(1));
        let mut sb = replica(false, Some(0));
        let mut out = Outbox::default();
        op.on_request(0, tx(7), &mut out);
        assert_eq!(out.cpu, 1_000);
        assert!(matches!(
            out.actions[..],
            [
                Action::Committed { height: 1, .. },
                Action::Send { to: 1, .. },
                Action::SetTimer {
                    after: 100,
                    token: RESEND
                }
            ]
        ));
        let Action::Send { msg, .. } = out.actions[1].clone() else {
            unreachable!()
        };
        out.clear();
        sb.on_message(0, 0, msg, &mut out);
        let Action::Send { msg: ack, .. } = out.actions[1].clone() else {
            panic!("{:?}", out.actions)
        };
        out.clear();
        op.on_message(0, 1, ack, &mut out);
        assert!(matches!(out.actions[..], [Action::Reply { client: 2, .. }]));
        assert_eq!(op.ledger().state_digest(), sb.ledger().state_digest());
    }

    #[test]
    fn standby_applies_log_in_order() {
        let mut sb = replica(false, Some(0));
        let mut out = Outbox::default();
        sb.on_message(0, 0, CentralMsg::Replicate { seq: 1, tx: tx(2) }, &mut out);
        assert!(out.actions.is_empty(), "seq 1 waits for seq 0");
        sb.on_message(0, 0, CentralMsg::Replicate { seq: 0, tx: tx(1) }, &mut out);
        assert_eq!(sb.ledger().applied(), 2);
        let mut reference = Ledger::new(4, 0);
        reference.apply_block(&[tx(1)]);
        reference.apply_block(&[tx(2)]);
        assert_eq!(sb.ledger().chain_digest(), reference.chain_digest());
    }

    #[test]
    fn unacknowledged_records_are_resent_and_duplicates_reacknowledged() {
        let mut op = replica(true, Some(1));
        let mut sb = replica(false, Some(0));
        let mut out = Outbox::default();
        op.on_request(0, tx(7), &mut out);
        out.clear(); // the first shipment is lost
        op.on_timer(50, RESEND, &mut out);
        assert!(
            !out.actions.iter().any(|a| matches!(a, Action::Send { .. })),
            "not yet due"
        );
        out.clear();
        op.on_timer(100, RESEND, &mut out);
        let Some(Action::Send { msg, .. }) = out.actions.iter().find(|a| matches!(a, Action::Send { .. })).cloned()
        else {
            panic!("{:?}", out.actions)
        };
        out.clear();
        sb.on_message(100, 0, msg.clone(), &mut out);
        out.clear();
        sb.on_message(101, 0, msg, &mut out); // duplicate: acknowledged again, not re-applied
        assert_eq!(sb.ledger().applied(), 1);
        let Some(Action::Send { msg: ack, .. }) = out.actions.first().cloned() else {
            panic!()
        };
        out.clear();
        op.on_message(102, 1, ack.clone(), &mut out);
        assert!(matches!(out.actions[..], [Action::Reply { client: 2, .. }]));
        out.clear();
        op.on_message(103, 1, ack, &mut out);
        assert!(out.actions.is_empty(), "the client hears once");
    }
}
