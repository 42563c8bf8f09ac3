//! Consensus protocols as sans-IO replica state machines.
//!
//! A replica reacts to a client request, a peer message or a timer, and writes commands
//! into an [`Outbox`]: send, broadcast, set a timer, reply to a client, report a commit, and
//! charge CPU time. It never touches the event queue, the clock or the network, so the same
//! code runs under the simulator and in unit tests that feed it by hand.

pub mod centralized;
pub mod few;
pub mod hotstuff;
pub mod pbft;
pub mod poa;
pub mod pow;
pub mod raft;
pub mod shared_apply;
pub mod tracked;

use crate::engine::SimTime;
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::NodeId;
pub use few::Few;
use std::cell::Cell;
use std::rc::Rc;

/// A committed block shared by reference among replicas and reply messages.
///
/// Its transactions are grouped by submitter so a reply touches only that client's slice;
/// `reply_counts` lets a client count matching replies without any map.
#[derive(Debug)]
pub struct Batch {
    /// Sequence number (height) assigned by the proposer.
    pub seq: u64,
    /// Digest of the contents.
    pub digest: u64,
    /// Transactions, grouped by submitter (stable order within a group). A single one is
    /// held inline ([`Few`]), like the single entry of `by_client` and `reply_counts`, so a
    /// batch of one transaction is one allocation (its `Rc`).
    pub txs: Few<TxEntry>,
    /// Payload bytes (sum of transaction sizes).
    pub bytes: u64,
    /// `(submitter, start, end)` ranges into `txs`, sorted by submitter.
    pub by_client: Few<(NodeId, u32, u32)>,
    /// Replies received per client range.
    pub reply_counts: Few<Cell<u16>>,
}

impl Batch {
    /// Build a batch from transactions in proposal order. Execution order is the stored
    /// order (grouped by submitter, stable), identical on every replica.
    pub fn new(seq: u64, txs: impl Into<Few<TxEntry>>) -> Batch {
        let mut txs = txs.into();
        if txs.len() > 1 {
            sort_by_submitter(&mut txs);
        }
        let mut by_client: Few<(NodeId, u32, u32)> = Few::new();
        for (i, t) in txs.iter().enumerate() {
            match by_client.last_mut() {
                Some(last) if last.0 == t.submitter => last.2 = i as u32 + 1,
                _ => by_client.push((t.submitter, i as u32, i as u32 + 1)),
            }
        }
        let digest = txs
            .iter()
            .fold(crate::engine::rng::splitmix64(seq), crate::ledger::fold_tx);
        let bytes = txs.iter().map(|t| u64::from(t.size)).sum();
        let reply_counts = by_client.iter().map(|_| Cell::new(0)).collect();
        Batch {
            seq,
            digest,
            txs,
            bytes,
            by_client,
            reply_counts,
        }
    }
}

/// Sort `txs` by submitter, stably: exactly what `sort_by_key(|t| t.submitter)` gives. A
/// large batch (a PBFT batch at the payout peak holds 500 transactions from ≈ 40
/// submitters) is placed by a counting sort over the submitters' id range (two passes)
/// instead of the comparison sort's moves of 48-byte entries.
fn sort_by_submitter(txs: &mut Few<TxEntry>) {
    /// Below this many transactions the comparison sort (insertion sort) is as cheap.
    const COUNTING_MIN: usize = 32;
    if txs.len() < COUNTING_MIN {
        txs.sort_by_key(|t| t.submitter);
        return;
    }
    if txs.is_sorted_by_key(|t| t.submitter) {
        return;
    }
    let lo = txs.iter().map(|t| t.submitter).min().expect("not empty");
    let hi = txs.iter().map(|t| t.submitter).max().expect("not empty");
    let range = (hi - lo) as usize + 1;
    if range > 4 * txs.len() {
        txs.sort_by_key(|t| t.submitter);
        return;
    }
    // next[k]: where the next transaction of submitter lo + k goes.
    let mut next = vec![0u32; range];
    for t in txs.iter() {
        next[(t.submitter - lo) as usize] += 1;
    }
    let mut at = 0;
    for c in next.iter_mut() {
        (*c, at) = (at, at + *c);
    }
    let mut sorted = vec![txs[0]; txs.len()];
    for t in txs.iter() {
        let k = (t.submitter - lo) as usize;
        sorted[next[k] as usize] = *t;
        next[k] += 1;
    }
    *txs = Few::from(sorted);
}

/// What a replica tells a client.
#[derive(Debug, Clone)]
pub enum Reply {
    /// One transaction is committed (boxed to keep the reply, and so every event, small).
    Tx(Box<TxEntry>),
    /// The transactions of range `range` of the batch are committed.
    Batch {
        /// The batch.
        batch: Rc<Batch>,
        /// Index into `batch.by_client`.
        range: u32,
    },
}

impl Reply {
    /// Bytes of a reply message (a signed acknowledgement with tx ids).
    pub fn bytes(&self) -> u32 {
        match self {
            Reply::Tx(_) => 128,
            Reply::Batch { batch, range } => {
                let (_, s, e) = batch.by_client[*range as usize];
                128 + 8 * (e - s)
            }
        }
    }
}

/// One command emitted by a replica.
#[derive(Debug, Clone)]
pub enum Action<M> {
    /// Send `msg` to node `to`.
    Send {
        /// Destination.
        to: NodeId,
        /// Message.
        msg: M,
    },
    /// Send `msg` to every other member of the protocol group.
    Broadcast {
        /// Message.
        msg: M,
    },
    /// Call `on_timer(token)` after `after`.
    SetTimer {
        /// Delay.
        after: SimTime,
        /// Opaque token returned to the replica.
        token: u64,
    },
    /// Tell a client node that transactions committed.
    Reply {
        /// Client node.
        client: NodeId,
        /// What committed.
        reply: Reply,
    },
    /// This replica committed block `height` with chain digest `digest` (safety checking).
    Committed {
        /// Height.
        height: u64,
        /// Chain digest after applying it.
        digest: u64,
    },
}

/// One [`Reply::Batch`] per client range of `batch`, in range order: how a replica that
/// executed a block answers its submitters.
pub fn push_batch_replies<M>(batch: &Rc<Batch>, out: &mut Outbox<M>) {
    for (i, &(client, _, _)) in batch.by_client.iter().enumerate() {
        out.push(Action::Reply {
            client,
            reply: Reply::Batch {
                batch: batch.clone(),
                range: i as u32,
            },
        });
    }
}

/// Commands plus the CPU time the handler consumed.
#[derive(Debug)]
pub struct Outbox<M> {
    /// Commands in emission order.
    pub actions: Vec<Action<M>>,
    /// CPU time charged by the handler; outputs leave after it.
    pub cpu: SimTime,
}

impl<M> Default for Outbox<M> {
    fn default() -> Self {
        Self {
            actions: Vec::new(),
            cpu: 0,
        }
    }
}

impl<M> Outbox<M> {
    /// Charge CPU time.
    #[inline]
    pub fn charge(&mut self, t: SimTime) {
        self.cpu += t;
    }
    /// Queue a command.
    #[inline]
    pub fn push(&mut self, a: Action<M>) {
        self.actions.push(a);
    }
    /// Empty for reuse (keeps the allocation).
    #[inline]
    pub fn clear(&mut self) {
        self.actions.clear();
        self.cpu = 0;
    }
}

/// [`Replica::ignores`] for every replica of a deployment at once (see
/// [`Replica::noop_filter`]).
pub trait NoopFilter<M> {
    /// Whether delivering `msg` from `from` to the replica at node `to` at time `at` is
    /// certain to do nothing: the contract of [`Replica::ignores`].
    fn ignores(&self, at: SimTime, from: NodeId, to: NodeId, msg: &M) -> bool;

    /// Whether delivering `msg` from `from` to the replica at node `to` *now* (its delivery
    /// event) does nothing and costs no CPU, judged exactly from the current state; the
    /// simulator then drops it before it reaches the node's CPU (asked under the same
    /// conditions as [`Replica::ignores`]). Default: never.
    fn drops(&self, _from: NodeId, _to: NodeId, _msg: &M) -> bool {
        false
    }

    /// When delivering `msg` from `from` to `to` is certain to do nothing, judged before
    /// its arrival time is computed (asked under the same conditions as
    /// [`NoopFilter::ignores`], and it must agree with it: `Always` ⇒ `ignores` at every
    /// `at`; `Before(d)` ⇒ `ignores(at)` exactly when `at < d`). The simulator then skips
    /// computing delays it does not need (the network still makes the same random draws
    /// and counts the message, see [`crate::net::Network::transmit_skipped`]). Default:
    /// [`NoopWindow::Ask`].
    fn noop_window(&self, _from: NodeId, _to: NodeId, _msg: &M) -> NoopWindow {
        NoopWindow::Ask
    }
}

/// The answer of [`NoopFilter::noop_window`]: for which arrival times a delivery is a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoopWindow {
    /// A no-op whatever its arrival time.
    Always,
    /// A no-op exactly when it arrives strictly before this time (`Before(0)`: never).
    Before(SimTime),
    /// Not known without the arrival time: ask [`NoopFilter::ignores`].
    Ask,
}

/// A protocol replica: a sans-IO state machine.
pub trait Replica {
    /// Peer-to-peer message type (small; large payloads behind `Rc`).
    type Msg: Clone + std::fmt::Debug;

    /// A client request arrived at this replica.
    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<Self::Msg>);
    /// A peer message arrived.
    fn on_message(&mut self, now: SimTime, from: NodeId, msg: Self::Msg, out: &mut Outbox<Self::Msg>);
    /// A timer set by this replica fired.
    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<Self::Msg>);
    /// Wire size of a message in bytes (headers are added by the network).
    fn msg_bytes(msg: &Self::Msg) -> u32;
    /// Short label of a message kind (for per-kind counts).
    fn msg_kind(msg: &Self::Msg) -> usize;
    /// Names of the message kinds indexed by [`Replica::msg_kind`].
    fn msg_kind_names() -> &'static [&'static str];
    /// This replica's ledger.
    fn ledger(&self) -> &Ledger;

    /// The run starts (time 0): arm initial timers here. Called once per replica before any
    /// other input; CPU charged here is not accounted.
    fn on_start(&mut self, _now: SimTime, _out: &mut Outbox<Self::Msg>) {}

    /// The node restarts after a crash: its ledger and log survived, its timers and
    /// in-memory queues did not. Re-arm timers here.
    fn on_recover(&mut self, _now: SimTime, _out: &mut Outbox<Self::Msg>) {}

    /// Protocol events this replica has seen (view changes, elections, forks).
    fn counters(&self) -> ProtocolCounters {
        ProtocolCounters::default()
    }

    /// For the equivocation fault: a conflicting version of `msg` if it is a proposal
    /// (same slot, different content), else `None`.
    fn equivocate(&self, _msg: &Self::Msg) -> Option<Self::Msg> {
        None
    }

    /// For the equivocation fault: how many of the `members` (in member order) receive the
    /// original of an equivocated broadcast; the others receive the alternative. Default:
    /// the first half.
    fn equivocation_split(members: usize) -> usize {
        members / 2
    }

    /// The client transaction a message carries, if any (for the censoring fault).
    fn carried_tx(_msg: &Self::Msg) -> Option<&TxEntry> {
        None
    }

    /// Chain-wide block statistics (proof-of-work: propagation and stale rate), if the
    /// protocol keeps them; `None` for the others.
    fn chain_metrics(&self) -> Option<ChainMetrics> {
        None
    }

    /// Whether delivering `msg` from `from` to this replica at time `at` is certain to do
    /// nothing and cost no CPU (and no CPU of this node ever waits), judged from the current
    /// state, whatever happens before `at` in a run without faults. The simulator then skips
    /// the delivery event (the message is still sent and counted); it asks only in runs
    /// without faults and without `cpu.per_message`. Default: never.
    fn ignores(&self, _at: SimTime, _from: NodeId, _msg: &Self::Msg) -> bool {
        false
    }

    /// A table shared by all replicas of the deployment that answers [`Replica::ignores`]
    /// for any receiver without touching the receiving replica (at thousands of replicas,
    /// that touch is a cache miss per message). When some replica returns one, the
    /// simulator asks it instead of `ignores`; it must give the same answers. Default: none.
    fn noop_filter(&self) -> Option<Rc<dyn NoopFilter<Self::Msg>>> {
        None
    }

    /// How `msg` sent by this replica uses the network. Default: the sender's egress FIFO.
    fn msg_lane(&self, _msg: &Self::Msg) -> crate::net::Lane {
        crate::net::Lane::Egress
    }
}

/// Block propagation and stale-block statistics of a blockchain run (whole run, drain included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainMetrics {
    /// Blocks mined.
    pub blocks: u64,
    /// Blocks that reached 90 % of the nodes (the propagation sample).
    pub propagated: u64,
    /// Median over blocks of the time for 50 % of the nodes to receive a block, ms.
    pub propagation_p50_ms: f64,
    /// Median over blocks of the time for 90 % of the nodes to receive a block, ms.
    pub propagation_p90_ms: f64,
    /// Gervais et al.'s statistic: per node the mean time from a block's discovery until the
    /// node has it (over the blocks it received), then the median over nodes, ms.
    pub node_mean_p50_ms: f64,
    /// The same, 90th percentile over nodes, ms.
    pub node_mean_p90_ms: f64,
    /// The same, mean over nodes, ms.
    pub node_mean_mean_ms: f64,
    /// Stale blocks / blocks mined, over heights up to the highest final height.
    pub stale_rate: f64,
    /// Stale blocks counted in `stale_rate`.
    pub stale: u64,
    /// Σ over blocks of the probability that a competitor was found while the other miners
    /// had not yet adopted the block (the expected stale rate's numerator; see
    /// docs/protocols/pow.md, "Expected stale rate").
    pub stale_expected_sum: f64,
    /// Σ of the squares of those probabilities (for the CI over blocks).
    pub stale_expected_sum_sq: f64,
    /// Blocks in `stale_expected_sum` (those whose height every miner reached).
    pub stale_expected_blocks: u64,
}

/// Counters a replica keeps about protocol events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtocolCounters {
    /// View (leader) changes this replica completed.
    pub view_changes: u64,
    /// Elections this replica started (Raft) .
    pub elections: u64,
    /// Blocks this replica saw that ended off the chain it follows (PoW stale blocks, forks).
    pub forks: u64,
}

/// How a protocol is deployed on the nodes of a scenario.
pub struct Deployment<R> {
    /// `(node, replica)` pairs, by node id.
    pub replicas: Vec<(NodeId, R)>,
    /// Members that broadcasts go to.
    pub members: Vec<NodeId>,
    /// CPU cores to use instead of the node's own (e.g. the operator's database servers).
    pub core_overrides: Vec<(NodeId, u32)>,
    /// Matching replies a client needs before it considers a transaction committed.
    pub replies_needed: u16,
    /// Where a client at node `i` sends its requests (`entry[i]`).
    pub entry: Vec<NodeId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `Batch::new` orders transactions exactly as a stable sort by submitter does, for
        /// small and large batches, narrow and wide submitter ranges, sorted or not.
        #[test]
        fn batch_order_is_the_stable_sort_by_submitter(
            subs in proptest::collection::vec(0u32..60, 0..300),
            wide in proptest::bool::ANY,
            presorted in proptest::bool::ANY,
        ) {
            let mut txs: Vec<TxEntry> = subs
                .iter()
                .enumerate()
                .map(|(i, &s)| TxEntry {
                    id: i as u64,
                    submitted_at: 0,
                    amount_minor: 1,
                    from: s,
                    to: 0,
                    submitter: if wide { s * 1000 } else { s },
                    size: 10,
                    flow: 0,
                })
                .collect();
            if presorted {
                txs.sort_by_key(|t| t.submitter);
            }
            let mut want = txs.clone();
            want.sort_by_key(|t| t.submitter);
            let b = Batch::new(1, txs);
            prop_assert_eq!(&b.txs[..], &want[..]);
        }
    }
}
