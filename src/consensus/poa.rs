//! Proof-of-authority in the Aura / Clique style: a fixed, known set of `n` authorities
//! seals blocks in turn, one slot of length `period` each; every node of the scenario runs a
//! full-node replica that validates (verify, hash, execute) every block, and a block becomes
//! *final* by a majority of distinct authorities building on it.
//!
//! **Slots.** Simulated time is cut into slots `[s·P, (s+1)·P)`; the in-turn authority of slot
//! `s` is `authorities[s mod n]` (Aura). It seals at the slot start on its chain head,
//! signs and broadcasts the block. If no block of slot `s` has reached the authority of
//! backup rank `k` (`authorities[(s+k) mod n]`, `k ≥ 1`) by `s·P + k·slot_timeout`, that
//! authority seals slot `s` out of turn (Clique's "wiggle"); ranks with
//! `k·slot_timeout ≥ P` are not used except rank 1, so with the default
//! `slot_timeout = P/2` exactly the next authority in turn stands in. Replicas are
//! time-synchronized (the slot grid is derived from simulated time).
//!
//! **Idle chain.** An authority seals only while there is something to finalize: pending
//! transactions, or a non-final block of its head chain that carries transactions (the empty
//! blocks sealed then are what finalizes it). An idle chain seals nothing and arms no timer,
//! so a run drains; the first request re-arms the slot clock. There is no start hook, so the
//! slot clock starts with the first request, gossip or block a replica sees.
//!
//! **Fork choice.** Among valid chains that contain the replica's last final block, prefer
//! the greatest *final height of the chain itself* (the highest block with a majority of
//! distinct sealers above it, a Casper-style "justified first" rule that makes a minority
//! side adopt the majority chain at once after a partition heals), then the longer chain,
//! then the greater total difficulty (in-turn blocks weigh 2, out-of-turn 1, as in Clique),
//! then the lower block hash. A chain that does not contain the replica's final block is
//! never adopted, so a reorganisation can only remove non-final blocks.
//!
//! **Finality rule.** With `q = ⌊n/2⌋ + 1`, block `B` of the head chain is final when the
//! blocks from `B` (included) to the head were sealed by at least `q` *distinct*
//! authorities (Clique's "n/2 + 1 distinct signers", Parity-Aura's finality). Only final
//! blocks are applied to the [`Ledger`] and reported with [`Action::Committed`], in height
//! order. With crash faults, partitions (a side without a majority can seal but never
//! finalize a block it sealed alone) and one equivocating authority this is safe in the
//! simulated, synchronous network; it is not a proof under asynchrony, and the safety checker
//! reports any conflicting finalization.
//!
//! **Requests and replies.** A client sends to its own node if it is an authority, else to
//! the fixed authority `authorities[node mod n]`. The entry authority gossips the request to
//! the `n − 1` other authorities, so an offline in-turn authority does not lose it; pools
//! deduplicate by transaction id against the head chain and the recent final blocks. Every
//! authority replies to the submitters when a block becomes final at it; a client needs
//! `q` matching replies (a majority of authorities, the same majority that defines
//! finality, so one lying or equivocating authority cannot convince a client).
//!
//! **Latency** with one-way delay δ, zero CPU and no jitter: a request reaches its entry
//! authority after δ and every authority after 2δ; it is sealed at the first slot start
//! after that; its block is final when the `⌊n/2⌋`-th following block is sealed (`⌊n/2⌋·P`
//! later, its sealer finalizes at once, the others δ later) and the client has `q` replies δ
//! after that. A request submitted exactly at a slot boundary by a non-authority client
//! (2δ < P) therefore commits after `(⌊n/2⌋ + 1)·P + 2δ`; a uniformly random submission time
//! waits `P/2` on average instead of `P` (plus 2δ when gossip must arrive first).
//!
//! **Messages per block:** `N − 1` block broadcasts (N = all nodes, every node is a full
//! node). Per transaction: 1 request, `n − 1` gossips, and `n` replies per (block, client)
//! range. Catch-up: one `fetch` and one `blocks` reply per run of up to [`MAX_SYNC`] blocks.
//!
//! **CPU:** request or gossip received: verify. Sealing: hash(block bytes) + sign +
//! execute_tx per tx. Importing a peer's block: verify + hash(bytes) + verify and execute_tx
//! per tx. Finalizing a block: db_commit, plus sign for the replies (authorities).
//!
//! **Crash recovery:** the block tree, pool and ledger survive; on recovery the replica asks a
//! random authority for the blocks above its final height (retrying the next authority every
//! [`SYNC_RETRY_PERIODS`] periods), and re-arms its slot timer. Peers serve the blocks of their
//! head chain, final blocks from a history of about two minutes of blocks.

use super::{Action, Batch, Deployment, Outbox, ProtocolCounters, Replica, push_batch_replies};
use crate::engine::rng::splitmix64;
use crate::engine::{NS_PER_S, SimRng, SimTime, StreamLabel, stream_rng};
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{CpuCosts, NodeId, PoaSpec, Scenario};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// Most blocks in one `blocks` (catch-up) reply.
pub const MAX_SYNC: usize = 64;
/// A catch-up request without an answer is retried at another authority after this many periods.
pub const SYNC_RETRY_PERIODS: u64 = 2;
/// Final blocks a replica keeps to serve catch-up requests: this much simulated time of blocks.
const RETAIN_TIME: SimTime = 120 * NS_PER_S;
/// Final blocks whose transaction ids stay in the dedupe set: this much simulated time.
const DEDUPE_TIME: SimTime = 10 * NS_PER_S;
/// Timer-token flag of the catch-up retry timer.
const SYNC_FLAG: u64 = 1 << 63;
/// Timer tokens carry the recovery epoch above this shift (stale timers are ignored).
const EPOCH_SHIFT: u32 = 40;
const LOW_MASK: u64 = (1 << EPOCH_SHIFT) - 1;

/// A sealed block. Shared by reference among replicas and messages.
#[derive(Debug)]
pub struct Block {
    /// Height (genesis is 0).
    pub height: u64,
    /// Slot it was sealed for.
    pub slot: u64,
    /// Authority that sealed it.
    pub sealer: NodeId,
    /// Sealed by the in-turn authority of its slot (difficulty 2) or out of turn (1).
    pub in_turn: bool,
    /// Hash of the parent block.
    pub parent: u64,
    /// Hash of this block (parent, height, slot, sealer, turn, nonce, contents).
    pub hash: u64,
    /// Total difficulty of the chain ending here.
    pub td: u64,
    /// Distinguishes conflicting versions of one slot (equivocation).
    pub nonce: u64,
    /// The transactions.
    pub batch: Rc<Batch>,
}

impl Block {
    fn compute_hash(
        parent: u64,
        height: u64,
        slot: u64,
        sealer: NodeId,
        in_turn: bool,
        nonce: u64,
        digest: u64,
    ) -> u64 {
        let mut h = splitmix64(parent ^ 0x504f_4120_626c_6f63);
        h = splitmix64(h ^ height);
        h = splitmix64(h ^ slot);
        h = splitmix64(h ^ (u64::from(sealer) << 1 | u64::from(in_turn)));
        h = splitmix64(h ^ nonce);
        splitmix64(h ^ digest)
    }

    fn genesis() -> Block {
        Block {
            height: 0,
            slot: 0,
            sealer: NodeId::MAX,
            in_turn: true,
            parent: 0,
            hash: splitmix64(0x0067_656e_6573_6973),
            td: 0,
            nonce: 0,
            batch: Rc::new(Batch::new(0, Vec::new())),
        }
    }

    fn difficulty(in_turn: bool) -> u64 {
        if in_turn { 2 } else { 1 }
    }
}

/// Proof-of-authority messages.
#[derive(Debug, Clone)]
pub enum PoaMsg {
    /// Entry authority → other authorities: a client request.
    Gossip(TxEntry),
    /// Sealer → all nodes: a sealed block.
    Block(Rc<Block>),
    /// Catch-up: send me your head-chain blocks from this height.
    Fetch {
        /// First height wanted.
        from: u64,
    },
    /// Catch-up answer: consecutive head-chain blocks, ascending.
    Blocks(Rc<[Rc<Block>]>),
}

/// One proof-of-authority replica (an authority, or a validating full node).
pub struct PoaReplica {
    id: NodeId,
    /// Index of this node in `authorities`, `None` for a full node.
    me: Option<usize>,
    authorities: Rc<[NodeId]>,
    quorum: usize,
    period: SimTime,
    slot_timeout: SimTime,
    /// Highest backup rank used.
    max_rank: u64,
    cpu: CpuCosts,
    max_tx: usize,
    max_bytes: u64,
    /// Final blocks kept for catch-up.
    retain: usize,
    /// Final blocks whose tx ids stay in `chain_ids`.
    dedupe: usize,
    // Chain.
    final_block: Rc<Block>,
    head: Rc<Block>,
    /// Non-final blocks descending from `final_block`, by hash.
    tree: BTreeMap<u64, Rc<Block>>,
    /// The last final blocks, ascending, ending at `final_block` (genesis excluded).
    history: VecDeque<Rc<Block>>,
    // Authorities only: pending transactions by id, and ids on the head chain (non-final part
    // plus the last `dedupe` final blocks).
    pool: BTreeMap<u64, TxEntry>,
    chain_ids: BTreeSet<u64>,
    // Timers and catch-up.
    epoch: u64,
    armed: bool,
    /// When this authority last went from idle to having work (backups stand in only for
    /// slots that started after it).
    busy_since: SimTime,
    sync_pending: bool,
    sync_attempts: usize,
    sync_gen: u64,
    sync_peer: usize,
    /// Scratch: sealers seen, by authority index.
    seen: Vec<bool>,
    // Counters.
    forks: u64,
    out_of_turn: u64,
    rng: SimRng,
    ledger: Ledger,
}

impl PoaReplica {
    fn n(&self) -> u64 {
        self.authorities.len() as u64
    }

    fn auth_index(&self, node: NodeId) -> Option<usize> {
        self.authorities.binary_search(&node).ok()
    }

    fn in_turn_of(&self, slot: u64) -> NodeId {
        self.authorities[(slot % self.n()) as usize]
    }

    /// Backup rank of authority `i` in slot `slot` (0 = in turn).
    fn rank(&self, i: usize, slot: u64) -> u64 {
        (i as u64 + self.n() - slot % self.n()) % self.n()
    }

    /// Time at which authority `i` acts for `slot`, if it has a duty there.
    fn duty_time(&self, i: usize, slot: u64) -> Option<SimTime> {
        let r = self.rank(i, slot);
        (r <= self.max_rank).then(|| slot * self.period + r * self.slot_timeout)
    }

    /// This authority's first duty in a slot that starts after `now`: (time, slot). Only
    /// later slots: an authority with nothing to do at a slot start does not stand in for
    /// that slot's in-turn authority, who had nothing to do either.
    fn next_duty(&self, now: SimTime) -> Option<(SimTime, u64)> {
        let i = self.me?;
        let cur = now / self.period;
        let mut best: Option<(SimTime, u64)> = None;
        for s in cur + 1..=cur + self.n() + 1 {
            if let Some(t) = self.duty_time(i, s)
                && best.is_none_or(|b| t < b.0)
            {
                best = Some((t, s));
            }
        }
        best
    }

    fn get(&self, hash: u64) -> Option<&Rc<Block>> {
        if hash == self.final_block.hash {
            Some(&self.final_block)
        } else {
            self.tree.get(&hash)
        }
    }

    /// Whether there is nothing to seal for: no pending transaction and no non-final block of
    /// the head chain carrying transactions.
    fn idle(&self) -> bool {
        if !self.pool.is_empty() {
            return false;
        }
        let mut b = &self.head;
        while b.hash != self.final_block.hash {
            if !b.batch.txs.is_empty() {
                return false;
            }
            b = self.get(b.parent).expect("head chain is linked to the final block");
        }
        true
    }

    /// Arm the slot timer if this is an authority with work and no timer is pending.
    fn ensure_armed(&mut self, now: SimTime, out: &mut Outbox<PoaMsg>) {
        if self.armed || self.me.is_none() || self.idle() {
            return;
        }
        if let Some((t, slot)) = self.next_duty(now) {
            self.armed = true;
            out.push(Action::SetTimer {
                after: t - now,
                token: self.epoch << EPOCH_SHIFT | slot,
            });
        }
    }

    /// Highest block of the chain ending at `tip` sealed over by `q` distinct authorities
    /// (walking down to this replica's final block).
    fn chain_final(&mut self, tip: &Rc<Block>) -> Rc<Block> {
        self.seen.iter_mut().for_each(|s| *s = false);
        let mut distinct = 0;
        let mut b = tip.clone();
        while b.hash != self.final_block.hash {
            if let Some(i) = self.auth_index(b.sealer)
                && !self.seen[i]
            {
                self.seen[i] = true;
                distinct += 1;
            }
            if distinct >= self.quorum {
                return b;
            }
            b = self.get(b.parent).expect("linked to the final block").clone();
        }
        self.final_block.clone()
    }

    /// Fork-choice key of the chain ending at `tip` (greater is better).
    fn key(&mut self, tip: &Rc<Block>) -> (u64, u64, u64, std::cmp::Reverse<u64>) {
        let f = self.chain_final(tip).height;
        (f, tip.height, tip.td, std::cmp::Reverse(tip.hash))
    }

    fn add_to_pool(&mut self, tx: TxEntry) {
        if self.chain_ids.contains(&tx.id) {
            return;
        }
        self.pool.insert(tx.id, tx);
    }

    fn take_from_pool(&mut self, id: u64) {
        self.pool.remove(&id);
    }

    /// Make `tip` the head: move transactions between the pool and the chain, count blocks
    /// reorganised away, then finalize what became final.
    fn set_head(&mut self, now: SimTime, tip: Rc<Block>, out: &mut Outbox<PoaMsg>) {
        let mut removed: Vec<Rc<Block>> = Vec::new();
        let mut added: Vec<Rc<Block>> = vec![tip.clone()];
        if tip.parent != self.head.hash {
            let mut old = self.head.clone();
            let mut new = self.get(tip.parent).expect("linked").clone();
            while old.hash != new.hash {
                if old.height >= new.height {
                    let p = self.get(old.parent).expect("linked").clone();
                    removed.push(std::mem::replace(&mut old, p));
                } else {
                    let p = self.get(new.parent).expect("linked").clone();
                    added.push(std::mem::replace(&mut new, p));
                }
            }
            added.reverse();
        }
        self.forks += removed.len() as u64;
        if self.me.is_some() {
            for b in &removed {
                for tx in &b.batch.txs {
                    self.chain_ids.remove(&tx.id);
                    self.add_to_pool(*tx);
                }
            }
            for b in &added {
                for tx in &b.batch.txs {
                    self.chain_ids.insert(tx.id);
                    self.take_from_pool(tx.id);
                }
            }
        }
        self.head = tip;
        self.finalize(now, out);
    }

    /// Apply every block that became final, in height order, then prune the tree.
    fn finalize(&mut self, _now: SimTime, out: &mut Outbox<PoaMsg>) {
        let head = self.head.clone();
        let target = self.chain_final(&head);
        if target.height <= self.final_block.height {
            return;
        }
        let mut path = Vec::with_capacity((target.height - self.final_block.height) as usize);
        let mut b = target.clone();
        while b.hash != self.final_block.hash {
            let p = self.get(b.parent).expect("linked").clone();
            path.push(std::mem::replace(&mut b, p));
        }
        for block in path.into_iter().rev() {
            let batch = &block.batch;
            out.charge(self.cpu.db_commit);
            let digest = self.ledger.apply_block(&batch.txs);
            out.push(Action::Committed {
                height: self.ledger.height(),
                digest,
            });
            if self.me.is_some() && !batch.txs.is_empty() {
                out.charge(self.cpu.sign);
                push_batch_replies(batch, out);
            }
            self.history.push_back(block);
            if self.me.is_some() && self.history.len() > self.dedupe {
                let old = self.history[self.history.len() - 1 - self.dedupe].clone();
                for tx in &old.batch.txs {
                    self.chain_ids.remove(&tx.id);
                }
            }
            while self.history.len() > self.retain {
                self.history.pop_front();
            }
        }
        self.final_block = target;
        // Keep only the non-final blocks that descend from the new final block.
        let mut blocks: Vec<Rc<Block>> = std::mem::take(&mut self.tree).into_values().collect();
        blocks.sort_by_key(|b| (b.height, b.hash));
        for b in blocks {
            if b.height > self.final_block.height
                && (b.parent == self.final_block.hash || self.tree.contains_key(&b.parent))
            {
                self.tree.insert(b.hash, b);
            }
        }
    }

    /// Seal a block for `slot` on the head and broadcast it.
    fn seal(&mut self, now: SimTime, slot: u64, in_turn: bool, out: &mut Outbox<PoaMsg>) {
        let mut txs = Vec::with_capacity(self.max_tx.min(self.pool.len()));
        let mut bytes = 0u64;
        while let Some(entry) = self.pool.first_entry() {
            let size = u64::from(entry.get().size);
            if txs.len() >= self.max_tx || (!txs.is_empty() && bytes + size > self.max_bytes) {
                break;
            }
            bytes += size;
            txs.push(entry.remove());
        }
        let parent = self.head.clone();
        let height = parent.height + 1;
        let batch = Rc::new(Batch::new(height, txs));
        out.charge(self.cpu.hash(batch.bytes) + self.cpu.sign + self.cpu.execute_tx * batch.txs.len() as u64);
        let hash = Block::compute_hash(parent.hash, height, slot, self.id, in_turn, 0, batch.digest);
        let block = Rc::new(Block {
            height,
            slot,
            sealer: self.id,
            in_turn,
            parent: parent.hash,
            hash,
            td: parent.td + Block::difficulty(in_turn),
            nonce: 0,
            batch,
        });
        // The sealed transactions left the pool above; `set_head` records their ids.
        if !in_turn {
            self.out_of_turn += 1;
        }
        self.tree.insert(hash, block.clone());
        out.push(Action::Broadcast {
            msg: PoaMsg::Block(block.clone()),
        });
        self.set_head(now, block, out);
    }

    /// Import a block. Returns false when its parent is unknown (the caller fetches it).
    fn receive_block(&mut self, now: SimTime, b: Rc<Block>, out: &mut Outbox<PoaMsg>) -> bool {
        if b.height <= self.final_block.height || self.tree.contains_key(&b.hash) {
            return true;
        }
        let Some(parent) = self.get(b.parent).cloned() else {
            return false;
        };
        out.charge(self.cpu.verify);
        let valid = self.auth_index(b.sealer).is_some()
            && b.slot > parent.slot
            && b.slot * self.period <= now
            && b.height == parent.height + 1
            && b.in_turn == (self.in_turn_of(b.slot) == b.sealer)
            && b.td == parent.td + Block::difficulty(b.in_turn)
            && b.hash
                == Block::compute_hash(
                    parent.hash,
                    b.height,
                    b.slot,
                    b.sealer,
                    b.in_turn,
                    b.nonce,
                    b.batch.digest,
                );
        if !valid {
            return true; // dropped
        }
        let txs = b.batch.txs.len() as u64;
        out.charge(self.cpu.hash(b.batch.bytes) + (self.cpu.verify + self.cpu.execute_tx) * txs);
        if !b.in_turn {
            self.out_of_turn += 1;
        }
        self.tree.insert(b.hash, b.clone());
        let better = b.parent == self.head.hash || {
            let head = self.head.clone();
            self.key(&b) > self.key(&head)
        };
        if better {
            self.set_head(now, b, out);
        }
        self.ensure_armed(now, out);
        true
    }

    /// Ask `peer` for the head-chain blocks above our final block (one request at a time).
    fn request_sync(&mut self, peer: NodeId, out: &mut Outbox<PoaMsg>) {
        if self.sync_pending || peer == self.id {
            return;
        }
        self.sync_pending = true;
        self.sync_attempts = 0;
        self.send_fetch(peer, self.final_block.height + 1, out);
    }

    fn send_fetch(&mut self, peer: NodeId, from: u64, out: &mut Outbox<PoaMsg>) {
        self.sync_gen = (self.sync_gen + 1) & LOW_MASK;
        out.push(Action::Send {
            to: peer,
            msg: PoaMsg::Fetch { from },
        });
        out.push(Action::SetTimer {
            after: SYNC_RETRY_PERIODS * self.period,
            token: SYNC_FLAG | self.epoch << EPOCH_SHIFT | self.sync_gen,
        });
    }

    /// The next authority (other than this node) to ask, round robin.
    fn next_sync_peer(&mut self) -> Option<NodeId> {
        let n = self.authorities.len();
        for _ in 0..n {
            self.sync_peer = (self.sync_peer + 1) % n;
            let p = self.authorities[self.sync_peer];
            if p != self.id {
                return Some(p);
            }
        }
        None
    }

    /// Head-chain blocks from height `from`, at most [`MAX_SYNC`].
    fn serve(&self, from: u64) -> Vec<Rc<Block>> {
        let mut v = Vec::new();
        let fh = self.final_block.height;
        if from <= fh && !self.history.is_empty() {
            let oldest = fh + 1 - self.history.len() as u64;
            for h in from.max(oldest)..=fh {
                if v.len() >= MAX_SYNC {
                    return v;
                }
                v.push(self.history[(h - oldest) as usize].clone());
            }
        }
        let mut upper = Vec::new();
        let mut b = &self.head;
        while b.hash != self.final_block.hash {
            if b.height >= from {
                upper.push(b.clone());
            }
            b = self.get(b.parent).expect("linked");
        }
        v.extend(upper.into_iter().rev().take(MAX_SYNC - v.len()));
        v
    }
}

impl PoaReplica {
    /// Record the instant this authority went from idle to having work.
    fn note_busy(&mut self, now: SimTime, was_idle: bool) {
        if was_idle && self.me.is_some() && !self.idle() {
            self.busy_since = now;
        }
    }

    fn handle_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<PoaMsg>) {
        out.charge(self.cpu.verify);
        if self.me.is_some() {
            self.add_to_pool(tx);
        }
        for &a in self.authorities.iter() {
            if a != self.id {
                out.push(Action::Send {
                    to: a,
                    msg: PoaMsg::Gossip(tx),
                });
            }
        }
        self.ensure_armed(now, out);
    }

    fn handle_message(&mut self, now: SimTime, from: NodeId, msg: PoaMsg, out: &mut Outbox<PoaMsg>) {
        match msg {
            PoaMsg::Gossip(tx) => {
                out.charge(self.cpu.verify);
                if self.me.is_some() {
                    self.add_to_pool(tx);
                    self.ensure_armed(now, out);
                }
            }
            PoaMsg::Block(b) => {
                if !self.receive_block(now, b, out) {
                    self.request_sync(from, out);
                }
            }
            PoaMsg::Fetch { from: h } => {
                let blocks = self.serve(h);
                out.push(Action::Send {
                    to: from,
                    msg: PoaMsg::Blocks(blocks.into()),
                });
            }
            PoaMsg::Blocks(blocks) => {
                self.sync_pending = false;
                let mut linked = true;
                for b in blocks.iter() {
                    if !self.receive_block(now, b.clone(), out) {
                        linked = false;
                        break;
                    }
                }
                if linked && blocks.len() == MAX_SYNC {
                    let next = blocks.last().expect("non-empty").height + 1;
                    self.sync_pending = true;
                    self.sync_attempts = 0;
                    self.send_fetch(from, next, out);
                }
                self.ensure_armed(now, out);
            }
        }
    }

    fn handle_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<PoaMsg>) {
        if (token & !SYNC_FLAG) >> EPOCH_SHIFT != self.epoch {
            return; // armed before a crash
        }
        if token & SYNC_FLAG != 0 {
            if !self.sync_pending || token & LOW_MASK != self.sync_gen {
                return;
            }
            self.sync_attempts += 1;
            self.sync_pending = false;
            if self.sync_attempts < self.authorities.len()
                && let Some(peer) = self.next_sync_peer()
            {
                let attempts = self.sync_attempts;
                self.request_sync(peer, out);
                self.sync_attempts = attempts;
            }
            self.ensure_armed(now, out);
            return;
        }
        self.armed = false;
        let slot = token & LOW_MASK;
        let Some(i) = self.me else { return };
        let in_turn = self.rank(i, slot) == 0;
        // A backup stands in only if it already had work when the slot started (else the
        // in-turn authority had none either and rightly sealed nothing).
        let had_work = in_turn || self.busy_since <= slot * self.period;
        if !self.sync_pending && had_work && !self.idle() && self.head.slot < slot {
            self.seal(now, slot, in_turn, out);
        }
        self.ensure_armed(now, out);
    }
}

impl Replica for PoaReplica {
    type Msg = PoaMsg;

    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<PoaMsg>) {
        let was_idle = self.idle();
        self.handle_request(now, tx, out);
        self.note_busy(now, was_idle);
    }

    fn on_message(&mut self, now: SimTime, from: NodeId, msg: PoaMsg, out: &mut Outbox<PoaMsg>) {
        let was_idle = self.idle();
        self.handle_message(now, from, msg, out);
        self.note_busy(now, was_idle);
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<PoaMsg>) {
        let was_idle = self.idle();
        self.handle_timer(now, token, out);
        self.note_busy(now, was_idle);
    }

    fn on_recover(&mut self, now: SimTime, out: &mut Outbox<PoaMsg>) {
        self.epoch = (self.epoch + 1) & (u64::MAX >> (EPOCH_SHIFT + 1));
        self.armed = false;
        self.sync_pending = false;
        let n = self.authorities.len();
        if n > 1 || self.me.is_none() {
            self.sync_peer = self.rng.random_range(0..n);
            if let Some(peer) = self.next_sync_peer() {
                self.request_sync(peer, out);
            }
        }
        self.ensure_armed(now, out);
    }

    fn msg_bytes(msg: &PoaMsg) -> u32 {
        // Header fields + one signature (≈72 bytes); a block header ≈200 bytes.
        let block = |b: &Block| 200 + b.batch.bytes.min(u64::from(u32::MAX / 4)) as u32;
        match msg {
            PoaMsg::Gossip(tx) => tx.size + 72,
            PoaMsg::Block(b) => block(b),
            PoaMsg::Fetch { .. } => 80,
            PoaMsg::Blocks(bs) => bs.iter().fold(80u32, |acc, b| acc.saturating_add(block(b))),
        }
    }

    fn msg_kind(msg: &PoaMsg) -> usize {
        match msg {
            PoaMsg::Gossip(_) => 0,
            PoaMsg::Block(_) => 1,
            PoaMsg::Fetch { .. } => 2,
            PoaMsg::Blocks(_) => 3,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        crate::names::POA_KINDS
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn counters(&self) -> ProtocolCounters {
        ProtocolCounters {
            view_changes: self.out_of_turn,
            elections: 0,
            forks: self.forks,
        }
    }

    /// An equivocating sealer sends, for its own block, a different (empty) block of the same
    /// slot and parent to the second half of the nodes.
    fn equivocate(&self, msg: &PoaMsg) -> Option<PoaMsg> {
        let PoaMsg::Block(b) = msg else { return None };
        if b.sealer != self.id {
            return None;
        }
        let batch = Rc::new(Batch::new(b.height, Vec::new()));
        let nonce = b.nonce + 1;
        let hash = Block::compute_hash(b.parent, b.height, b.slot, b.sealer, b.in_turn, nonce, batch.digest);
        Some(PoaMsg::Block(Rc::new(Block {
            height: b.height,
            slot: b.slot,
            sealer: b.sealer,
            in_turn: b.in_turn,
            parent: b.parent,
            hash,
            td: b.td,
            nonce,
            batch,
        })))
    }

    fn carried_tx(msg: &PoaMsg) -> Option<&TxEntry> {
        match msg {
            PoaMsg::Gossip(tx) => Some(tx),
            _ => None,
        }
    }
}

/// What every replica of one deployment shares.
struct Params {
    authorities: Rc<[NodeId]>,
    period: SimTime,
    slot_timeout: SimTime,
    cpu: CpuCosts,
    max_tx: usize,
    max_bytes: u64,
    accounts: usize,
    opening: i64,
}

impl PoaReplica {
    fn new(id: NodeId, p: &Params, rng: SimRng) -> PoaReplica {
        let n = p.authorities.len();
        let period = p.period.max(1);
        let slot_timeout = p.slot_timeout.max(1);
        let max_rank = if n > 1 {
            ((period - 1) / slot_timeout).clamp(1, n as u64 - 1)
        } else {
            0
        };
        let blocks_for = |t: SimTime, min: u64| t.div_ceil(period).max(min) as usize;
        let dedupe = blocks_for(DEDUPE_TIME, 16);
        let retain = blocks_for(RETAIN_TIME, 64).max(dedupe + 1);
        let genesis = Rc::new(Block::genesis());
        PoaReplica {
            id,
            me: p.authorities.binary_search(&id).ok(),
            authorities: p.authorities.clone(),
            quorum: quorum(n),
            period,
            slot_timeout,
            max_rank,
            cpu: p.cpu,
            max_tx: p.max_tx.max(1),
            max_bytes: p.max_bytes,
            retain,
            dedupe,
            final_block: genesis.clone(),
            head: genesis,
            tree: BTreeMap::new(),
            history: VecDeque::new(),
            pool: BTreeMap::new(),
            chain_ids: BTreeSet::new(),
            epoch: 0,
            armed: false,
            busy_since: 0,
            sync_pending: false,
            sync_attempts: 0,
            sync_gen: 0,
            sync_peer: 0,
            seen: vec![false; n],
            forks: 0,
            out_of_turn: 0,
            rng,
            ledger: Ledger::new(p.accounts, p.opening),
        }
    }
}

/// Majority of `n` authorities: distinct sealers that make a block final, and matching
/// replies a client needs.
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// Deploy proof-of-authority: every node of the scenario runs a validating replica (block
/// broadcasts go to all of them); the authorities seal. Clients at an authority send to it,
/// others to `authorities[node mod n]`; a client needs a majority of authorities' replies.
pub fn deploy(scenario: &Scenario, spec: &PoaSpec, replication: u32) -> Deployment<PoaReplica> {
    let nodes = scenario.topology.nodes.len();
    let authorities: Rc<[NodeId]> = spec.authorities.clone().into();
    let n = authorities.len();
    let q = quorum(n);
    let params = Params {
        authorities: authorities.clone(),
        period: spec.period,
        slot_timeout: spec.slot_timeout,
        cpu: scenario.cpu,
        max_tx: spec.batch.max_tx as usize,
        max_bytes: spec.batch.max_bytes,
        accounts: nodes,
        opening: scenario.initial_balance_minor,
    };
    let replicas = (0..nodes as NodeId)
        .map(|id| {
            let rng = stream_rng(scenario.seed, replication, StreamLabel("poa"), id);
            (id, PoaReplica::new(id, &params, rng))
        })
        .collect();
    Deployment {
        replicas,
        members: (0..nodes as NodeId).collect(),
        core_overrides: vec![],
        replies_needed: q as u16,
        entry: (0..nodes as NodeId)
            .map(|i| match authorities.binary_search(&i) {
                Ok(_) => i,
                Err(_) => authorities[i as usize % n],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NS_PER_MS;

    const P: SimTime = 100 * NS_PER_MS;

    /// Authorities 0..5, full node 5, clients 6 and 7.
    fn params() -> Params {
        Params {
            authorities: (0..5).collect::<Vec<NodeId>>().into(),
            period: P,
            slot_timeout: P / 2,
            cpu: CpuCosts::ZERO,
            max_tx: 100,
            max_bytes: 1 << 20,
            accounts: 8,
            opening: 1_000,
        }
    }

    fn replica(id: NodeId) -> PoaReplica {
        PoaReplica::new(id, &params(), stream_rng(1, 0, StreamLabel("poa-test"), id))
    }

    fn tx(id: u64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 5,
            from: 6,
            to: 7,
            submitter: 6,
            size: 100,
            flow: 0,
        }
    }

    /// A block sealed by `sealer` for `slot` on `parent`.
    fn block(parent: &Block, slot: u64, sealer: NodeId, txs: Vec<TxEntry>) -> Rc<Block> {
        let in_turn = slot % 5 == u64::from(sealer);
        let height = parent.height + 1;
        let batch = Rc::new(Batch::new(height, txs));
        Rc::new(Block {
            height,
            slot,
            sealer,
            in_turn,
            parent: parent.hash,
            hash: Block::compute_hash(parent.hash, height, slot, sealer, in_turn, 0, batch.digest),
            td: parent.td + Block::difficulty(in_turn),
            nonce: 0,
            batch,
        })
    }

    fn commits(out: &Outbox<PoaMsg>) -> Vec<u64> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::Committed { height, .. } => Some(*height),
                _ => None,
            })
            .collect()
    }

    fn deliver(r: &mut PoaReplica, from: NodeId, b: &Rc<Block>, out: &mut Outbox<PoaMsg>) {
        let now = b.slot * P + P / 2;
        r.on_message(now, from, PoaMsg::Block(b.clone()), out);
    }

    #[test]
    fn a_block_is_final_after_a_majority_of_distinct_sealers() {
        let mut full = replica(5);
        let mut out = Outbox::default();
        let g = Block::genesis();
        let b1 = block(&g, 1, 1, vec![tx(1)]);
        let b2 = block(&b1, 2, 2, vec![]);
        let b3 = block(&b2, 3, 3, vec![]);
        deliver(&mut full, 1, &b1, &mut out);
        deliver(&mut full, 2, &b2, &mut out);
        assert!(
            commits(&out).is_empty(),
            "two distinct sealers of five are not a majority"
        );
        deliver(&mut full, 3, &b3, &mut out);
        assert_eq!(commits(&out), vec![1], "three distinct sealers finalize b1 only");
        assert_eq!(full.ledger().height(), 1);
        assert!(
            !out.actions.iter().any(|a| matches!(a, Action::Reply { .. })),
            "a full node does not reply"
        );
    }

    #[test]
    fn a_minority_of_sealers_never_finalizes() {
        let mut full = replica(5);
        let mut out = Outbox::default();
        // Authorities 3 and 4 alone (a partitioned minority) seal in turn and out of turn.
        let mut tip = Rc::new(Block::genesis());
        for slot in 1..40u64 {
            let sealer = if slot % 5 == 4 { 4 } else { 3 };
            if slot % 5 == 0 {
                continue;
            }
            let b = block(&tip, slot, sealer, vec![tx(slot)]);
            deliver(&mut full, sealer, &b, &mut out);
            tip = b;
        }
        assert_eq!(full.head.hash, tip.hash, "the minority chain is followed");
        assert!(commits(&out).is_empty(), "but nothing is final");
        assert_eq!(
            full.counters().view_changes,
            16,
            "out-of-turn blocks (slots 1 and 2 mod 5) are counted"
        );
    }

    #[test]
    fn an_offline_in_turn_authority_is_replaced_after_the_slot_timeout() {
        // Authority 2 is rank-1 backup of slot 1 and in turn in slot 2.
        let mut a2 = replica(2);
        let mut out = Outbox::default();
        a2.on_request(10, tx(1), &mut out);
        let gossips = out
            .actions
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::Send {
                        msg: PoaMsg::Gossip(_),
                        ..
                    }
                )
            })
            .count();
        assert_eq!(gossips, 4, "the request is gossiped to the four other authorities");
        let Some(Action::SetTimer { after, token }) = out.actions.last().cloned() else {
            panic!("{:?}", out.actions)
        };
        assert_eq!(after + 10, P + P / 2, "backup duty of slot 1 at P + slot_timeout");
        out.clear();
        a2.on_timer(P + P / 2, token, &mut out);
        let Some(Action::Broadcast { msg: PoaMsg::Block(b) }) = out.actions.first() else {
            panic!("{:?}", out.actions)
        };
        assert_eq!((b.slot, b.sealer, b.in_turn, b.batch.txs.len()), (1, 2, false, 1));
        assert_eq!(a2.counters().view_changes, 1);
        // Its next duty is its own slot 2, at 2P.
        let Some(Action::SetTimer { after, .. }) = out.actions.last() else {
            panic!()
        };
        assert_eq!(*after, P / 2);
    }

    #[test]
    fn ties_prefer_the_in_turn_block_and_reorgs_are_counted() {
        let g = Block::genesis();
        let late_in_turn = block(&g, 1, 1, vec![tx(1)]);
        let backup = block(&g, 1, 2, vec![tx(2)]);
        assert!(!backup.in_turn);
        for order in [[&backup, &late_in_turn], [&late_in_turn, &backup]] {
            let mut r = replica(4);
            let mut out = Outbox::default();
            for b in order {
                deliver(&mut r, b.sealer, b, &mut out);
            }
            assert_eq!(r.head.hash, late_in_turn.hash, "difficulty 2 beats 1 at equal height");
            let reorged = u64::from(std::ptr::eq(order[0], &backup));
            assert_eq!(r.counters().forks, reorged);
            // The transaction of the orphaned block went back to the pool.
            assert!(r.pool.contains_key(&2) || reorged == 0);
            assert!(!r.pool.contains_key(&1) || reorged == 0);
        }
    }

    #[test]
    fn a_final_block_is_never_reorganised_away() {
        let mut r = replica(5);
        let mut out = Outbox::default();
        let g = Block::genesis();
        let b1 = block(&g, 1, 1, vec![tx(1)]);
        let b2 = block(&b1, 2, 2, vec![]);
        let b3 = block(&b2, 3, 3, vec![]);
        for b in [&b1, &b2, &b3] {
            deliver(&mut r, b.sealer, b, &mut out);
        }
        assert_eq!(r.final_block.hash, b1.hash);
        // A longer competing chain from genesis that skips b1: its first block is at the final
        // height (ignored), the others cannot link to anything above the final block.
        let mut tip = Rc::new(Block::genesis());
        for slot in 4..12u64 {
            let b = block(&tip, slot, (slot % 5) as NodeId, vec![]);
            let linked = r.receive_block(slot * P, b.clone(), &mut out);
            assert_eq!(linked, slot == 4, "slot {slot}");
            tip = b;
        }
        assert_eq!(r.head.hash, b3.hash);
        assert_eq!(r.ledger().height(), 1);
    }

    #[test]
    fn equivocation_gives_a_conflicting_block_of_the_same_slot() {
        let mut a1 = replica(1);
        let mut out = Outbox::default();
        a1.on_request(0, tx(1), &mut out);
        out.clear();
        a1.on_timer(P, 1, &mut out);
        let Some(Action::Broadcast { msg }) = out.actions.first().cloned() else {
            panic!("{:?}", out.actions)
        };
        let Some(PoaMsg::Block(alt)) = a1.equivocate(&msg) else {
            panic!()
        };
        let PoaMsg::Block(orig) = msg else { unreachable!() };
        assert_eq!(
            (alt.slot, alt.height, alt.parent),
            (orig.slot, orig.height, orig.parent)
        );
        assert_ne!(alt.hash, orig.hash);
        // Both versions validate at a full node; the one seen first stays (same difficulty,
        // lower hash wins only when it arrives as the better tie).
        let mut r = replica(5);
        let mut out = Outbox::default();
        deliver(&mut r, 1, &orig, &mut out);
        deliver(&mut r, 1, &alt, &mut out);
        let lower = orig.hash.min(alt.hash);
        assert_eq!(r.head.hash, lower);
        assert!(a1.equivocate(&PoaMsg::Fetch { from: 1 }).is_none());
    }

    #[test]
    fn a_recovered_replica_fetches_missing_blocks_and_catches_up() {
        let g = Block::genesis();
        let mut peer = replica(1);
        let mut out = Outbox::default();
        let mut tip = Rc::new(g);
        let mut chain = Vec::new();
        for slot in 1..=8u64 {
            let b = block(&tip, slot, (slot % 5) as NodeId, vec![tx(slot)]);
            if b.sealer != 1 {
                deliver(&mut peer, b.sealer, &b, &mut out);
            } else {
                peer.tree.insert(b.hash, b.clone());
                peer.set_head(slot * P, b.clone(), &mut out);
            }
            chain.push(b.clone());
            tip = b;
        }
        assert_eq!(peer.ledger().height(), 6, "8 blocks, the last two not yet final");
        let mut r = replica(3);
        out.clear();
        r.on_recover(9 * P, &mut out);
        let Some((to, from)) = out.actions.iter().find_map(|a| match a {
            Action::Send {
                to,
                msg: PoaMsg::Fetch { from },
            } => Some((*to, *from)),
            _ => None,
        }) else {
            panic!("{:?}", out.actions)
        };
        assert_ne!(to, 3);
        assert_eq!(from, 1);
        out.clear();
        peer.on_message(9 * P, 3, PoaMsg::Fetch { from }, &mut out);
        let Some(Action::Send {
            msg: PoaMsg::Blocks(bs),
            ..
        }) = out.actions.first().cloned()
        else {
            panic!()
        };
        assert_eq!(bs.len(), 8);
        out.clear();
        r.on_message(9 * P, 1, PoaMsg::Blocks(bs), &mut out);
        assert_eq!(commits(&out), (1..=6).collect::<Vec<_>>());
        assert_eq!(r.ledger().chain_digest(), peer.ledger().chain_digest());
        assert_eq!(r.head.hash, tip.hash);
        assert!(r.pool.is_empty(), "nothing pending: every tx is on the chain");
        // An orphan block (unknown parent) triggers a fetch from its sender.
        let mut lagging = replica(4);
        out.clear();
        lagging.on_message(9 * P, 2, PoaMsg::Block(chain[7].clone()), &mut out);
        assert!(matches!(
            out.actions[..],
            [
                Action::Send {
                    to: 2,
                    msg: PoaMsg::Fetch { from: 1 }
                },
                Action::SetTimer { .. }
            ]
        ));
    }

    #[test]
    fn sealing_respects_batch_limits_and_dedupes_by_id() {
        let mut p = params();
        p.max_tx = 2;
        let mut a1 = PoaReplica::new(1, &p, stream_rng(1, 0, StreamLabel("t"), 1));
        let mut out = Outbox::default();
        for i in 0..3 {
            a1.on_message(0, 0, PoaMsg::Gossip(tx(i)), &mut out);
        }
        a1.on_message(0, 0, PoaMsg::Gossip(tx(0)), &mut out);
        assert_eq!(a1.pool.len(), 3);
        out.clear();
        a1.on_timer(P, 1, &mut out);
        assert_eq!(a1.head.batch.txs.len(), 2, "max_tx = 2");
        a1.on_message(P, 0, PoaMsg::Gossip(tx(0)), &mut out);
        assert_eq!(a1.pool.len(), 1, "a late gossip of a sealed tx is dropped");
    }
}
