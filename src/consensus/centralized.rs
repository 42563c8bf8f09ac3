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
    /// Standby → operator: record committed.
    Ack {
        /// The transaction.
        tx: TxEntry,
    },
}

/// Operator or standby.
pub struct CentralReplica {
    is_operator: bool,
    peer: Option<NodeId>,
    service: ServiceDist,
    rng: SimRng,
    ledger: Ledger,
    next_seq: u64,
    /// Standby: out-of-order log records waiting for their predecessors.
    reorder: BTreeMap<u64, TxEntry>,
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
}

impl Replica for CentralReplica {
    type Msg = CentralMsg;

    fn on_request(&mut self, _now: SimTime, tx: TxEntry, out: &mut Outbox<CentralMsg>) {
        if !self.is_operator {
            return; // clients only talk to the operator
        }
        self.commit(&tx, out);
        let seq = self.next_seq;
        self.next_seq += 1;
        match self.peer {
            Some(standby) => out.push(Action::Send {
                to: standby,
                msg: CentralMsg::Replicate { seq, tx },
            }),
            None => out.push(Action::Reply {
                client: tx.submitter,
                reply: Reply::Tx(tx),
            }),
        }
    }

    fn on_message(&mut self, _now: SimTime, _from: NodeId, msg: CentralMsg, out: &mut Outbox<CentralMsg>) {
        match msg {
            CentralMsg::Replicate { seq, tx } if !self.is_operator => {
                self.reorder.insert(seq, tx);
                while let Some(tx) = self.reorder.remove(&self.next_seq) {
                    self.commit(&tx, out);
                    self.next_seq += 1;
                    if let Some(op) = self.peer {
                        out.push(Action::Send {
                            to: op,
                            msg: CentralMsg::Ack { tx },
                        });
                    }
                }
            }
            CentralMsg::Ack { tx } if self.is_operator => {
                out.push(Action::Reply {
                    client: tx.submitter,
                    reply: Reply::Tx(tx),
                });
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, _now: SimTime, _token: u64, _out: &mut Outbox<CentralMsg>) {}

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
        &["replicate", "ack"]
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
        reorder: BTreeMap::new(),
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
            reorder: BTreeMap::new(),
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
            [Action::Committed { height: 1, .. }, Action::Send { to: 1, .. }]
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
}
