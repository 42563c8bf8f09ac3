//! PLACEHOLDER — being implemented on a branch; replaced before this lands.

use super::{Deployment, Outbox, Replica};
use crate::engine::SimTime;
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{NodeId, RaftSpec, Scenario};

/// Placeholder replica.
pub struct RaftReplica {
    ledger: Ledger,
}

impl Replica for RaftReplica {
    type Msg = ();
    fn on_request(&mut self, _now: SimTime, _tx: TxEntry, _out: &mut Outbox<()>) {}
    fn on_message(&mut self, _now: SimTime, _from: NodeId, _msg: (), _out: &mut Outbox<()>) {}
    fn on_timer(&mut self, _now: SimTime, _token: u64, _out: &mut Outbox<()>) {}
    fn msg_bytes(_msg: &()) -> u32 {
        0
    }
    fn msg_kind(_msg: &()) -> usize {
        0
    }
    fn msg_kind_names() -> &'static [&'static str] {
        &["none"]
    }
    fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

/// Deploy (placeholder).
pub fn deploy(_scenario: &Scenario, _spec: &RaftSpec, _replication: u32) -> Deployment<RaftReplica> {
    unimplemented!("raft is being implemented")
}
