//! Chained (pipelined) HotStuff (Yin et al., PODC 2019) with rotating leaders.
//!
//! # Protocol
//! * **Leaders.** `leader(v) = validators[v mod n]`; views start at 1 on top of a shared genesis
//!   block (view 0).
//! * **Proposal.** The leader of view `v` proposes a block `{parent, batch, justify}` whose
//!   parent is the block certified by its highest QC (`justify`), and broadcasts PROPOSAL.
//! * **Vote.** A replica votes for the first proposal it accepts in a view `≥` its current view
//!   if the *safety rule* holds (the block extends the locked block, or `justify.view` is above
//!   the locked view), sending VOTE to the leader of the *next* view. That leader aggregates
//!   2f + 1 votes into a QC and proposes the next block carrying it. Every block is therefore one
//!   phase of three pipelined decisions.
//! * **Chain rules** (run on every block a replica stores, proposal or fetched): with
//!   `b'' = block.justify`, `b' = b''.justify`, `b = b'.justify`: the highest QC is kept;
//!   the replica locks on `b'`; when `b'' → b' → b` are direct parents with consecutive views,
//!   `b` is committed together with its uncommitted ancestors, in order (three-chain rule).
//! * **Empty blocks.** A leader proposes when it holds requests that are not already in the
//!   uncommitted chain it extends, or when that uncommitted chain (from its high-QC block down
//!   to its last committed block) contains a non-empty block, or after a view change. So every
//!   non-empty block is followed by exactly the empty blocks needed to commit it (three in the
//!   failure-free case), and an idle system sends nothing. Below a full batch an idle leader
//!   waits for `batch_timeout` (measured from the oldest request); a leader whose pipeline is
//!   running proposes at once with what it has.
//! * **Requests (mempool).** A client sends to its own node if it is a validator, else to
//!   `validators[0]`. The receiving validator broadcasts the request (FORWARD) to every other
//!   validator; every validator keeps it pending until it *commits* it. A leader proposes pending
//!   requests that are not in the uncommitted chain it extends, so a request in an abandoned
//!   block is proposed again by a later leader (never lost while one correct validator holds it)
//!   and never twice on one chain (committed at most once). Requests arriving after their commit
//!   are dropped against a set of recently committed ids kept for `16 × view_timeout`; requests
//!   older than that window on arrival are dropped as stale.
//! * **Pacemaker.** A replica runs a view timer while it has work (pending requests or a
//!   non-empty uncommitted block on its chain). On expiry it moves to the next view, doubling
//!   the timeout on consecutive expiries (reset by a vote), and sends NEW-VIEW with its highest
//!   QC to the next leader, which proposes (always, possibly an empty block) once it holds 2f + 1
//!   NEW-VIEWs for that view, or when it forms the QC of the previous view.
//! * **Block sync.** A replica that receives a proposal whose parent it lacks keeps the proposal
//!   aside and sends FETCH (target block, own committed height) to the proposer, which answers
//!   with up to 256 blocks of the chain above that height, lowest first (it keeps its last
//!   4,096 committed blocks, at most 65,536 transactions, for this). Fetched blocks run the
//!   chain rules (so a lagging replica commits and replies as it catches up) but are not
//!   voted for.
//! * **Replies.** After commit every replica replies to the submitters of the block
//!   (`Reply::Batch` per client range); a client needs `f + 1` matching replies.
//!
//! # Latency (uniform one-way delay δ, zero CPU, unlimited bandwidth, batches of one)
//! An isolated transaction from a client that is not a validator, whose entry validator is not
//! the waiting leader: request δ, forward to the leader δ, proposal δ, vote δ, then two more
//! proposal + vote rounds (4δ), then the QC of the third block reaches the replicas in the
//! fourth proposal δ, reply δ: **10δ** to the client's (f + 1)-th reply. Replicas commit 7δ
//! after the leader sends the first proposal (the fourth leader at 6δ, as it forms the QC) —
//! the validation target's 7–8δ proposal-to-commit; the literature's ≈12δ client-to-client
//! figure for HotStuff is a measurement with its own client path, not this model's count.
//! With n = 4 every isolated transaction uses four views, so the waiting leader is always
//! `validators[1]` and the count is exact for clients entering at `validators[0]` (a client
//! whose entry is the waiting leader saves the forward hop: 9δ).
//!
//! # Messages per decision
//! Each block costs (n − 1) PROPOSALs and (n − 1) VOTEs (the next leader's own vote is local):
//! 2(n − 1), linear in n, plus (n − 1) FORWARDs per request and n replies per block range.
//! A view change costs up to n NEW-VIEWs.
//!
//! # CPU charges
//! Forward / request receipt: `verify` (client signature). Proposing: `hash(bytes) + sign`.
//! Receiving a proposal: `verify + qc_verify + hash(bytes)`. Voting: `sign`. Forming a QC:
//! `qc_verify` (aggregation and check). NEW-VIEW receipt: `verify + qc_verify`. Commit per
//! block: `execute_tx × txs + db_commit + sign` (the signed replies).
//!
//! # Not implemented
//! State transfer beyond the retained committed blocks (a replica lagging further cannot
//! catch up), leader reputation (chained HotStuff with round-robin leaders commits only with four
//! consecutive correct leaders, so with n = 4 one crashed or silent validator stops commits
//! until it returns), signatures as data (QCs are trusted view/hash pairs), Byzantine voters.

use super::{Action, Batch, Deployment, Outbox, ProtocolCounters, Replica, push_batch_replies};
use crate::engine::SimTime;
use crate::engine::rng::splitmix64;
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{CpuCosts, HotStuffSpec, NodeId, Scenario};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// Hash of the genesis block.
const GENESIS_HASH: u64 = 0x9e37_79b9_7f4a_7c15;
/// Timer token of the view timer.
const VIEW_TIMER: u64 = 1;
/// Timer token of the batch timer (idle leader with a partial batch).
const BATCH_TIMER: u64 = 2;
/// Committed blocks kept to serve block sync.
const SYNC_WINDOW: usize = 4096;
/// Transactions in the committed blocks kept to serve block sync (bounds its memory).
const SYNC_WINDOW_TXS: usize = 65_536;
/// Blocks per FETCH reply.
const MAX_FETCH: usize = 256;
/// Proposals kept aside while their parent is fetched.
const MAX_ORPHANS: usize = 32;
/// Largest timeout doubling exponent.
const MAX_BACKOFF: u32 = 6;

/// A quorum certificate: 2f + 1 votes for the block `hash` proposed in `view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qc {
    /// View of the certified block.
    pub view: u64,
    /// Hash of the certified block.
    pub hash: u64,
}

/// A block of the chain (shared by reference between replicas).
#[derive(Debug)]
pub struct Block {
    /// View it was proposed in.
    pub view: u64,
    /// Chain height (genesis 0).
    pub height: u64,
    /// Hash of the block.
    pub hash: u64,
    /// QC of the parent block (the parent is the certified block).
    pub justify: Qc,
    /// Transactions (`batch.seq` is the view).
    pub batch: Rc<Batch>,
    /// The leader that proposed it.
    pub proposer: NodeId,
}

impl Block {
    fn new(view: u64, height: u64, justify: Qc, batch: Rc<Batch>, proposer: NodeId, salt: u64) -> Block {
        let mut h = splitmix64(justify.hash ^ view.rotate_left(32));
        h = splitmix64(h ^ batch.digest);
        h = splitmix64(h ^ u64::from(proposer) ^ salt.rotate_left(17));
        Block {
            view,
            height,
            hash: h,
            justify,
            batch,
            proposer,
        }
    }

    fn qc(&self) -> Qc {
        Qc {
            view: self.view,
            hash: self.hash,
        }
    }

    fn wire_bytes(&self) -> u32 {
        // Header, leader signature, aggregate-signature QC, payload.
        216 + self.batch.bytes.min(u64::from(u32::MAX / 4)) as u32
    }
}

/// HotStuff messages.
#[derive(Debug, Clone)]
pub enum HotStuffMsg {
    /// A validator passes a client request on to every other validator.
    Forward(TxEntry),
    /// Leader → all: the block of its view.
    Proposal(Rc<Block>),
    /// Replica → next leader: vote for block `hash` of `view`.
    Vote {
        /// View of the block.
        view: u64,
        /// Block hash.
        hash: u64,
    },
    /// Replica → leader of `view` after a timeout, with its highest QC.
    NewView {
        /// The view being entered.
        view: u64,
        /// The sender's highest QC.
        high_qc: Qc,
    },
    /// Ask for block `hash` of `view` and its ancestors above `have_height`.
    Fetch {
        /// View of the missing block.
        view: u64,
        /// Hash of the missing block.
        hash: u64,
        /// The requester's committed height.
        have_height: u64,
    },
    /// Blocks answering a FETCH, lowest first.
    FetchReply(Vec<Rc<Block>>),
}

/// One HotStuff validator.
pub struct HotStuffReplica {
    id: NodeId,
    validators: Vec<NodeId>,
    quorum: usize,
    cpu: CpuCosts,
    qc_verify: SimTime,
    max_tx: usize,
    max_bytes: u64,
    batch_timeout: SimTime,
    base_timeout: SimTime,
    // Chain state. `blocks` holds the committed root and everything stored above it.
    blocks: BTreeMap<(u64, u64), Rc<Block>>,
    root: Rc<Block>,
    window: VecDeque<Rc<Block>>,
    window_txs: usize,
    high_qc: Qc,
    qc_source: NodeId,
    locked: Qc,
    last_voted: u64,
    // Pacemaker.
    cur_view: u64,
    view_start: SimTime,
    backoff: u32,
    timer_at: Option<SimTime>,
    had_work: bool,
    // Leader.
    votes: BTreeMap<(u64, u64), Vec<NodeId>>,
    new_views: BTreeMap<u64, Vec<NodeId>>,
    proposed_view: u64,
    ready: Option<(u64, bool)>,
    batch_timer_at: Option<SimTime>,
    // Mempool.
    pending: BTreeMap<u64, (TxEntry, SimTime)>,
    recent: BTreeSet<(u64, u64)>,
    recent_window: SimTime,
    // Block sync.
    orphans: VecDeque<(NodeId, Rc<Block>)>,
    fetch_until: SimTime,
    scratch: Vec<u64>,
    ledger: Ledger,
    counters: ProtocolCounters,
}

impl HotStuffReplica {
    fn leader(&self, view: u64) -> NodeId {
        self.validators[(view % self.validators.len() as u64) as usize]
    }

    fn timeout(&self) -> SimTime {
        self.base_timeout.saturating_mul(1 << self.backoff.min(MAX_BACKOFF))
    }

    fn get(&self, qc: Qc) -> Option<&Rc<Block>> {
        self.blocks.get(&(qc.view, qc.hash))
    }

    /// A block from the store or the committed window (for serving FETCH).
    fn find(&self, qc: Qc) -> Option<Rc<Block>> {
        if let Some(b) = self.get(qc) {
            return Some(b.clone());
        }
        let i = self.window.partition_point(|b| b.view < qc.view);
        self.window.get(i).filter(|b| b.hash == qc.hash).cloned()
    }

    /// Whether the uncommitted chain ending at the high-QC block holds any transaction.
    fn chain_has_payload(&self) -> bool {
        let mut cur = self.get(self.high_qc);
        while let Some(b) = cur {
            if b.view <= self.root.view {
                break;
            }
            if !b.batch.txs.is_empty() {
                return true;
            }
            cur = self.get(b.justify);
        }
        false
    }

    fn has_work(&self) -> bool {
        !self.pending.is_empty() || self.chain_has_payload()
    }

    fn enter_view(&mut self, view: u64, now: SimTime) {
        if view > self.cur_view {
            self.cur_view = view;
            self.view_start = now;
            if matches!(self.ready, Some((r, _)) if r < view) {
                self.ready = None;
            }
        }
    }

    /// End of every handler: start the view clock when work appears and keep a timer armed
    /// for the current deadline while there is work.
    fn tend_timer(&mut self, now: SimTime, out: &mut Outbox<HotStuffMsg>) {
        let work = self.has_work();
        if work && !self.had_work {
            self.view_start = now;
        }
        self.had_work = work;
        if !work {
            return;
        }
        let deadline = self.view_start.saturating_add(self.timeout());
        let stale = self.timer_at.is_none_or(|t| t < now || t > deadline);
        if stale {
            self.timer_at = Some(deadline);
            out.push(Action::SetTimer {
                after: deadline.saturating_sub(now).max(1),
                token: VIEW_TIMER,
            });
        }
    }

    fn fetch(&mut self, now: SimTime, qc: Qc, from: NodeId, out: &mut Outbox<HotStuffMsg>) {
        if now < self.fetch_until || from == self.id {
            return;
        }
        self.fetch_until = now + self.base_timeout / 4;
        out.push(Action::Send {
            to: from,
            msg: HotStuffMsg::Fetch {
                view: qc.view,
                hash: qc.hash,
                have_height: self.root.height,
            },
        });
    }

    fn add_request(&mut self, now: SimTime, tx: TxEntry) -> bool {
        if tx.submitted_at.saturating_add(self.recent_window) < now
            || self.pending.contains_key(&tx.id)
            || self.recent.contains(&(tx.submitted_at, tx.id))
        {
            return false;
        }
        self.pending.insert(tx.id, (tx, now));
        true
    }

    /// Leader of `view`: propose if there is something to propose (see the module doc).
    fn try_propose(&mut self, now: SimTime, view: u64, forced: bool, out: &mut Outbox<HotStuffMsg>) {
        if self.leader(view) != self.id || view <= self.proposed_view || view < self.cur_view {
            return;
        }
        let Some(parent) = self.get(self.high_qc).cloned() else {
            self.ready = Some((view, forced));
            let (qc, src) = (self.high_qc, self.qc_source);
            self.fetch(now, qc, src, out);
            return;
        };
        // Transactions already in the uncommitted chain we extend.
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        let mut chain_payload = false;
        let mut cur = Some(&parent);
        while let Some(b) = cur {
            if b.view <= self.root.view {
                break;
            }
            if !b.batch.txs.is_empty() {
                chain_payload = true;
                ids.extend(b.batch.txs.iter().map(|t| t.id));
            }
            cur = self.get(b.justify);
        }
        ids.sort_unstable();
        let mut txs = Vec::new();
        let mut bytes = 0u64;
        let mut oldest = None;
        for (id, (tx, at)) in &self.pending {
            if txs.len() >= self.max_tx {
                break;
            }
            if ids.binary_search(id).is_ok() {
                continue;
            }
            if !txs.is_empty() && bytes + u64::from(tx.size) > self.max_bytes {
                break;
            }
            oldest.get_or_insert(*at);
            bytes += u64::from(tx.size);
            txs.push(*tx);
        }
        self.scratch = ids;
        let full = txs.len() >= self.max_tx || bytes >= self.max_bytes;
        if !(forced || chain_payload || full) {
            self.ready = Some((view, false));
            let Some(oldest) = oldest else { return };
            let due = oldest.saturating_add(self.batch_timeout);
            if now < due {
                if self.batch_timer_at.is_none_or(|t| t < now || t > due) {
                    self.batch_timer_at = Some(due);
                    out.push(Action::SetTimer {
                        after: due - now,
                        token: BATCH_TIMER,
                    });
                }
                return;
            }
        }
        let batch = Rc::new(Batch::new(view, txs));
        out.charge(self.cpu.hash(batch.bytes) + self.cpu.sign);
        let block = Rc::new(Block::new(view, parent.height + 1, self.high_qc, batch, self.id, 0));
        self.proposed_view = view;
        self.ready = None;
        out.push(Action::Broadcast {
            msg: HotStuffMsg::Proposal(block.clone()),
        });
        self.accept(now, block, true, out);
    }

    /// Store a block whose parent is present, run the chain rules and, for a proposal, vote.
    fn accept(&mut self, now: SimTime, block: Rc<Block>, proposal: bool, out: &mut Outbox<HotStuffMsg>) {
        if block.view <= self.root.view || self.get(block.qc()).is_some() {
            return;
        }
        self.blocks.insert((block.view, block.hash), block.clone());
        self.chain_rules(now, &block, out);
        if !proposal || block.view < self.cur_view {
            return;
        }
        let vote = block.view > self.last_voted && self.safe(&block);
        self.enter_view(block.view + 1, now);
        if vote {
            self.last_voted = block.view;
            self.backoff = 0;
            out.charge(self.cpu.sign);
            let next = self.leader(block.view + 1);
            if next == self.id {
                self.on_vote(now, self.id, block.view, block.hash, out);
            } else {
                out.push(Action::Send {
                    to: next,
                    msg: HotStuffMsg::Vote {
                        view: block.view,
                        hash: block.hash,
                    },
                });
            }
        }
    }

    /// The safety rule: `block` extends the locked block, or its justify is above the lock.
    fn safe(&self, block: &Block) -> bool {
        if block.justify.view > self.locked.view {
            return true;
        }
        let mut cur = self.get(block.justify);
        while let Some(b) = cur {
            if b.view <= self.locked.view {
                return b.hash == self.locked.hash;
            }
            cur = self.get(b.justify);
        }
        false
    }

    /// High QC, lock and the three-chain commit rule for a newly stored block.
    fn chain_rules(&mut self, now: SimTime, block: &Rc<Block>, out: &mut Outbox<HotStuffMsg>) {
        if block.justify.view > self.high_qc.view {
            self.high_qc = block.justify;
            self.qc_source = block.proposer;
        }
        let Some(b2) = self.get(block.justify).cloned() else {
            return;
        };
        let Some(b1) = self.get(b2.justify).cloned() else {
            return;
        };
        if b1.view > self.locked.view {
            self.locked = b1.qc();
        }
        let Some(b0) = self.get(b1.justify).cloned() else {
            return;
        };
        if b2.view == b1.view + 1 && b1.view == b0.view + 1 && b0.view > self.root.view {
            self.commit(now, b0, out);
        }
    }

    /// Commit `top` and its uncommitted ancestors in order; prune what lies below it.
    fn commit(&mut self, now: SimTime, top: Rc<Block>, out: &mut Outbox<HotStuffMsg>) {
        let mut chain = Vec::new();
        let mut cur = top.clone();
        while cur.view > self.root.view {
            let Some(p) = self.get(cur.justify).cloned() else {
                return;
            };
            chain.push(cur);
            cur = p;
        }
        if cur.hash != self.root.hash {
            // Conflicts with the committed chain: impossible with ≤ f faults; never apply it.
            return;
        }
        let horizon = now.saturating_sub(self.recent_window);
        while self.recent.first().is_some_and(|&(t, _)| t < horizon) {
            self.recent.pop_first();
        }
        for b in chain.iter().rev() {
            let batch = &b.batch;
            out.charge(self.cpu.execute_tx * batch.txs.len() as u64 + self.cpu.db_commit + self.cpu.sign);
            let digest = self.ledger.apply_block(&batch.txs);
            out.push(Action::Committed {
                height: self.ledger.height(),
                digest,
            });
            push_batch_replies(batch, out);
            for tx in &batch.txs {
                self.pending.remove(&tx.id);
                if tx.submitted_at >= horizon {
                    self.recent.insert((tx.submitted_at, tx.id));
                }
            }
            self.window.push_back(b.clone());
            self.window_txs += b.batch.txs.len();
            while self.window.len() > SYNC_WINDOW || self.window_txs > SYNC_WINDOW_TXS {
                let old = self.window.pop_front().expect("non-empty window");
                self.window_txs -= old.batch.txs.len();
            }
        }
        let kept = self.blocks.split_off(&(top.view, 0));
        let removed = std::mem::replace(&mut self.blocks, kept);
        // Removed: the old root, the newly committed blocks below `top`, and abandoned forks.
        self.counters.forks += (removed.len() as u64).saturating_sub(chain.len() as u64);
        self.root = top;
        let rv = self.root.view;
        self.votes.retain(|k, _| k.0 >= rv);
        self.new_views.retain(|&k, _| k > rv);
        self.orphans.retain(|(_, b)| b.view > rv);
    }

    fn on_vote(&mut self, now: SimTime, from: NodeId, view: u64, hash: u64, out: &mut Outbox<HotStuffMsg>) {
        if self.leader(view + 1) != self.id || view <= self.high_qc.view || view < self.root.view {
            return;
        }
        let voters = self.votes.entry((view, hash)).or_default();
        if voters.contains(&from) {
            return;
        }
        voters.push(from);
        if voters.len() < self.quorum {
            return;
        }
        out.charge(self.qc_verify);
        self.votes.retain(|k, _| k.0 > view);
        self.high_qc = Qc { view, hash };
        self.qc_source = from;
        if view + 1 >= self.cur_view {
            self.enter_view(view + 1, now);
            self.try_propose(now, view + 1, false, out);
        }
    }

    fn on_new_view(&mut self, now: SimTime, from: NodeId, view: u64, qc: Qc, out: &mut Outbox<HotStuffMsg>) {
        if qc.view > self.high_qc.view {
            self.high_qc = qc;
            self.qc_source = from;
        }
        if self.leader(view) != self.id || view <= self.proposed_view || view < self.cur_view {
            return;
        }
        let senders = self.new_views.entry(view).or_default();
        if !senders.contains(&from) {
            senders.push(from);
        }
        if senders.len() >= self.quorum {
            self.new_views.retain(|&k, _| k > view);
            self.enter_view(view, now);
            self.try_propose(now, view, true, out);
        }
    }

    fn on_proposal(&mut self, now: SimTime, from: NodeId, block: Rc<Block>, out: &mut Outbox<HotStuffMsg>) {
        if from != self.leader(block.view) || block.proposer != from {
            return;
        }
        out.charge(self.cpu.verify + self.qc_verify + self.cpu.hash(block.batch.bytes));
        if block.view <= self.root.view || self.get(block.qc()).is_some() {
            return;
        }
        if self.get(block.justify).is_none() {
            let qc = block.justify;
            self.orphans.push_back((from, block));
            if self.orphans.len() > MAX_ORPHANS {
                self.orphans.pop_front();
            }
            self.fetch(now, qc, from, out);
            return;
        }
        self.accept(now, block, true, out);
        self.adopt_orphans(now, out);
    }

    /// Accept set-aside proposals whose parent has arrived; fetch for the newest otherwise.
    fn adopt_orphans(&mut self, now: SimTime, out: &mut Outbox<HotStuffMsg>) {
        loop {
            let rv = self.root.view;
            self.orphans.retain(|(_, b)| b.view > rv);
            let Some(i) = self.orphans.iter().position(|(_, b)| self.get(b.justify).is_some()) else {
                break;
            };
            let (_, b) = self.orphans.remove(i).expect("index in range");
            self.accept(now, b, true, out);
        }
        if let Some((from, b)) = self.orphans.back() {
            let (from, qc) = (*from, b.justify);
            self.fetch(now, qc, from, out);
        }
        if let Some((view, forced)) = self.ready {
            self.try_propose(now, view, forced, out);
        }
    }

    fn on_fetch(&mut self, from: NodeId, target: Qc, have_height: u64, out: &mut Outbox<HotStuffMsg>) {
        let mut chain = Vec::new();
        let mut cur = self.find(target);
        while let Some(b) = cur {
            if b.height <= have_height {
                break;
            }
            cur = self.find(b.justify);
            chain.push(b);
        }
        if chain.is_empty() {
            return;
        }
        chain.reverse();
        chain.truncate(MAX_FETCH);
        out.push(Action::Send {
            to: from,
            msg: HotStuffMsg::FetchReply(chain),
        });
    }

    fn on_fetch_reply(&mut self, now: SimTime, blocks: Vec<Rc<Block>>, out: &mut Outbox<HotStuffMsg>) {
        for b in blocks {
            out.charge(self.qc_verify + self.cpu.hash(b.batch.bytes));
            if self.get(b.justify).is_some() {
                self.accept(now, b, false, out);
            }
        }
        self.fetch_until = 0;
        self.adopt_orphans(now, out);
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Outbox<HotStuffMsg>) {
        self.backoff = (self.backoff + 1).min(MAX_BACKOFF);
        self.counters.view_changes += 1;
        let next = self.cur_view + 1;
        self.enter_view(next, now);
        let leader = self.leader(next);
        let high_qc = self.high_qc;
        out.charge(self.cpu.sign);
        if leader == self.id {
            self.on_new_view(now, self.id, next, high_qc, out);
        } else {
            out.push(Action::Send {
                to: leader,
                msg: HotStuffMsg::NewView { view: next, high_qc },
            });
        }
    }

    /// Proposal views of the blocks this replica stores (for tests).
    #[cfg(test)]
    fn stored_views(&self) -> Vec<u64> {
        self.blocks.keys().map(|k| k.0).collect()
    }
}

impl Replica for HotStuffReplica {
    type Msg = HotStuffMsg;

    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<HotStuffMsg>) {
        out.charge(self.cpu.verify);
        if self.add_request(now, tx) {
            out.push(Action::Broadcast {
                msg: HotStuffMsg::Forward(tx),
            });
            if let Some((view, forced)) = self.ready {
                self.try_propose(now, view, forced, out);
            }
        }
        self.tend_timer(now, out);
    }

    fn on_message(&mut self, now: SimTime, from: NodeId, msg: HotStuffMsg, out: &mut Outbox<HotStuffMsg>) {
        match msg {
            HotStuffMsg::Forward(tx) => {
                out.charge(self.cpu.verify);
                if self.add_request(now, tx)
                    && let Some((view, forced)) = self.ready
                {
                    self.try_propose(now, view, forced, out);
                }
            }
            HotStuffMsg::Proposal(block) => self.on_proposal(now, from, block, out),
            HotStuffMsg::Vote { view, hash } => self.on_vote(now, from, view, hash, out),
            HotStuffMsg::NewView { view, high_qc } => {
                out.charge(self.cpu.verify + self.qc_verify);
                self.on_new_view(now, from, view, high_qc, out);
                if self.get(self.high_qc).is_none() && self.high_qc.view > self.root.view {
                    let (qc, src) = (self.high_qc, self.qc_source);
                    self.fetch(now, qc, src, out);
                }
            }
            HotStuffMsg::Fetch {
                view,
                hash,
                have_height,
            } => {
                out.charge(self.cpu.verify);
                self.on_fetch(from, Qc { view, hash }, have_height, out);
            }
            HotStuffMsg::FetchReply(blocks) => self.on_fetch_reply(now, blocks, out),
        }
        self.tend_timer(now, out);
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<HotStuffMsg>) {
        match token {
            VIEW_TIMER => {
                if self.timer_at.is_some_and(|t| t <= now) {
                    self.timer_at = None;
                }
                let deadline = self.view_start.saturating_add(self.timeout());
                if self.has_work() && now >= deadline {
                    self.on_timeout(now, out);
                }
            }
            BATCH_TIMER => {
                if self.batch_timer_at.is_some_and(|t| t <= now) {
                    self.batch_timer_at = None;
                }
                if let Some((view, forced)) = self.ready {
                    self.try_propose(now, view, forced, out);
                }
            }
            _ => {}
        }
        self.tend_timer(now, out);
    }

    fn on_recover(&mut self, now: SimTime, out: &mut Outbox<HotStuffMsg>) {
        // Timers died with the node; the chain, lock and mempool are kept (persisted).
        self.timer_at = None;
        self.batch_timer_at = None;
        self.had_work = false;
        self.fetch_until = 0;
        self.tend_timer(now, out);
    }

    fn msg_bytes(msg: &HotStuffMsg) -> u32 {
        match msg {
            HotStuffMsg::Forward(tx) => tx.size + 72,
            HotStuffMsg::Proposal(b) => b.wire_bytes(),
            HotStuffMsg::Vote { .. } => 120,
            HotStuffMsg::NewView { .. } => 216,
            HotStuffMsg::Fetch { .. } => 96,
            HotStuffMsg::FetchReply(bs) => bs.iter().fold(64u32, |acc, b| acc.saturating_add(b.wire_bytes())),
        }
    }

    fn msg_kind(msg: &HotStuffMsg) -> usize {
        match msg {
            HotStuffMsg::Forward(_) => 0,
            HotStuffMsg::Proposal(_) => 1,
            HotStuffMsg::Vote { .. } => 2,
            HotStuffMsg::NewView { .. } => 3,
            HotStuffMsg::Fetch { .. } => 4,
            HotStuffMsg::FetchReply(_) => 5,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        crate::names::HOTSTUFF_KINDS
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn counters(&self) -> ProtocolCounters {
        self.counters
    }

    /// A conflicting proposal for the same view: the same parent and QC with the last
    /// transaction dropped (and a different salt, so even an empty block changes hash).
    fn equivocate(&self, msg: &HotStuffMsg) -> Option<HotStuffMsg> {
        let HotStuffMsg::Proposal(b) = msg else { return None };
        let mut txs = b.batch.txs.to_vec();
        txs.pop();
        let batch = Rc::new(Batch::new(b.view, txs));
        Some(HotStuffMsg::Proposal(Rc::new(Block::new(
            b.view, b.height, b.justify, batch, b.proposer, 1,
        ))))
    }

    fn carried_tx(msg: &HotStuffMsg) -> Option<&TxEntry> {
        match msg {
            HotStuffMsg::Forward(tx) => Some(tx),
            _ => None,
        }
    }
}

/// Deploy chained HotStuff on `spec.validators`. Clients at a validator send to it; every
/// other node's clients send to `validators[0]`. HotStuff draws no random numbers.
pub fn deploy(scenario: &Scenario, spec: &HotStuffSpec, _replication: u32) -> Deployment<HotStuffReplica> {
    let n = spec.validators.len();
    let f = n.saturating_sub(1) / 3;
    let accounts = scenario.topology.nodes.len();
    let genesis_qc = Qc {
        view: 0,
        hash: GENESIS_HASH,
    };
    let genesis = Rc::new(Block {
        view: 0,
        height: 0,
        hash: GENESIS_HASH,
        justify: genesis_qc,
        batch: Rc::new(Batch::new(0, Vec::new())),
        proposer: spec.validators[0],
    });
    let replicas = spec
        .validators
        .iter()
        .map(|&id| {
            let mut blocks = BTreeMap::new();
            blocks.insert((0, GENESIS_HASH), genesis.clone());
            let replica = HotStuffReplica {
                id,
                validators: spec.validators.clone(),
                quorum: 2 * f + 1,
                cpu: scenario.cpu,
                qc_verify: spec.qc_verify,
                max_tx: spec.batch.max_tx as usize,
                max_bytes: spec.batch.max_bytes,
                batch_timeout: spec.batch.timeout,
                base_timeout: spec.view_timeout,
                blocks,
                root: genesis.clone(),
                window: VecDeque::new(),
                window_txs: 0,
                high_qc: genesis_qc,
                qc_source: id,
                locked: genesis_qc,
                last_voted: 0,
                cur_view: 1,
                view_start: 0,
                backoff: 0,
                timer_at: None,
                had_work: false,
                votes: BTreeMap::new(),
                new_views: BTreeMap::new(),
                proposed_view: 0,
                // The leader of view 1 holds the genesis QC.
                ready: None,
                batch_timer_at: None,
                pending: BTreeMap::new(),
                recent: BTreeSet::new(),
                recent_window: spec.view_timeout.saturating_mul(16),
                orphans: VecDeque::new(),
                fetch_until: 0,
                scratch: Vec::new(),
                ledger: Ledger::new(accounts, scenario.initial_balance_minor),
                counters: ProtocolCounters::default(),
            };
            (id, replica)
        })
        .map(|(id, mut r)| {
            if r.leader(1) == id {
                r.ready = Some((1, false));
            }
            (id, r)
        })
        .collect();
    let is_validator = |i: NodeId| spec.validators.binary_search(&i).is_ok();
    Deployment {
        replicas,
        members: spec.validators.clone(),
        core_overrides: vec![],
        replies_needed: (f + 1) as u16,
        entry: (0..accounts as NodeId)
            .map(|i| if is_validator(i) { i } else { spec.validators[0] })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque as Fifo;

    fn scenario(n: usize) -> Scenario {
        let text = format!(
            r#"
name = "unit"
seed = 1
duration = "1s"
warmup = "0"
replications = 1
start_time = "00:00"
[topology]
regions = ["r"]
[[topology.group]]
role = "province"
count = {n}
region = "r"
[[topology.group]]
role = "bank"
count = 1
region = "r"
[network]
intra_region_rtt = "1ms"
[workload]
[[workload.flow]]
name = "f"
from = "bank"
to = "province"
arrival = {{ process = "constant", rate = 1.0 }}
size_bytes = 500
amount = {{ dist = "constant", value = 1.0 }}
[[system]]
name = "c"
consensus = "centralized"
baseline = true
operator = "province-1"
[[system]]
name = "hs"
consensus = "hotstuff"
validators = {{ roles = ["province"] }}
settlement = "on-ledger"
batch_max_tx = 1
view_timeout = "100ms"
"#
        );
        Scenario::from_toml_str(&text, "unit").expect("valid scenario")
    }

    fn replicas(n: usize) -> Vec<HotStuffReplica> {
        let sc = scenario(n);
        let crate::scenario::SystemKind::HotStuff(spec) = &sc.systems[1].kind else {
            panic!("hotstuff system")
        };
        deploy(&sc, spec, 0).replicas.into_iter().map(|(_, r)| r).collect()
    }

    fn tx(id: u64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 100,
            from: 4,
            to: 0,
            submitter: 4,
            size: 500,
            flow: 0,
        }
    }

    /// Messages delivered in FIFO order at time 0; `drop` filters (to, msg) deliveries.
    struct Net {
        queue: Fifo<(NodeId, NodeId, HotStuffMsg)>,
        sent: Vec<usize>,
        commits: Vec<Vec<(u64, u64)>>,
    }

    impl Net {
        fn new(n: usize) -> Net {
            Net {
                queue: Fifo::new(),
                sent: vec![0; 6],
                commits: vec![Vec::new(); n],
            }
        }

        fn absorb(&mut self, from: NodeId, n: usize, out: &mut Outbox<HotStuffMsg>) {
            for a in out.actions.drain(..) {
                match a {
                    Action::Send { to, msg } => {
                        self.sent[HotStuffReplica::msg_kind(&msg)] += 1;
                        self.queue.push_back((from, to, msg));
                    }
                    Action::Broadcast { msg } => {
                        for to in (0..n as NodeId).filter(|&t| t != from) {
                            self.sent[HotStuffReplica::msg_kind(&msg)] += 1;
                            self.queue.push_back((from, to, msg.clone()));
                        }
                    }
                    Action::Committed { height, digest } => self.commits[from as usize].push((height, digest)),
                    Action::SetTimer { .. } | Action::Reply { .. } => {}
                }
            }
        }

        fn run(&mut self, reps: &mut [HotStuffReplica], drop: impl Fn(NodeId, &HotStuffMsg) -> bool) {
            let mut out = Outbox::default();
            while let Some((from, to, msg)) = self.queue.pop_front() {
                if drop(to, &msg) {
                    continue;
                }
                reps[to as usize].on_message(0, from, msg, &mut out);
                self.absorb(to, reps.len(), &mut out);
            }
        }
    }

    fn submit(reps: &mut [HotStuffReplica], net: &mut Net, at: NodeId, id: u64) {
        let mut out = Outbox::default();
        reps[at as usize].on_request(0, tx(id), &mut out);
        net.absorb(at, reps.len(), &mut out);
    }

    #[test]
    fn one_request_commits_everywhere_after_four_linear_rounds() {
        let mut reps = replicas(4);
        let mut net = Net::new(4);
        submit(&mut reps, &mut net, 0, 1);
        net.run(&mut reps, |_, _| false);
        for (i, r) in reps.iter().enumerate() {
            assert_eq!(r.ledger.height(), 1, "replica {i}: the first block commits");
            assert_eq!(r.ledger.applied(), 1);
            assert!(r.pending.is_empty(), "committed requests leave the mempool");
            assert_eq!(net.commits[i], net.commits[0], "same digest everywhere");
            // Pruned below the committed block (view 1): views 1..=4 remain.
            assert_eq!(r.stored_views(), vec![1, 2, 3, 4]);
        }
        // 3 forwards, then 4 blocks (one payload, three to commit it): 2(n − 1) each.
        assert_eq!(net.sent, vec![3, 12, 12, 0, 0, 0]);
        // The leader of view 5 holds the QC of view 4 and waits: nothing is left to drive.
        assert_eq!(reps[1].ready, Some((5, false)));
        assert_eq!(reps[1].high_qc.view, 4);
    }

    #[test]
    fn the_lock_refuses_a_conflicting_proposal_and_accepts_an_extension() {
        let mut reps = replicas(4);
        let mut net = Net::new(4);
        submit(&mut reps, &mut net, 0, 1);
        net.run(&mut reps, |_, _| false);
        let r = &mut reps[3];
        assert_eq!(r.locked.view, 2, "locked on b' of the last three-chain");
        // View 6 (leader validators[2]) re-proposes on top of the committed view-1 block.
        let root = r.root.clone();
        let conflicting = Rc::new(Block::new(
            6,
            root.height + 1,
            root.qc(),
            Rc::new(Batch::new(6, vec![])),
            2,
            0,
        ));
        let mut out = Outbox::default();
        r.on_message(0, 2, HotStuffMsg::Proposal(conflicting), &mut out);
        assert!(
            !out.actions.iter().any(|a| matches!(
                a,
                Action::Send {
                    msg: HotStuffMsg::Vote { .. },
                    ..
                }
            )),
            "no vote below the lock: {:?}",
            out.actions
        );
        // Another replica gets a view-6 block that extends the high-QC block: it votes, to
        // the leader of view 7 (validators[3]).
        let r0 = &mut reps[0];
        let tip = r0.get(r0.high_qc).expect("high QC block").clone();
        let extending = Rc::new(Block::new(
            6,
            tip.height + 1,
            tip.qc(),
            Rc::new(Batch::new(6, vec![])),
            2,
            0,
        ));
        out.clear();
        r0.on_message(0, 2, HotStuffMsg::Proposal(extending), &mut out);
        assert!(
            out.actions.iter().any(|a| matches!(
                a,
                Action::Send {
                    to: 3,
                    msg: HotStuffMsg::Vote { view: 6, .. }
                }
            )),
            "votes for an extension of the lock: {:?}",
            out.actions
        );
    }

    #[test]
    fn equivocation_gives_a_different_block_for_the_same_view() {
        let reps = replicas(4);
        let b = Rc::new(Block::new(
            3,
            1,
            Qc {
                view: 0,
                hash: GENESIS_HASH,
            },
            Rc::new(Batch::new(3, vec![tx(1), tx(2)])),
            3,
            0,
        ));
        let Some(HotStuffMsg::Proposal(alt)) = reps[3].equivocate(&HotStuffMsg::Proposal(b.clone())) else {
            panic!("a conflicting proposal")
        };
        assert_eq!((alt.view, alt.justify), (b.view, b.justify));
        assert_ne!(alt.hash, b.hash);
        assert_eq!(alt.batch.txs.len(), 1);
        assert!(reps[3].equivocate(&HotStuffMsg::Forward(tx(1))).is_none());
        assert_eq!(
            HotStuffReplica::carried_tx(&HotStuffMsg::Forward(tx(9))).map(|t| t.id),
            Some(9)
        );
    }

    #[test]
    fn a_timeout_sends_new_view_and_the_next_leader_proposes_on_a_quorum() {
        let mut reps = replicas(4);
        let t = 100 * crate::engine::NS_PER_MS;
        // Everyone holds a request; the leader of view 1 (validators[1]) is silent.
        for i in [0usize, 2, 3] {
            let mut out = Outbox::default();
            reps[i].on_message(0, 0, HotStuffMsg::Forward(tx(1)), &mut out);
            assert!(
                out.actions
                    .iter()
                    .any(|a| matches!(a, Action::SetTimer { token: VIEW_TIMER, after } if *after == t)),
                "view timer armed while there is work"
            );
        }
        let mut nv = Vec::new();
        for i in [0usize, 3] {
            let mut out = Outbox::default();
            reps[i].on_timer(t, VIEW_TIMER, &mut out);
            assert_eq!(reps[i].counters().view_changes, 1);
            assert_eq!(reps[i].cur_view, 2);
            let m = out.actions.iter().find_map(|a| match a {
                Action::Send { to: 2, msg } => Some(msg.clone()),
                _ => None,
            });
            nv.push((i as NodeId, m.expect("NEW-VIEW to the leader of view 2")));
        }
        // The leader of view 2 times out too (its own NEW-VIEW), then two more make 2f + 1.
        let mut out = Outbox::default();
        reps[2].on_timer(t, VIEW_TIMER, &mut out);
        assert!(!out.actions.iter().any(|a| matches!(a, Action::Broadcast { .. })));
        reps[2].on_message(t, nv[0].0, nv[0].1.clone(), &mut out);
        assert!(!out.actions.iter().any(|a| matches!(a, Action::Broadcast { .. })));
        reps[2].on_message(t, nv[1].0, nv[1].1.clone(), &mut out);
        let proposal = out.actions.iter().find_map(|a| match a {
            Action::Broadcast {
                msg: HotStuffMsg::Proposal(b),
            } => Some(b.clone()),
            _ => None,
        });
        let b = proposal.expect("proposal after 2f + 1 NEW-VIEWs");
        assert_eq!((b.view, b.batch.txs.len()), (2, 1));
        // A second timeout without progress doubles the timeout.
        assert_eq!(reps[0].timeout(), 2 * t);
    }

    #[test]
    fn a_replica_that_missed_a_block_fetches_it_and_commits() {
        let mut reps = replicas(4);
        let mut net = Net::new(4);
        submit(&mut reps, &mut net, 0, 1);
        // Replica 3 never receives the first proposal.
        net.run(&mut reps, |to, m| {
            to == 3 && matches!(m, HotStuffMsg::Proposal(b) if b.view == 1)
        });
        assert_eq!(net.sent[4], 1, "one FETCH");
        assert_eq!(net.sent[5], 1, "one FETCH reply");
        assert_eq!(reps[3].ledger.height(), 1);
        assert_eq!(net.commits[3], net.commits[0]);
    }
}
