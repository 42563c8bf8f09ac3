//! Proof-of-work (Nakamoto consensus), the public-chain contrast: every node keeps a block
//! tree and follows the longest chain (ties: the block seen first); miners find blocks as
//! independent Poisson processes whose rates are their shares of the hash power; blocks
//! flood over a random peer graph; a block — and its transactions — is final once `k`
//! (`confirmations`) blocks are on top of it on the node's best chain.
//!
//! **Mining.** Miner `i` with share `s_i` finds its next block after an exponential time of
//! mean `block_interval / s_i`, re-drawn whenever its head changes (memoryless, so re-drawing
//! is exact). Each draw is a timer with a fresh token; a timer whose token is not the current
//! attempt is stale and ignored.
//!
//! **Relay** (Bitcoin Core / SimBlock style). A node that connects a new block announces
//! `INV` to every neighbour except the one it got the block from; a neighbour without the
//! block asks the first announcer with `GETDATA`; the holder answers with the full `BLOCK`, or,
//! when both ends use compact relay, a `CMPCT` block (`compact_block_bytes`). The receiver
//! fails to reconstruct a compact block with probability `compact_failure` and then asks
//! `GETBLOCKTXN`, answered by the full `BLOCK` (or, with a `compact_refill` distribution,
//! by `BLOCKTXN`, a fraction of the block). Every node charges `block_processing` (plus
//! `hash(bytes)` and one `verify` per transaction) before relaying — except with
//! `relay_timing = "simblock"`, where the processing is added to every block upload and
//! uploads are stop-and-wait per sender ([`Replica::msg_lane`], docs/protocols/pow.md). A block whose parent is
//! unknown waits in an orphan pool while the parent is requested from the sender. Stale blocks
//! flood too (Bitcoin Core would announce only new tips; the extra cost is the stale rate).
//!
//! **Message delays.** With one-way delay δ, no bandwidth limit and zero CPU, a block reaches
//! a neighbour of its holder after 3δ (INV, GETDATA, BLOCK), so a node `h` hops from the
//! miner has it after 3hδ; on a full mesh every node has it after 3δ. A transaction
//! submitted at time t is final at its node after: the wait for the next block found after it
//! reaches the miners (mean T, memoryless) + k further blocks (mean kT) + the propagation of
//! the k-th block: mean ≈ (k + 1)·T + 3hδ.
//!
//! **Messages per block** (no forks, no compact failures): Σ deg − (n − 1) = 2E − (n − 1)
//! INVs over a graph of E links, n − 1 GETDATAs and n − 1 BLOCK/CMPCT (plus, per compact
//! failure, one GETBLOCKTXN and one BLOCK). Transactions are pushed to every neighbour once
//! (2E − (n − 1) per transaction).
//!
//! **Metrics.** Block propagation (time for 50 % / 90 % of the nodes to receive each block,
//! median over blocks) and the stale rate are kept in a tracker shared by the replicas of one
//! run (a write-only metrics side channel: it never influences a replica's behaviour), and
//! reported through [`Replica::chain_metrics`].
//!
//! Not implemented: difficulty adjustment (the interval is the configured mean), transaction
//! fees and priorities (blocks take pending transactions in id order), selfish mining, and
//! initial block download for a node more than [`RETAIN`] blocks behind after a crash.

use super::{
    Action, Batch, ChainMetrics, Deployment, NoopFilter, NoopWindow, Outbox, ProtocolCounters, Replica, Reply,
};
use crate::engine::{NS_PER_S, SimRng, SimTime, StreamLabel, stream_rng};
use crate::ledger::{Ledger, TxEntry};
use crate::net::Lane;
use crate::scenario::{
    BatchSpec, BlockSize, ControlLane, CpuCosts, DegreeCap, HashPowerDist, NodeId, PeerLinks, PiecewiseDist, PowSpec,
    PropagationAt, Refill, RelayTiming, Rerequest, Scenario,
};
use rand::RngExt;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// Header bytes of a block (Bitcoin: 80).
pub const HEADER_BYTES: u64 = 80;
/// Bytes of an INV / GETDATA / GETBLOCKTXN message (type + 32-byte hash).
pub const ANNOUNCE_BYTES: u32 = 36;
/// Final blocks kept (to serve peers that lag) below the final height.
pub const RETAIN: u64 = 16;
/// A block requested this long ago without an answer may be requested from another announcer
/// (the default of `inv_timeout`).
pub const REREQUEST_AFTER: SimTime = 60 * NS_PER_S;
/// Tag of a block-request timer's token (`rerequest = "timer"`; the low bits are the block
/// id). Mining attempt tokens count up from 1 and never reach it.
const REREQUEST_TIMER: u64 = 1 << 63;
/// Block entries of `PowReplica::recent`.
const RECENT: usize = 4;
/// Transaction entries of `PowReplica::recent`.
const RECENT_TXS: usize = 8;

/// SimBlock adds 10 ms to the latency of every INV, GETDATA and GETBLOCKTXN
/// (`AbstractMessageTask.getInterval`).
pub const SIMBLOCK_CONTROL_DELAY: SimTime = 10 * crate::engine::NS_PER_MS;

/// A mined block, shared by reference among all nodes.
#[derive(Debug)]
pub struct Block {
    /// Unique id: `(miner + 1) << 32 | miner's sequence`; 0 is genesis.
    pub id: u64,
    /// Parent's id.
    pub parent: u64,
    /// Height (genesis 0).
    pub height: u64,
    /// Miner.
    pub miner: NodeId,
    /// When it was found.
    pub mined_at: SimTime,
    /// Full wire size in bytes.
    pub bytes: u64,
    /// The transactions.
    pub batch: Rc<Batch>,
}

/// Proof-of-work messages.
#[derive(Debug, Clone)]
pub enum PowMsg {
    /// A transaction pushed to a neighbour (shared by every copy of the flood, so that a
    /// message, and the event carrying it, stays 24 bytes).
    Tx(Rc<TxEntry>),
    /// "I have block `id` at `height`."
    Inv {
        /// Block id.
        id: u64,
        /// Its height (the block's own: the receiver relies on it, see `has_block`).
        height: u64,
    },
    /// "Send me block `id`."
    GetData {
        /// Block id.
        id: u64,
    },
    /// A full block.
    Block(Rc<Block>),
    /// A compact block of `bytes` bytes.
    Cmpct {
        /// The block (reconstructed from the mempool unless it fails).
        block: Rc<Block>,
        /// Wire size.
        bytes: u32,
    },
    /// Compact reconstruction failed: "send me the full block `id`".
    GetBlockTxn {
        /// Block id.
        id: u64,
    },
    /// The answer to `GETBLOCKTXN` when a refill distribution is configured: the missing
    /// part of the block (`bytes`), after which the receiver has the full block.
    BlockTxn {
        /// The block.
        block: Rc<Block>,
        /// Wire size.
        bytes: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct Prop {
    mined_at: SimTime,
    received: u32,
    t50: Option<SimTime>,
    t90: Option<SimTime>,
}

/// One height that some miner has not reached yet, in [`RaceEstimator`].
#[derive(Debug, Default)]
struct OpenHeight {
    /// Miners (positive share) whose tip is still below this height.
    remaining: u32,
    /// The blocks found at this height: (when found, Σ share × exposure so far in ns).
    blocks: Vec<(SimTime, f64)>,
}

/// Streaming conditional-expectation (Rao–Blackwell) estimator of the stale rate.
///
/// For a block `b` of height `h` found at `t0`, every miner `j` with share `s_j` keeps mining
/// a block of height ≤ `h` — a competitor of `b` — until its tip first reaches height `h`, at
/// `a_j` (the moment its handler adopts `b` or any block of height ≥ `h`: in this model a
/// miner abandons its old attempt when the handler runs, before the validation delay, see
/// [`PowReplica::switch_to`]). Mining being Poisson, the probability that some miner finds a
/// competitor meanwhile is `p_b = 1 − exp(−Σ_j s_j·max(0, a_j − t0) / T)`; the estimate is the
/// mean of `p_b` over blocks whose height every miner has reached. It has no binomial noise
/// (its variance is that of the propagation, not of the rare race), so a few hundred blocks
/// pin the rate where counting needs thousands.
///
/// Approximations: each race leaves one stale block (three-way races count once); windows are
/// measured on the realized run, so a competitor that was found cuts the windows of the
/// miners that adopt it (second order in the rate); a miner still below `h − 1` counts as
/// racing `b` (its block would race `b`'s ancestor instead). All are O(rate²): good at a few
/// percent, not at tens of percent. A miner that is down keeps its window open (biased upward
/// under miner crashes). Heights still open at the end of the run are not counted.
///
/// Memory: one tip height per node, and one [`OpenHeight`] per height some miner has not
/// reached (in a fault-free run, the heights in flight), each O(blocks at that height). A
/// miner's tip change costs O(log H + heights crossed × blocks at them), H the open heights;
/// the first block at a height O(miners).
#[derive(Debug, Default)]
struct RaceEstimator {
    /// Block interval T, ns.
    interval_ns: f64,
    /// Share of the hash power per node (0 for relay-only nodes).
    shares: Vec<f64>,
    /// Tip height per node (kept for miners only).
    tips: Vec<u64>,
    /// Heights some miner has not reached yet.
    open: BTreeMap<u64, OpenHeight>,
    /// Σ p_b, Σ p_b² and the count over closed blocks.
    sum: f64,
    sum_sq: f64,
    count: u64,
}

impl RaceEstimator {
    /// A block of height `height` was found at `at`.
    /// O(miners) for the first block at a height, O(log H) for a rival.
    fn mined(&mut self, height: u64, at: SimTime) {
        let (shares, tips) = (&self.shares, &self.tips);
        self.open
            .entry(height)
            .or_insert_with(|| OpenHeight {
                // Miners already at or above `height` (possible for a late block) race no block
                // of it.
                remaining: shares
                    .iter()
                    .zip(tips)
                    .filter(|&(&s, &tip)| s > 0.0 && tip < height)
                    .count() as u32,
                blocks: Vec::new(),
            })
            .blocks
            .push((at, 0.0));
    }

    /// Miner `node`'s tip rose from height `from` to height `to` at `at`.
    fn tip_rose(&mut self, node: NodeId, from: u64, to: u64, at: SimTime) {
        let share = self.shares.get(node as usize).copied().unwrap_or(0.0);
        if share <= 0.0 || to <= from {
            return;
        }
        self.tips[node as usize] = to;
        let mut closed = Vec::new();
        for (&h, open) in self.open.range_mut(from + 1..=to) {
            for (t0, exposure) in open.blocks.iter_mut() {
                *exposure += share * at.saturating_sub(*t0) as f64;
            }
            open.remaining = open.remaining.saturating_sub(1);
            if open.remaining == 0 {
                closed.push(h);
            }
        }
        for h in closed {
            if let Some(open) = self.open.remove(&h) {
                for (_, exposure) in open.blocks {
                    let p = -(-exposure / self.interval_ns).exp_m1();
                    self.sum += p;
                    self.sum_sq += p * p;
                    self.count += 1;
                }
            }
        }
    }
}

/// Run-wide block statistics, shared by the replicas of one run (metrics only).
#[derive(Debug, Default)]
pub struct Tracker {
    nodes: u32,
    props: BTreeMap<u64, Prop>,
    mined_per_height: Vec<u32>,
    max_final: u64,
    /// Per node: (sum of the propagation times of the blocks it received, ns; how many).
    per_node: Vec<(u64, u32)>,
    /// The expected stale rate from the miners' exposure windows.
    races: RaceEstimator,
}

impl Tracker {
    /// A tracker for `nodes` nodes whose hash-power shares are `shares` (summing to 1, or all
    /// 0), the block interval `interval`.
    fn new(nodes: u32, shares: Vec<f64>, interval: SimTime) -> Self {
        Tracker {
            nodes,
            races: RaceEstimator {
                interval_ns: interval as f64,
                tips: vec![0; shares.len()],
                shares,
                ..RaceEstimator::default()
            },
            ..Tracker::default()
        }
    }

    /// Miner `node`'s tip rose from height `from` to `to` at `at` (it stops mining below `to`).
    fn tip_rose(&mut self, node: NodeId, from: u64, to: u64, at: SimTime) {
        self.races.tip_rose(node, from, to, at);
    }

    fn mined(&mut self, b: &Block) {
        self.races.mined(b.height, b.mined_at);
        let h = b.height as usize;
        if self.mined_per_height.len() <= h {
            self.mined_per_height.resize(h + 1, 0);
        }
        self.mined_per_height[h] += 1;
        self.props.insert(
            b.id,
            Prop {
                mined_at: b.mined_at,
                received: 0,
                t50: None,
                t90: None,
            },
        );
        self.received(b.id, b.mined_at);
    }

    /// Node `node` has block `id` (received from a peer, not mined) at `at`.
    fn node_received(&mut self, node: NodeId, id: u64, at: SimTime) {
        if let Some(p) = self.props.get(&id) {
            let d = at.saturating_sub(p.mined_at);
            let i = node as usize;
            if self.per_node.len() <= i {
                self.per_node.resize(i + 1, (0, 0));
            }
            self.per_node[i].0 += d;
            self.per_node[i].1 += 1;
        }
        self.received(id, at);
    }

    fn received(&mut self, id: u64, at: SimTime) {
        let n = self.nodes;
        if let Some(p) = self.props.get_mut(&id) {
            p.received += 1;
            if p.t50.is_none() && u64::from(p.received) * 2 >= u64::from(n) {
                p.t50 = Some(at - p.mined_at);
            }
            if p.t90.is_none() && u64::from(p.received) * 10 >= u64::from(n) * 9 {
                p.t90 = Some(at - p.mined_at);
            }
        }
    }

    /// The statistics so far.
    pub fn metrics(&self) -> ChainMetrics {
        let median = |mut v: Vec<SimTime>| -> f64 {
            if v.is_empty() {
                return f64::NAN;
            }
            v.sort_unstable();
            let m = v.len();
            let x = if m % 2 == 1 {
                v[m / 2] as f64
            } else {
                (v[m / 2 - 1] as f64 + v[m / 2] as f64) / 2.0
            };
            x / 1e6
        };
        let t50: Vec<SimTime> = self
            .props
            .values()
            .filter(|p| p.t90.is_some())
            .filter_map(|p| p.t50)
            .collect();
        let t90: Vec<SimTime> = self.props.values().filter_map(|p| p.t90).collect();
        // Gervais et al.'s statistic: each node's mean over the blocks it received, then the
        // median (element size / 2), 90th percentile (element ⌊0.9 size⌋) and mean over nodes.
        let mut node_means: Vec<f64> = self
            .per_node
            .iter()
            .filter(|&&(_, k)| k > 0)
            .map(|&(sum, k)| sum as f64 / f64::from(k) / 1e6)
            .collect();
        node_means.sort_unstable_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if node_means.is_empty() {
                f64::NAN
            } else {
                node_means[((node_means.len() as f64 * q) as usize).min(node_means.len() - 1)]
            }
        };
        let node_mean_p50_ms = at(0.5);
        let node_mean_p90_ms = at(0.9);
        let node_mean_mean_ms = if node_means.is_empty() {
            f64::NAN
        } else {
            node_means.iter().sum::<f64>() / node_means.len() as f64
        };
        let h = (self.max_final as usize + 1).min(self.mined_per_height.len());
        let mined: u64 = self.mined_per_height[..h].iter().skip(1).map(|&c| u64::from(c)).sum();
        let stale = mined.saturating_sub(h.saturating_sub(1) as u64);
        ChainMetrics {
            blocks: self.props.len() as u64,
            propagated: t90.len() as u64,
            propagation_p50_ms: median(t50),
            propagation_p90_ms: median(t90),
            node_mean_p50_ms,
            node_mean_p90_ms,
            node_mean_mean_ms,
            stale_rate: if mined > 0 {
                stale as f64 / mined as f64
            } else {
                f64::NAN
            },
            stale,
            stale_expected_sum: self.races.sum,
            stale_expected_sum_sq: self.races.sum_sq,
            stale_expected_blocks: self.races.count,
        }
    }
}

/// One node's record in [`RecentBlocks`]: the last [`RECENT`] blocks it stored or requested,
/// `(ids[k], at[k])` with `at = SimTime::MAX` for a stored block, in the first cache line;
/// the last [`RECENT_TXS`] transactions it added to its mempool, in the second. `u64::MAX`
/// ids are empty. Exactly two cache lines (an INV touches the first, a transaction the
/// second).
#[repr(C, align(64))]
#[derive(Debug)]
struct RecentLine {
    ids: [Cell<u64>; RECENT],
    at: [Cell<SimTime>; RECENT],
    /// Transactions the node holds (in its mempool or on its best chain above the final
    /// block): a sufficient summary — every id here is held; a held id may be missing.
    txs: [Cell<u64>; RECENT_TXS],
}

/// A node's latest [`RecentLine`] block entry, duplicated in a dense table (16 bytes).
#[derive(Debug)]
struct LatestEntry {
    id: Cell<u64>,
    at: Cell<SimTime>,
}

/// An empty slot of a [`RecentLine`].
const EMPTY: u64 = u64::MAX;

/// The no-op test for INV and transaction deliveries of all replicas of one run, as a
/// dense side table (struct of arrays indexed by node): one 128-byte `RecentLine`, a
/// 16-byte copy of its latest block entry and the final height per node. The simulator
/// asks it for every INV sent and every message delivered (see [`Replica::noop_filter`]);
/// reading 16 bytes (an INV for the node's latest block) or one 64-byte line (+ 8 bytes)
/// instead of the receiving replica (hundreds of bytes and a `BTreeMap` per node) keeps the
/// check in cache at 6,000 nodes.
/// Memory: 152 bytes per node; lookup O(`RECENT`) for a block, O(`RECENT_TXS`) for a
/// transaction.
#[derive(Debug)]
pub struct RecentBlocks {
    lines: Vec<RecentLine>,
    /// Per node, a copy of the line entry written last (`remember`): almost every INV a
    /// node receives is for the block it stored or requested last, answered from this
    /// 96 kB table (6,000 nodes) instead of the 768 kB of lines.
    latest: Vec<LatestEntry>,
    final_height: Vec<Cell<u64>>,
    /// No CPU is ever charged on any node (all costs zero, no receive-side processing):
    /// jobs never wait, so no-op deliveries may be skipped.
    cpu_free: bool,
    /// `inv_timeout`: a request older than this may be repeated.
    rerequest_after: SimTime,
    /// `rerequest = "timer"`: an INV for a requested block is not a no-op (its sender is
    /// noted as the next announcer to ask).
    timer_rerequest: bool,
}

impl RecentBlocks {
    fn new(n: usize, cpu_free: bool, rerequest_after: SimTime, timer_rerequest: bool) -> Self {
        Self {
            lines: (0..n)
                .map(|_| RecentLine {
                    ids: std::array::from_fn(|_| Cell::new(EMPTY)),
                    at: std::array::from_fn(|_| Cell::new(0)),
                    txs: std::array::from_fn(|_| Cell::new(EMPTY)),
                })
                .collect(),
            latest: (0..n)
                .map(|_| LatestEntry {
                    id: Cell::new(EMPTY),
                    at: Cell::new(0),
                })
                .collect(),
            final_height: (0..n).map(|_| Cell::new(0)).collect(),
            cpu_free,
            rerequest_after,
            timer_rerequest,
        }
    }

    /// Whether node `to` has stored block `id` (according to its recent line; a stored
    /// block leaves the node's `blocks` only when its height is final).
    #[inline]
    fn stored(&self, to: NodeId, id: u64) -> bool {
        self.entry(to, id) == Some(SimTime::MAX)
    }

    /// The `at` of block `id` in node `to`'s recent line (`SimTime::MAX`: stored; else
    /// requested then), if it is there: from `latest` when `id` is the node's latest entry
    /// (a 16-byte read of a dense table), else from the line.
    #[inline]
    fn entry(&self, to: NodeId, id: u64) -> Option<SimTime> {
        let latest = &self.latest[to as usize];
        if latest.id.get() == id {
            return Some(latest.at.get());
        }
        let line = &self.lines[to as usize];
        (0..RECENT).find(|&k| line.ids[k].get() == id).map(|k| line.at[k].get())
    }

    /// Note in node `node`'s line that block `id` was stored (`SimTime::MAX`) or requested
    /// at `at` (the later of two notes of one id counts), overwriting entry `next` for a
    /// new id; returns whether `next` was used. Keeps `latest` equal to this entry.
    #[inline]
    fn remember(&self, node: NodeId, id: u64, at: SimTime, next: usize) -> bool {
        let line = &self.lines[node as usize];
        let latest = &self.latest[node as usize];
        latest.id.set(id);
        if let Some(k) = (0..RECENT).find(|&k| line.ids[k].get() == id) {
            let at = line.at[k].get().max(at);
            line.at[k].set(at);
            latest.at.set(at);
            return false;
        }
        line.ids[next].set(id);
        line.at[next].set(at);
        latest.at.set(at);
        true
    }

    /// Whether node `to` holds transaction `id` (in its mempool or on its best chain above
    /// the final block) according to its line: a sufficient condition only.
    #[inline]
    fn holds_tx(&self, to: NodeId, id: u64) -> bool {
        id != EMPTY && self.lines[to as usize].txs.iter().any(|t| t.get() == id)
    }
}

impl NoopFilter<PowMsg> for RecentBlocks {
    fn ignores(&self, at: SimTime, from: NodeId, to: NodeId, msg: &PowMsg) -> bool {
        match self.noop_window(from, to, msg) {
            NoopWindow::Always => true,
            NoopWindow::Before(deadline) => at < deadline,
            NoopWindow::Ask => false,
        }
    }

    fn noop_window(&self, _from: NodeId, to: NodeId, msg: &PowMsg) -> NoopWindow {
        // The INV handler's "already have it / final / requested and not yet due for a
        // re-request" tests: each stays true until the arrival without faults (blocks leave
        // `blocks` only below the final height; a request entry leaves `requested` only when
        // the block arrives or after REREQUEST_AFTER).
        match msg {
            PowMsg::Inv { id, height } if self.cpu_free => {
                // Stored (MAX): always a no-op; requested at t: a no-op if it arrives before
                // t + REREQUEST_AFTER (with a timer re-request never: its sender is noted).
                // Only the recent line is consulted (the maps would cost cache misses on
                // every INV): a block not among the last few is simply delivered.
                if let Some(t) = self.entry(to, *id) {
                    return if t == SimTime::MAX {
                        NoopWindow::Always
                    } else if self.timer_rerequest {
                        NoopWindow::Before(0)
                    } else {
                        NoopWindow::Before(t + self.rerequest_after)
                    };
                }
                if *height <= self.final_height[to as usize].get() {
                    NoopWindow::Always
                } else {
                    NoopWindow::Before(0)
                }
            }
            _ => NoopWindow::Before(0),
        }
    }

    fn drops(&self, _from: NodeId, to: NodeId, msg: &PowMsg) -> bool {
        // Exactly the INV handler's first and third tests (its early returns without CPU):
        // a stored block is in `blocks` or, pruned, at or below the final height. (The
        // request test is left to the handler: a request entry also ends when the block
        // arrives as an orphan.) For a transaction, `add_tx`'s early return: a transaction
        // the node holds (its `verify` is zero when the table is `cpu_free`).
        match msg {
            PowMsg::Inv { id, height } if self.cpu_free => {
                self.stored(to, *id) || *height <= self.final_height[to as usize].get()
            }
            PowMsg::Tx(tx) if self.cpu_free => self.holds_tx(to, tx.id),
            _ => false,
        }
    }
}

/// A node's stored blocks by id, as two sorted parallel vectors: a few dozen entries
/// (RETAIN + k + forks), contiguous, so a lookup reads a few adjacent cache lines of ids
/// instead of chasing B-tree nodes. Lookup O(log n); insert and remove O(n); iteration
/// in id order (as the `BTreeMap` it replaces).
#[derive(Debug, Default)]
struct BlockStore {
    ids: Vec<u64>,
    blocks: Vec<Rc<Block>>,
}

impl BlockStore {
    #[inline]
    fn contains_key(&self, id: &u64) -> bool {
        self.ids.binary_search(id).is_ok()
    }

    #[inline]
    fn get(&self, id: &u64) -> Option<&Rc<Block>> {
        self.ids.binary_search(id).ok().map(|i| &self.blocks[i])
    }

    fn insert(&mut self, id: u64, block: Rc<Block>) {
        match self.ids.binary_search(&id) {
            Ok(i) => self.blocks[i] = block,
            Err(i) => {
                self.ids.insert(i, id);
                self.blocks.insert(i, block);
            }
        }
    }

    /// Keep the entries for which `keep(id, block)` holds, visited in id order. O(n); moves
    /// only the entries after the first one dropped.
    fn retain(&mut self, mut keep: impl FnMut(&u64, &Rc<Block>) -> bool) {
        let mut j = 0;
        for i in 0..self.ids.len() {
            if keep(&self.ids[i], &self.blocks[i]) {
                if i != j {
                    self.ids[j] = self.ids[i];
                    self.blocks.swap(i, j);
                }
                j += 1;
            }
        }
        self.ids.truncate(j);
        self.blocks.truncate(j);
    }
}

/// One proof-of-work node (relay; a miner when its share is positive).
pub struct PowReplica {
    id: NodeId,
    cpu: CpuCosts,
    interval: SimTime,
    k: u64,
    compact: Rc<Vec<bool>>,
    compact_bytes: u32,
    compact_failure: f64,
    block_bytes: Option<u64>,
    /// `block_bytes_dist`: every mined block's size is drawn from it with the second RNG
    /// (this node's `pow-block-bytes` stream, so the other draws are unchanged); boxed, so
    /// that runs without it keep their replica size.
    block_bytes_dist: Option<Box<(Arc<PiecewiseDist>, SimRng)>>,
    batch: BatchSpec,
    processing: SimTime,
    /// `block_processing_per_kb`: validation time per 1,000 block bytes.
    processing_per_kb: SimTime,
    /// When the propagation statistics record a received block.
    propagation_at: PropagationAt,
    timing: RelayTiming,
    /// How INV / GETDATA / GETBLOCKTXN use the network (`control_lane`).
    control: ControlLane,
    /// The last few blocks this node stored or requested (its line of the run's shared
    /// table), a cache-friendly summary for the no-op test (a sufficient condition only: an
    /// INV for an id not found there is delivered).
    recent: Rc<RecentBlocks>,
    /// Next entry of this node's recent line to overwrite.
    recent_next: usize,
    /// Next transaction entry of this node's recent line to overwrite.
    recent_tx_next: usize,
    /// Fraction of the block sent after a peer's compact failure (`None`: the full block),
    /// as cumulative weights.
    refill: Option<Rc<(Vec<f64>, Vec<u64>)>>,
    share: f64,
    rng: SimRng,
    neighbours: Vec<NodeId>,
    /// Connected blocks at heights ≥ final − RETAIN (final ones kept to serve peers).
    blocks: BlockStore,
    /// The greatest height of any block ever stored in `blocks`: a block above it is not
    /// stored, which answers most look-ups for new blocks without touching `blocks`.
    max_stored_height: u64,
    /// Blocks received whose parent is unknown: (sender, block).
    orphans: Vec<(NodeId, Rc<Block>)>,
    /// `connect`'s work list (empty between calls; reused to avoid an allocation per block).
    work: Vec<(Option<NodeId>, Rc<Block>)>,
    /// Outstanding block requests: id → when requested.
    requested: BTreeMap<u64, SimTime>,
    /// `rerequest = "timer"`: per outstanding request, the peer asked last and the other
    /// announcers in the order their INVs arrived (`None`: `rerequest = "on-inv"`). Memory
    /// O(outstanding requests × announcers); entries end with the request.
    announcers: Option<BTreeMap<u64, (NodeId, Vec<NodeId>)>>,
    /// Best chain above the final block: `chain[0]` is the final block.
    chain: VecDeque<u64>,
    tip: Rc<Block>,
    final_height: u64,
    /// The final block of each height from `final_height − RETAIN` to `final_height`, at
    /// index `height % (RETAIN + 1)` (the retained final chain, kept as blocks become
    /// final instead of walked from the final block's parents on every `finalize`).
    final_ids: [u64; RETAIN as usize + 1],
    pending: BTreeMap<u64, TxEntry>,
    in_chain: BTreeSet<u64>,
    attempt: u64,
    mined: u32,
    forks: u64,
    ledger: Ledger,
    tracker: Rc<RefCell<Tracker>>,
}

impl PowReplica {
    /// This node's neighbours in the peer graph, sorted.
    pub fn neighbours(&self) -> &[NodeId] {
        &self.neighbours
    }

    /// Share of the total hash power (0 for a relay-only node).
    pub fn share(&self) -> f64 {
        self.share
    }

    /// Height of the best chain.
    pub fn tip_height(&self) -> u64 {
        self.tip.height
    }

    /// Height of the last final (applied) block.
    pub fn final_height(&self) -> u64 {
        self.final_height
    }

    /// Transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.pending.len()
    }

    /// Draw the next block time for the current head (a new attempt token).
    fn restart_mining(&mut self, out: &mut Outbox<PowMsg>) {
        if self.share <= 0.0 {
            return;
        }
        self.attempt += 1;
        let mean = self.interval as f64 / self.share;
        let after = crate::workload::sample_exp(&mut self.rng, mean).round().max(1.0) as SimTime;
        out.push(Action::SetTimer {
            after,
            token: self.attempt,
        });
    }

    fn add_tx(&mut self, tx: Rc<TxEntry>, from: Option<NodeId>, out: &mut Outbox<PowMsg>) {
        if self.pending.contains_key(&tx.id) || self.in_chain.contains(&tx.id) {
            return;
        }
        self.pending.insert(tx.id, *tx);
        // Held from now until its block is final here (`finalize` forgets it then).
        let line = &self.recent.lines[self.id as usize];
        line.txs[self.recent_tx_next].set(tx.id);
        self.recent_tx_next = (self.recent_tx_next + 1) % RECENT_TXS;
        for &nb in &self.neighbours {
            if Some(nb) != from {
                out.push(Action::Send {
                    to: nb,
                    msg: PowMsg::Tx(tx.clone()),
                });
            }
        }
    }

    fn mine(&mut self, now: SimTime, out: &mut Outbox<PowMsg>) {
        let mut txs = Vec::new();
        let mut bytes = 0u64;
        for tx in self.pending.values() {
            if txs.len() >= self.batch.max_tx as usize
                || (!txs.is_empty() && bytes + u64::from(tx.size) > self.batch.max_bytes)
            {
                break;
            }
            bytes += u64::from(tx.size);
            txs.push(*tx);
        }
        self.mined += 1;
        let height = self.tip.height + 1;
        let block = Rc::new(Block {
            id: (u64::from(self.id) + 1) << 32 | u64::from(self.mined),
            parent: self.tip.id,
            height,
            miner: self.id,
            mined_at: now,
            bytes: match self.block_bytes_dist.as_deref_mut() {
                Some((dist, rng)) => dist.sample(rng),
                None => self.block_bytes.unwrap_or(HEADER_BYTES + bytes),
            },
            batch: Rc::new(Batch::new(height, txs)),
        });
        out.charge(self.cpu.hash(block.bytes));
        self.tracker.borrow_mut().mined(&block);
        self.connect(now, None, block, out);
    }

    /// Whether block `id`, of height `height`, is stored: `blocks.contains_key(&id)`,
    /// without the look-up when no stored block is that high.
    #[inline]
    fn has_block(&self, id: u64, height: u64) -> bool {
        height <= self.max_stored_height && self.blocks.contains_key(&id)
    }

    /// A full block arrived (or was reconstructed) from `from`.
    fn receive_block(&mut self, now: SimTime, from: NodeId, block: Rc<Block>, out: &mut Outbox<PowMsg>) {
        if self.has_block(block.id, block.height) || self.orphans.iter().any(|(_, b)| b.id == block.id) {
            return;
        }
        self.requested.remove(&block.id);
        if let Some(ann) = &mut self.announcers {
            ann.remove(&block.id);
        }
        if block.height <= self.final_height {
            // Conflicts with a final block (a final one would still be in `blocks`).
            if block.height + RETAIN > self.final_height {
                self.forks += 1;
            }
            return;
        }
        // SimBlock charges its processing on every upload (see `msg_lane`), not here.
        let processing = match self.timing {
            RelayTiming::Egress | RelayTiming::Gervais => self.processing + per_kb(self.processing_per_kb, block.bytes),
            RelayTiming::SimBlock => 0,
        };
        out.charge(processing + self.cpu.hash(block.bytes) + self.cpu.verify * block.batch.txs.len() as u64);
        let recorded = match self.propagation_at {
            PropagationAt::Validated => now + processing,
            PropagationAt::Arrival => now,
        };
        self.tracker.borrow_mut().node_received(self.id, block.id, recorded);
        // The tip is always stored (it is at or above the final height), so a child of the
        // tip needs no look-up.
        if block.parent != self.tip.id && !self.has_block(block.parent, block.height - 1) {
            if !self.requested.contains_key(&block.parent) {
                self.request(now, block.parent, from, out);
            }
            self.orphans.push((from, block));
            return;
        }
        self.connect(now, Some(from), block, out);
    }

    /// Store a block whose parent is known, relay it, connect waiting orphans, then run
    /// fork choice.
    fn connect(&mut self, now: SimTime, from: Option<NodeId>, block: Rc<Block>, out: &mut Outbox<PowMsg>) {
        if self.orphans.is_empty() {
            // No orphan can wait for this block: the work list below would hold this block
            // alone (the same steps without touching the list's buffer, a cache miss per
            // node and block at 6,000 nodes).
            self.store_and_announce(from, &block, out);
            if block.height > self.tip.height {
                self.switch_to(now, block, out);
            }
            return;
        }
        let mut work = std::mem::take(&mut self.work);
        work.push((from, block));
        let mut best: Option<Rc<Block>> = None;
        while let Some((src, b)) = work.pop() {
            self.store_and_announce(src, &b, out);
            let mut i = 0;
            while i < self.orphans.len() {
                if self.orphans[i].1.parent == b.id {
                    let (s, o) = self.orphans.remove(i);
                    work.push((Some(s), o));
                } else {
                    i += 1;
                }
            }
            if b.height > best.as_ref().map_or(self.tip.height, |x| x.height) {
                best = Some(b);
            }
        }
        self.work = work; // empty; kept for its allocation
        if let Some(b) = best {
            self.switch_to(now, b, out);
        }
    }

    /// `connect`'s first steps for one block: store it, note it in the recent line and
    /// announce it (INV) to every neighbour but `src`, in neighbour order.
    #[inline]
    fn store_and_announce(&mut self, src: Option<NodeId>, b: &Rc<Block>, out: &mut Outbox<PowMsg>) {
        self.blocks.insert(b.id, b.clone());
        self.max_stored_height = self.max_stored_height.max(b.height);
        self.remember(b.id, SimTime::MAX);
        for &nb in &self.neighbours {
            if Some(nb) != src {
                out.push(Action::Send {
                    to: nb,
                    msg: PowMsg::Inv {
                        id: b.id,
                        height: b.height,
                    },
                });
            }
        }
    }

    /// Make `new_tip` (longer than the current tip) the head, if it descends from the final
    /// block; move transactions between mempool and chain; finalize; restart mining.
    fn switch_to(&mut self, now: SimTime, new_tip: Rc<Block>, out: &mut Outbox<PowMsg>) {
        if new_tip.parent == self.tip.id
            && new_tip.height == self.tip.height + 1
            && self.tip.height >= self.final_height
            && (self.tip.height - self.final_height) as usize + 1 == self.chain.len()
            && self.chain.back() == Some(&self.tip.id)
        {
            // The new tip extends the current one: the walk below would collect it alone and
            // stop at the tip (the last chain entry), undoing nothing; the same steps without
            // looking the parent up or allocating the branch.
            for tx in &new_tip.batch.txs {
                self.pending.remove(&tx.id);
                self.in_chain.insert(tx.id);
            }
            self.chain.push_back(new_tip.id);
            self.adopt(now, new_tip, out);
            return;
        }
        // Walk back to the current chain.
        let mut branch: Vec<Rc<Block>> = Vec::new();
        let mut cur = new_tip.clone();
        loop {
            if cur.height < self.final_height {
                return;
            }
            let off = (cur.height - self.final_height) as usize;
            if self.chain.get(off) == Some(&cur.id) {
                break;
            }
            if cur.height == self.final_height {
                return; // forks at or below the final block are never adopted
            }
            branch.push(cur.clone());
            match self.blocks.get(&cur.parent) {
                Some(p) => cur = p.clone(),
                None => return,
            }
        }
        let fork_height = cur.height;
        // Undo the old branch above the fork point.
        while self.chain.len() as u64 > fork_height - self.final_height + 1 {
            let id = self.chain.pop_back().expect("above the fork");
            if let Some(b) = self.blocks.get(&id) {
                for tx in &b.batch.txs {
                    self.in_chain.remove(&tx.id);
                    self.pending.insert(tx.id, *tx);
                }
            }
        }
        for b in branch.iter().rev() {
            for tx in &b.batch.txs {
                self.pending.remove(&tx.id);
                self.in_chain.insert(tx.id);
            }
            self.chain.push_back(b.id);
        }
        self.adopt(now, new_tip, out);
    }

    /// `switch_to`'s last steps, once the chain ends with `new_tip`: note the miner's new
    /// height, make it the tip, finalize, restart mining.
    #[inline]
    fn adopt(&mut self, now: SimTime, new_tip: Rc<Block>, out: &mut Outbox<PowMsg>) {
        if self.share > 0.0 {
            self.tracker
                .borrow_mut()
                .tip_rose(self.id, self.tip.height, new_tip.height, now);
        }
        self.tip = new_tip;
        self.finalize(now, out);
        self.restart_mining(out);
    }

    /// Apply every block with at least k blocks on top of it.
    fn finalize(&mut self, now: SimTime, out: &mut Outbox<PowMsg>) {
        let mut advanced = false;
        while self.final_height + self.k < self.tip.height && self.chain.len() > 1 {
            self.chain.pop_front();
            let id = *self.chain.front().expect("next final block");
            let b = self.blocks.get(&id).expect("chain blocks are stored").clone();
            out.charge(self.cpu.execute_tx * b.batch.txs.len() as u64 + self.cpu.db_commit);
            let digest = self.ledger.apply_block(&b.batch.txs);
            self.final_height = b.height;
            self.final_ids[(b.height % (RETAIN + 1)) as usize] = b.id;
            self.recent.final_height[self.id as usize].set(b.height);
            out.push(Action::Committed {
                height: self.ledger.height(),
                digest,
            });
            let line = &self.recent.lines[self.id as usize];
            for tx in &b.batch.txs {
                // It leaves the node's held set (a held transaction leaves it only here:
                // the other moves are between `pending` and `in_chain`).
                self.in_chain.remove(&tx.id);
                for t in &line.txs {
                    if t.get() == tx.id {
                        t.set(EMPTY);
                    }
                }
            }
            for (i, &(client, _, _)) in b.batch.by_client.iter().enumerate() {
                if client == self.id {
                    out.push(Action::Reply {
                        client,
                        reply: Reply::Batch {
                            batch: b.batch.clone(),
                            range: i as u32,
                        },
                    });
                }
            }
            advanced = true;
        }
        if !advanced {
            return;
        }
        {
            let mut t = self.tracker.borrow_mut();
            t.max_final = t.max_final.max(self.final_height);
        }
        // Prune: stale blocks at or below the final height, final blocks beyond RETAIN.
        let fh = self.final_height;
        let mut stale = 0;
        // The retained final chain (heights fh down to fh − RETAIN): a block of height
        // h ≤ fh is on it exactly when it is the final block of its height, which
        // `final_ids` holds for every height of that window.
        let final_ids = &self.final_ids;
        let is_on_chain =
            |id: u64, height: u64| fh - height <= RETAIN && final_ids[(height % (RETAIN + 1)) as usize] == id;
        #[cfg(test)]
        self.check_final_ids(fh);
        self.blocks.retain(|id, b| {
            if b.height > fh || is_on_chain(*id, b.height) {
                true
            } else {
                if b.height + RETAIN >= fh {
                    // Off the final chain (final blocks below the window are not stale).
                    stale += 1;
                }
                false
            }
        });
        self.forks += stale;
        self.orphans.retain(|(_, b)| b.height > fh);
        let after = self.recent.rerequest_after;
        self.requested.retain(|_, t| *t + after > now);
        if let Some(ann) = &mut self.announcers {
            let requested = &self.requested;
            ann.retain(|id, _| requested.contains_key(id));
        }
    }

    /// Unit tests: `final_ids` agrees with the retained final chain found by walking the
    /// parents of the final block (what `finalize` did before it kept `final_ids`).
    #[cfg(test)]
    fn check_final_ids(&self, fh: u64) {
        let mut cur = self.blocks.get(&self.chain[0]);
        let mut walked = 0;
        while let Some(b) = cur {
            if b.height + RETAIN < fh {
                break;
            }
            assert_eq!(b.height + walked, fh, "heights step down by one");
            assert_eq!(
                self.final_ids[(b.height % (RETAIN + 1)) as usize],
                b.id,
                "final id at {}",
                b.height
            );
            walked += 1;
            if b.height == 0 {
                break; // genesis is its own parent
            }
            cur = self.blocks.get(&b.parent);
        }
        assert_eq!(walked, fh.min(RETAIN) + 1, "the whole window is stored");
    }

    /// Send GETDATA for `id` to `to` and note the request at `now`; with `rerequest =
    /// "timer"`, note whom it asked and arm the request's timer.
    fn request(&mut self, now: SimTime, id: u64, to: NodeId, out: &mut Outbox<PowMsg>) {
        self.requested.insert(id, now);
        self.remember(id, now);
        if let Some(ann) = &mut self.announcers {
            ann.entry(id).or_insert_with(|| (to, Vec::new())).0 = to;
            out.push(Action::SetTimer {
                after: self.recent.rerequest_after,
                token: REREQUEST_TIMER | id,
            });
        }
        out.push(Action::Send {
            to,
            msg: PowMsg::GetData { id },
        });
    }

    /// `rerequest = "timer"`: the request timer of block `id` fired. If the block is still
    /// awaited and its request is due, ask the next announcer (dropping the request when
    /// none is left, so a later INV starts a new one).
    fn request_timed_out(&mut self, now: SimTime, id: u64, out: &mut Outbox<PowMsg>) {
        let due = self
            .requested
            .get(&id)
            .is_some_and(|&t| now >= t + self.recent.rerequest_after);
        if !due {
            return;
        }
        let next = self.announcers.as_mut().and_then(|ann| {
            let (_, waiting) = ann.get_mut(&id)?;
            (!waiting.is_empty()).then(|| waiting.remove(0))
        });
        match next {
            Some(to) => self.request(now, id, to, out),
            None => {
                self.requested.remove(&id);
                if let Some(ann) = &mut self.announcers {
                    ann.remove(&id);
                }
            }
        }
    }

    /// Note in `recent` that block `id` was stored (`SimTime::MAX`) or requested at `at`.
    #[inline]
    fn remember(&mut self, id: u64, at: SimTime) {
        if self.recent.remember(self.id, id, at, self.recent_next) {
            self.recent_next = (self.recent_next + 1) % RECENT;
        }
    }

    fn serve(&mut self, to: NodeId, id: u64, allow_compact: bool, out: &mut Outbox<PowMsg>) {
        let Some(b) = self.blocks.get(&id).cloned() else {
            return;
        };
        if !allow_compact && let Some(refill) = &self.refill {
            let (fractions, cumulative) = &**refill;
            let total = *cumulative.last().expect("validated non-empty");
            let u = self.rng.random_range(0..total);
            let i = cumulative.partition_point(|&c| c <= u);
            let bytes = (b.bytes as f64 * fractions[i]).min(f64::from(u32::MAX / 2)) as u32;
            out.push(Action::Send {
                to,
                msg: PowMsg::BlockTxn { block: b, bytes },
            });
            return;
        }
        let msg = if allow_compact && self.compact[self.id as usize] && self.compact[to as usize] {
            PowMsg::Cmpct {
                block: b,
                bytes: self.compact_bytes,
            }
        } else {
            PowMsg::Block(b)
        };
        out.push(Action::Send { to, msg });
    }
}

impl Replica for PowReplica {
    type Msg = PowMsg;

    fn on_request(&mut self, _now: SimTime, tx: TxEntry, out: &mut Outbox<PowMsg>) {
        out.charge(self.cpu.verify);
        self.add_tx(Rc::new(tx), None, out);
    }

    fn on_message(&mut self, now: SimTime, from: NodeId, msg: PowMsg, out: &mut Outbox<PowMsg>) {
        match msg {
            PowMsg::Tx(tx) => {
                out.charge(self.cpu.verify);
                self.add_tx(tx, Some(from), out);
            }
            PowMsg::Inv { id, height } => {
                // `stored` (a dense-table hit) implies one of the two map tests. A block held
                // in the orphan pool (its parent is still missing) is not asked for again: its
                // request entry ended when it arrived, and the shared no-op table, which still
                // shows it as requested, must give the same answer as this handler.
                if self.recent.stored(self.id, id)
                    || self.has_block(id, height)
                    || height <= self.final_height
                    || self.orphans.iter().any(|(_, b)| b.id == id)
                {
                    return;
                }
                if let Some(&t) = self.requested.get(&id) {
                    if let Some(ann) = &mut self.announcers {
                        // Timer mode: only the request's timer asks again; note the announcer.
                        if let Some((asked, waiting)) = ann.get_mut(&id)
                            && *asked != from
                            && !waiting.contains(&from)
                        {
                            waiting.push(from);
                        }
                        return;
                    }
                    if now < t + self.recent.rerequest_after {
                        return;
                    }
                }
                self.request(now, id, from, out);
            }
            PowMsg::GetData { id } => self.serve(from, id, true, out),
            PowMsg::GetBlockTxn { id } => self.serve(from, id, false, out),
            PowMsg::Block(b) | PowMsg::BlockTxn { block: b, .. } => self.receive_block(now, from, b, out),
            PowMsg::Cmpct { block, .. } => {
                if self.has_block(block.id, block.height) {
                    return;
                }
                if self.compact_failure > 0.0 && self.rng.random::<f64>() < self.compact_failure {
                    out.push(Action::Send {
                        to: from,
                        msg: PowMsg::GetBlockTxn { id: block.id },
                    });
                } else {
                    self.receive_block(now, from, block, out);
                }
            }
        }
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<PowMsg>) {
        if token & REREQUEST_TIMER != 0 {
            self.request_timed_out(now, token & !REREQUEST_TIMER, out);
        } else if token == self.attempt && self.share > 0.0 {
            self.mine(now, out);
        }
    }

    fn on_start(&mut self, _now: SimTime, out: &mut Outbox<PowMsg>) {
        self.restart_mining(out);
    }

    fn on_recover(&mut self, _now: SimTime, out: &mut Outbox<PowMsg>) {
        self.requested.clear();
        if let Some(ann) = &mut self.announcers {
            ann.clear();
        }
        self.restart_mining(out);
    }

    fn msg_bytes(msg: &PowMsg) -> u32 {
        match msg {
            PowMsg::Tx(tx) => tx.size,
            PowMsg::Inv { .. } | PowMsg::GetData { .. } | PowMsg::GetBlockTxn { .. } => ANNOUNCE_BYTES,
            PowMsg::Block(b) => b.bytes.min(u64::from(u32::MAX / 2)) as u32,
            PowMsg::Cmpct { bytes, .. } | PowMsg::BlockTxn { bytes, .. } => *bytes,
        }
    }

    fn msg_kind(msg: &PowMsg) -> usize {
        match msg {
            PowMsg::Tx(_) => 0,
            PowMsg::Inv { .. } => 1,
            PowMsg::GetData { .. } => 2,
            PowMsg::Block(_) => 3,
            PowMsg::Cmpct { .. } => 4,
            PowMsg::GetBlockTxn { .. } => 5,
            PowMsg::BlockTxn { .. } => 6,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        crate::names::POW_KINDS
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn counters(&self) -> ProtocolCounters {
        ProtocolCounters {
            forks: self.forks,
            ..ProtocolCounters::default()
        }
    }

    fn carried_tx(msg: &PowMsg) -> Option<&TxEntry> {
        match msg {
            PowMsg::Tx(tx) => Some(tx.as_ref()),
            _ => None,
        }
    }

    fn chain_metrics(&self) -> Option<ChainMetrics> {
        Some(self.tracker.borrow().metrics())
    }

    fn ignores(&self, at: SimTime, from: NodeId, msg: &PowMsg) -> bool {
        self.recent.ignores(at, from, self.id, msg)
    }

    fn noop_filter(&self) -> Option<Rc<dyn NoopFilter<PowMsg>>> {
        Some(self.recent.clone())
    }

    fn msg_lane(&self, msg: &PowMsg) -> Lane {
        match (self.timing, msg) {
            (
                RelayTiming::Egress | RelayTiming::Gervais,
                PowMsg::Inv { .. } | PowMsg::GetData { .. } | PowMsg::GetBlockTxn { .. },
            ) if self.control == ControlLane::Link => Lane::Link,
            (RelayTiming::Egress, _) | (RelayTiming::SimBlock, PowMsg::Tx(_)) => Lane::Egress,
            (RelayTiming::Gervais, PowMsg::Block(_) | PowMsg::BlockTxn { .. }) => Lane::GervaisBlock,
            (RelayTiming::Gervais, _) => Lane::Egress,
            (RelayTiming::SimBlock, PowMsg::Block(_) | PowMsg::Cmpct { .. } | PowMsg::BlockTxn { .. }) => {
                Lane::SimBlockUpload {
                    processing: self.processing,
                }
            }
            (RelayTiming::SimBlock, PowMsg::Inv { .. } | PowMsg::GetData { .. } | PowMsg::GetBlockTxn { .. }) => {
                Lane::SimBlockControl {
                    extra: SIMBLOCK_CONTROL_DELAY,
                }
            }
        }
    }
}

/// `per_kb` × `bytes` / 1,000, rounded to the nearest ns (exact integer arithmetic).
fn per_kb(per_kb: SimTime, bytes: u64) -> SimTime {
    if per_kb == 0 {
        return 0;
    }
    ((u128::from(per_kb) * u128::from(bytes) + 500) / 1000).min(u128::from(SimTime::MAX)) as SimTime
}

/// Draw an outbound-connection count from `cdf` over 1, 2, ….
fn draw_peers(rng: &mut SimRng, cdf: &[f64]) -> usize {
    let u: f64 = rng.random();
    cdf.iter().position(|&c| u < c).unwrap_or(cdf.len() - 1) + 1
}

/// Build the undirected peer graph: node i (in id order, from its own stream) draws its
/// outbound count from `cdf` and links to that many random distinct nodes it is not yet
/// linked with. Returns sorted adjacency lists.
pub fn peer_graph(n: usize, cdf: &[f64], rngs: &mut [SimRng]) -> Vec<Vec<NodeId>> {
    peer_graph_with(n, cdf, rngs, &PeerOptions::default())
}

/// Options of [`peer_graph_with`] beyond the count distribution (the defaults give
/// [`peer_graph`]).
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// Whether a drawn count is the node's own links or its total degree.
    pub links: PeerLinks,
    /// `is_miner[i]`: node i mines (empty: no node is treated as a miner).
    pub is_miner: Vec<bool>,
    /// Count of every miner instead of a draw.
    pub miner_peers: Option<usize>,
    /// Link every pair of miners first.
    pub miner_mesh: bool,
    /// Degree caps (`None`: none). With caps every count is drawn first (each from its
    /// node's own stream, so the draws are those without caps), then nodes link in id order
    /// to nodes picked uniformly among those below their cap, for at most 10 × count tries
    /// (Gervais et al.'s `BitcoinTopologyHelper`).
    pub degree_cap: Option<DegreeCap>,
}

/// [`peer_graph`] with options: with `miner_mesh` every pair of miners is linked first (no
/// random draw); then node i (in id order) takes its count — `miner_peers` for a miner when
/// set, else a draw from `cdf` on its own stream — and links to random distinct nodes it is
/// not yet linked with: that many new links (`PeerLinks::Outbound`), or until its degree
/// reaches the count (`PeerLinks::Total`). With the default options the draws are exactly
/// those of [`peer_graph`].
pub fn peer_graph_with(n: usize, cdf: &[f64], rngs: &mut [SimRng], opts: &PeerOptions) -> Vec<Vec<NodeId>> {
    let mut adj: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    if n < 2 {
        return adj;
    }
    let miner = |i: usize| opts.is_miner.get(i).copied().unwrap_or(false);
    if opts.miner_mesh {
        for i in 0..n {
            for j in i + 1..n {
                if miner(i) && miner(j) {
                    adj[i].push(j as NodeId);
                    adj[j].push(i as NodeId);
                }
            }
        }
    }
    if let Some(cap) = &opts.degree_cap {
        capped_links(n, cdf, rngs, opts, cap, &mut adj);
        for a in &mut adj {
            a.sort_unstable();
        }
        return adj;
    }
    for i in 0..n {
        let count = match opts.miner_peers {
            Some(c) if miner(i) => c,
            _ => draw_peers(&mut rngs[i], cdf),
        }
        .min(n - 1);
        let want = match opts.links {
            PeerLinks::Outbound => count,
            PeerLinks::Total => count.saturating_sub(adj[i].len()),
        };
        let mut made = 0;
        let mut tries = 0;
        while made < want && adj[i].len() < n - 1 && tries < 64 * n {
            tries += 1;
            let j = rngs[i].random_range(0..n);
            if j == i || adj[i].contains(&(j as NodeId)) {
                continue;
            }
            adj[i].push(j as NodeId);
            adj[j].push(i as NodeId);
            made += 1;
        }
    }
    for a in &mut adj {
        a.sort_unstable();
    }
    adj
}

/// The random links of [`peer_graph_with`] under degree caps (Gervais et al.'s
/// `BitcoinTopologyHelper`): every node's count (and so its cap) is drawn first; then node i,
/// in id order, picks candidates uniformly from the nodes still below their cap (a node
/// leaves that list when it reaches its cap) until its degree reaches its count or it has
/// tried 10 × count times; picking itself or a neighbour uses a try. O(n · tries + n²)
/// worst case (list removals).
fn capped_links(
    n: usize,
    cdf: &[f64],
    rngs: &mut [SimRng],
    opts: &PeerOptions,
    cap: &DegreeCap,
    adj: &mut [Vec<NodeId>],
) {
    let miner = |i: usize| opts.is_miner.get(i).copied().unwrap_or(false);
    let counts: Vec<usize> = (0..n)
        .map(|i| {
            match opts.miner_peers {
                Some(c) if miner(i) => c,
                _ => draw_peers(&mut rngs[i], cdf),
            }
            .min(n - 1)
        })
        .collect();
    let caps: Vec<usize> = (0..n)
        .map(|i| match cap.miner {
            Some(m) if miner(i) => m.max(counts[i]),
            None if miner(i) => usize::MAX,
            _ => cap.cap_for(counts[i]),
        })
        .collect();
    let mut open: Vec<NodeId> = (0..n as NodeId)
        .filter(|&j| adj[j as usize].len() < caps[j as usize])
        .collect();
    for i in 0..n {
        let want = match opts.links {
            PeerLinks::Outbound => adj[i].len() + counts[i],
            PeerLinks::Total => counts[i],
        };
        let mut tries = 0;
        while adj[i].len() < want && tries < 10 * counts[i] && !open.is_empty() {
            tries += 1;
            let k = rngs[i].random_range(0..open.len());
            let j = open[k] as usize;
            if j == i || adj[i].contains(&(j as NodeId)) || adj[j].len() >= caps[j] {
                continue;
            }
            adj[i].push(j as NodeId);
            adj[j].push(i as NodeId);
            if adj[j].len() >= caps[j] {
                open.remove(k);
            }
        }
    }
}

/// Deploy proof-of-work on every node of the scenario; `spec.miners` mine.
pub fn deploy(scenario: &Scenario, spec: &PowSpec, replication: u32) -> Deployment<PowReplica> {
    let n = scenario.topology.nodes.len();
    let mut rngs: Vec<SimRng> = (0..n)
        .map(|i| stream_rng(scenario.seed, replication, StreamLabel("pow"), i as u32))
        .collect();
    let mut is_miner = vec![false; n];
    for &m in &spec.miners {
        is_miner[m as usize] = true;
    }
    // An explicit peer graph (`peer_graph`, validated: one sorted list per node) is used as
    // it is and draws nothing; otherwise the graph is drawn from the nodes' streams.
    let adj = match &spec.peer_graph {
        Some(g) => g.as_ref().clone(),
        None => peer_graph_with(
            n,
            &spec.peers_cdf,
            &mut rngs,
            &PeerOptions {
                links: spec.peer_links,
                is_miner,
                miner_peers: spec.miner_peers,
                miner_mesh: spec.miner_mesh,
                degree_cap: spec.degree_cap.clone(),
            },
        ),
    };
    let compact: Rc<Vec<bool>> = Rc::new(
        rngs.iter_mut()
            .map(|r| spec.compact_block_share > 0.0 && r.random::<f64>() < spec.compact_block_share)
            .collect(),
    );
    // Churning nodes (SimBlock) fail compact blocks at `compact_failure`, the others at
    // `compact_failure_stable`; drawn only when some node is not churning.
    let churning: Vec<bool> = rngs
        .iter_mut()
        .map(|r| spec.churn_share >= 1.0 || (spec.churn_share > 0.0 && r.random::<f64>() < spec.churn_share))
        .collect();
    let cumulative = |r: &Refill| {
        let c: Vec<u64> = r
            .weights
            .iter()
            .scan(0u64, |acc, &w| {
                *acc += w;
                Some(*acc)
            })
            .collect();
        Rc::new((r.fractions.clone(), c))
    };
    let refill_churn = spec.compact_refill.as_ref().map(cumulative);
    let refill_stable = spec.compact_refill_stable.as_ref().map(cumulative);
    let mut power = vec![0.0f64; n];
    for (k, &m) in spec.miners.iter().enumerate() {
        power[m as usize] = match &spec.hash_power {
            HashPowerDist::Uniform => 1.0,
            HashPowerDist::Normal(mean, sd) => {
                let z = crate::workload::sample_std_normal(&mut rngs[m as usize]);
                (mean + sd * z).max(0.01 * mean)
            }
            HashPowerDist::Shares(values) => values.get(k).copied().unwrap_or(0.0),
        };
    }
    let total: f64 = power.iter().sum();
    let shares: Vec<f64> = power
        .iter()
        .map(|&p| if total > 0.0 { p / total } else { 0.0 })
        .collect();
    let tracker = Rc::new(RefCell::new(Tracker::new(n as u32, shares, spec.block_interval)));
    let genesis = Rc::new(Block {
        id: 0,
        parent: 0,
        height: 0,
        miner: 0,
        mined_at: 0,
        bytes: HEADER_BYTES,
        batch: Rc::new(Batch::new(0, Vec::new())),
    });
    let genesis_ledger = Ledger::new_shared(n, scenario.initial_balance_minor);
    let cpu_free = {
        let c = &scenario.cpu;
        [
            c.sign,
            c.verify,
            c.hash_per_kb,
            c.execute_tx,
            c.db_commit,
            c.per_message,
        ]
        .iter()
        .all(|&t| t == 0)
            && (spec.relay_timing == RelayTiming::SimBlock
                || (spec.block_processing == 0 && spec.block_processing_per_kb == 0))
    };
    let recent = Rc::new(RecentBlocks::new(
        n,
        cpu_free,
        spec.inv_timeout,
        spec.rerequest == Rerequest::Timer,
    ));
    let mut replicas = Vec::with_capacity(n);
    for (i, (rng, neighbours)) in rngs.into_iter().zip(adj).enumerate() {
        let mut blocks = BlockStore::default();
        blocks.insert(0, genesis.clone());
        replicas.push((
            i as NodeId,
            PowReplica {
                id: i as NodeId,
                cpu: scenario.cpu,
                interval: spec.block_interval,
                k: u64::from(spec.confirmations),
                compact: compact.clone(),
                compact_bytes: spec.compact_block_bytes,
                compact_failure: if churning[i] {
                    spec.compact_failure
                } else {
                    spec.compact_failure_stable
                },
                block_bytes: match spec.block_bytes {
                    Some(BlockSize::Fixed(b)) => Some(b),
                    _ => None,
                },
                block_bytes_dist: match &spec.block_bytes {
                    Some(BlockSize::Dist(d)) => Some(Box::new((
                        d.clone(),
                        stream_rng(scenario.seed, replication, StreamLabel("pow-block-bytes"), i as u32),
                    ))),
                    _ => None,
                },
                batch: spec.batch,
                processing: spec.block_processing,
                processing_per_kb: spec.block_processing_per_kb,
                propagation_at: spec.propagation_at,
                timing: spec.relay_timing,
                control: spec.control_lane,
                recent: recent.clone(),
                recent_next: 0,
                recent_tx_next: 0,
                // SimBlock sizes the refill by the *sender's* churn flag (getFailedBlockSize).
                refill: if churning[i] {
                    refill_churn.clone()
                } else {
                    refill_stable.clone()
                },
                share: if total > 0.0 { power[i] / total } else { 0.0 },
                rng,
                neighbours,
                blocks,
                max_stored_height: 0, // genesis
                orphans: Vec::new(),
                work: Vec::new(),
                requested: BTreeMap::new(),
                announcers: (spec.rerequest == Rerequest::Timer).then(BTreeMap::new),
                chain: VecDeque::from([0]),
                tip: genesis.clone(),
                final_height: 0,
                final_ids: [0; RETAIN as usize + 1], // genesis (id 0) at height 0
                pending: BTreeMap::new(),
                in_chain: BTreeSet::new(),
                attempt: 0,
                mined: 0,
                forks: 0,
                ledger: genesis_ledger.clone(),
                tracker: tracker.clone(),
            },
        ));
    }
    Deployment {
        replicas,
        members: (0..n as NodeId).collect(),
        core_overrides: vec![],
        replies_needed: 1,
        entry: (0..n as NodeId).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four nodes, all miners, full mesh, k = 1, zero CPU.
    fn setup(k: u32, compact: f64, failure: f64) -> (Scenario, PowSpec) {
        let text = format!(
            r#"
name = "u"
seed = 3
duration = "10s"
replications = 1
[topology]
regions = ["r"]
[[topology.group]]
role = "node"
count = 4
region = "r"
[network]
intra_region_rtt = "2ms"
[cpu]
sign = "0"
verify = "0"
hash_per_kb = "0"
execute_tx = "0"
db_commit = "0"
[workload]
[[workload.flow]]
name = "f"
from = "node"
to = "node"
arrival = {{ process = "poisson", rate = 1.0 }}
size_bytes = 100
amount = {{ dist = "constant", value = 1.0 }}
[[system]]
name = "pow"
consensus = "pow"
baseline = true
settlement = "on-ledger"
peers = 3
confirmations = {k}
block_interval = "1s"
block_processing = "2ms"
compact_block_share = {compact}
compact_failure = {failure}
"#
        );
        let sc = Scenario::from_toml_str(&text, "unit").expect("valid");
        let spec = match &sc.systems[0].kind {
            crate::scenario::SystemKind::Pow(p) => p.clone(),
            _ => unreachable!(),
        };
        (sc, spec)
    }

    fn replicas(k: u32) -> Vec<PowReplica> {
        let (sc, spec) = setup(k, 0.0, 0.0);
        deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect()
    }

    fn tx(id: u64, submitter: NodeId) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 100,
            from: 0,
            to: 1,
            submitter,
            size: 100,
            flow: 0,
        }
    }

    fn block(id: u64, parent: u64, height: u64, txs: Vec<TxEntry>) -> Rc<Block> {
        Rc::new(Block {
            id,
            parent,
            height,
            miner: 3,
            mined_at: 0,
            bytes: 1000,
            batch: Rc::new(Batch::new(height, txs)),
        })
    }

    fn sends(out: &Outbox<PowMsg>) -> Vec<(NodeId, usize)> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { to, msg } => Some((*to, PowReplica::msg_kind(msg))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn block_bytes_dist_sizes_every_mined_block_from_its_own_stream() {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        let mine_sizes = |spec: &PowSpec| -> (Vec<u64>, Vec<usize>) {
            let mut r = deploy(&sc, spec, 0).replicas.into_iter().next().unwrap().1;
            let mut sizes = Vec::new();
            for t in 1..=50 {
                let mut out = Outbox::default();
                r.mine(t * 1_000_000, &mut out);
                sizes.push(r.tip.bytes);
            }
            let u: Vec<usize> = (0..20).map(|_| r.rng.random_range(0..1_000_000)).collect();
            (sizes, u)
        };
        let (fixed, u_fixed) = mine_sizes(&spec);
        assert!(fixed.iter().all(|&b| b == HEADER_BYTES), "no transactions: header only");
        spec.block_bytes = Some(BlockSize::Dist(Arc::new(
            PiecewiseDist::from_bytes(&[[1000.0, 2000.0, 1.0], [5000.0, 6000.0, 0.0], [9000.0, 9500.0, 1.0]]).unwrap(),
        )));
        let (drawn, u_drawn) = mine_sizes(&spec);
        assert!(
            drawn
                .iter()
                .all(|&b| (1000..=2000).contains(&b) || (9000..=9500).contains(&b)),
            "{drawn:?}"
        );
        assert!(
            drawn.iter().any(|&b| b < 2001) && drawn.iter().any(|&b| b > 8999),
            "both bins drawn"
        );
        // The sizes come from a dedicated stream: the replica's own RNG is untouched.
        assert_eq!(u_fixed, u_drawn);
        // Deterministic for a seed.
        assert_eq!(drawn, mine_sizes(&spec).0);
    }

    #[test]
    fn shared_noop_table_agrees_with_the_inv_handler() {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        spec.block_processing = 0; // no CPU anywhere: the table answers
        let mut rs: Vec<PowReplica> = deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect();
        let f = rs[0].noop_filter().expect("pow has a shared table");
        let inv = PowMsg::Inv { id: 7, height: 1 };
        // Unknown: delivered, and the handler asks the announcer for it.
        assert!(!f.ignores(0, 1, 0, &inv) && !f.drops(1, 0, &inv));
        let mut out = Outbox::default();
        rs[0].on_message(0, 1, inv.clone(), &mut out);
        assert_eq!(sends(&out), vec![(1, 2)]);
        // Requested: a no-op until the re-request time; left to the handler on delivery.
        assert!(f.ignores(REREQUEST_AFTER - 1, 2, 0, &inv));
        assert!(!f.ignores(REREQUEST_AFTER, 2, 0, &inv));
        assert!(!f.drops(2, 0, &inv));
        assert_eq!(
            rs[0].ignores(REREQUEST_AFTER - 1, 2, &inv),
            f.ignores(REREQUEST_AFTER - 1, 2, 0, &inv)
        );
        // Stored: a no-op whenever it arrives, and dropped on delivery.
        out.clear();
        rs[0].on_message(1, 1, PowMsg::Block(block(7, 0, 1, vec![])), &mut out);
        assert!(f.ignores(SimTime::MAX / 2, 2, 0, &inv) && f.drops(2, 0, &inv));
        out.clear();
        rs[0].on_message(2, 2, inv.clone(), &mut out);
        assert!(out.actions.is_empty() && out.cpu == 0, "the handler agrees");
        // Other nodes' lines are their own.
        assert!(!f.drops(1, 3, &inv) && !f.ignores(2, 1, 3, &inv));
    }

    #[test]
    fn a_held_transaction_is_dropped_on_delivery_until_its_block_is_final() {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        spec.block_processing = 0; // no CPU anywhere: the table answers
        let mut rs: Vec<PowReplica> = deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect();
        let f = rs[0].noop_filter().expect("pow has a shared table");
        let t5 = PowMsg::Tx(Rc::new(tx(5, 2)));
        // Unknown: delivered; the handler keeps it and floods it to the other two.
        assert!(!f.drops(1, 0, &t5));
        let mut out = Outbox::default();
        rs[0].on_message(0, 1, t5.clone(), &mut out);
        assert_eq!(sends(&out), vec![(2, 0), (3, 0)]);
        // Held (in the mempool): dropped, and the handler agrees that it is a no-op.
        assert!(f.drops(2, 0, &t5), "held in the mempool");
        out.clear();
        rs[0].on_message(1, 2, t5.clone(), &mut out);
        assert!(out.actions.is_empty() && out.cpu == 0, "the handler agrees");
        assert!(!f.drops(0, 1, &t5), "node 1's line is its own");
        // On the best chain, not final: still held, still dropped.
        rs[0].on_message(2, 1, PowMsg::Block(block(7, 0, 1, vec![tx(5, 2)])), &mut out);
        assert_eq!(rs[0].final_height(), 0);
        assert!(f.drops(2, 0, &t5), "held on the chain");
        // Final (k = 1): it leaves the node's held set, so it is delivered again.
        rs[0].on_message(3, 1, PowMsg::Block(block(8, 7, 2, vec![])), &mut out);
        assert_eq!(rs[0].final_height(), 1);
        assert!(!f.drops(2, 0, &t5), "final: forgotten");
        // Eight more transactions push the oldest out of the line: a sufficient test only.
        for id in 10..19 {
            rs[0].on_request(4, tx(id, 0), &mut out);
        }
        assert!(!f.drops(1, 0, &PowMsg::Tx(Rc::new(tx(10, 0)))), "overwritten");
        assert!(f.drops(1, 0, &PowMsg::Tx(Rc::new(tx(18, 0)))));
    }

    #[test]
    fn an_inv_for_a_block_held_as_an_orphan_is_a_no_op_as_the_noop_table_says() {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        spec.block_processing = 0;
        let mut rs: Vec<PowReplica> = deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect();
        let f = rs[0].noop_filter().expect("pow has a shared table");
        let mut out = Outbox::default();
        // Block 8 (height 2) is requested, then arrives before its parent 7: an orphan.
        rs[0].on_message(0, 1, PowMsg::Inv { id: 8, height: 2 }, &mut out);
        assert_eq!(sends(&out), vec![(1, 2)]);
        out.clear();
        rs[0].on_message(1, 1, PowMsg::Block(block(8, 7, 2, vec![])), &mut out);
        assert_eq!(sends(&out), vec![(1, 2)], "the missing parent is requested");
        // Another peer announces block 8: the table calls it a no-op, and so does the handler.
        let inv = PowMsg::Inv { id: 8, height: 2 };
        assert!(f.ignores(2, 2, 0, &inv));
        out.clear();
        rs[0].on_message(2, 2, inv.clone(), &mut out);
        assert!(
            out.actions.is_empty(),
            "no second request for a block held as an orphan"
        );
        // Still a no-op after the re-request time, when the table lets it through.
        assert!(!f.ignores(REREQUEST_AFTER + 2, 2, 0, &inv));
        rs[0].on_message(REREQUEST_AFTER + 2, 2, inv, &mut out);
        assert!(out.actions.is_empty());
    }

    /// The request timers armed in `out`: (after, token).
    fn timers(out: &Outbox<PowMsg>) -> Vec<(SimTime, u64)> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::SetTimer { after, token } => Some((*after, *token)),
                _ => None,
            })
            .collect()
    }

    /// GETDATA sends in `out`: the peers asked.
    fn getdata_to(out: &Outbox<PowMsg>) -> Vec<NodeId> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::Send {
                    to,
                    msg: PowMsg::GetData { .. },
                } => Some(*to),
                _ => None,
            })
            .collect()
    }

    /// The replicas of `setup(1, 0.0, 0.0)` with timer re-requests after 10 ns.
    fn timer_rerequest_replicas() -> Vec<PowReplica> {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        spec.rerequest = Rerequest::Timer;
        spec.inv_timeout = 10;
        deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn timer_rerequest_asks_the_next_announcer_when_the_request_times_out() {
        let mut rs = timer_rerequest_replicas();
        let mut out = Outbox::default();
        rs[0].on_message(0, 1, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        assert_eq!(getdata_to(&out), vec![1]);
        let first = timers(&out);
        assert_eq!(first.len(), 1, "one request timer");
        assert_eq!(first[0].0, 10, "after inv_timeout");
        out.clear();
        // Later announcers are noted, not asked — not even after the timeout (only the timer
        // asks again); a repeated announcer is noted once.
        rs[0].on_message(3, 2, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        rs[0].on_message(11, 3, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        rs[0].on_message(12, 2, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        assert!(getdata_to(&out).is_empty());
        // A timer that fires before the request is due (a stale one) does nothing.
        rs[0].on_timer(9, first[0].1, &mut out);
        assert!(getdata_to(&out).is_empty());
        rs[0].on_timer(10, first[0].1, &mut out);
        assert_eq!(getdata_to(&out), vec![2], "the first other announcer, in INV order");
        let second = timers(&out);
        assert_eq!(second.len(), 1);
        out.clear();
        // The block arrives: its next timer is a no-op.
        rs[0].on_message(15, 2, PowMsg::Block(block(8, 0, 1, vec![])), &mut out);
        out.clear();
        rs[0].on_timer(20, second[0].1, &mut out);
        assert!(getdata_to(&out).is_empty(), "the block has arrived");
        assert!(timers(&out).is_empty());
    }

    #[test]
    fn timer_rerequest_without_another_announcer_drops_the_request_so_a_later_inv_asks_again() {
        let mut rs = timer_rerequest_replicas();
        let mut out = Outbox::default();
        rs[0].on_message(0, 1, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        let t = timers(&out)[0].1;
        out.clear();
        rs[0].on_timer(10, t, &mut out);
        assert!(
            getdata_to(&out).is_empty() && timers(&out).is_empty(),
            "nobody else to ask"
        );
        rs[0].on_message(11, 1, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        assert_eq!(getdata_to(&out), vec![1], "a new request");
        // Default (`on-inv`): no request timers at all.
        let (sc, spec) = setup(1, 0.0, 0.0);
        assert_eq!(spec.rerequest, Rerequest::OnInv);
        let mut rs: Vec<PowReplica> = deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect();
        let mut out = Outbox::default();
        rs[0].on_message(0, 1, PowMsg::Inv { id: 8, height: 1 }, &mut out);
        assert_eq!(getdata_to(&out), vec![1]);
        assert!(timers(&out).is_empty());
    }

    #[test]
    fn validation_per_kb_is_charged_and_the_statistic_records_arrival_or_validation() {
        for (at, expected_ns) in [(PropagationAt::Validated, 7 + 3_500_000), (PropagationAt::Arrival, 7)] {
            let (sc, mut spec) = setup(1, 0.0, 0.0);
            spec.block_processing = 2_000_000;
            spec.block_processing_per_kb = 1_500_000; // 1.5 ms per 1,000 bytes
            spec.propagation_at = at;
            let mut r = deploy(&sc, &spec, 0).replicas.remove(0).1;
            let b = block(7, 0, 1, vec![]); // 1,000 bytes, mined at 0
            r.tracker.borrow_mut().mined(&b);
            let mut out = Outbox::default();
            r.on_message(7, 1, PowMsg::Block(b), &mut out);
            assert_eq!(
                out.cpu, 3_500_000,
                "2 ms + 1.5 ms × 1,000 B / 1,000 B, whatever is recorded"
            );
            let t = r.tracker.borrow();
            assert_eq!(t.per_node[0], (expected_ns, 1), "{at:?}");
        }
        assert_eq!(
            per_kb(379_695, 458_263),
            174_000_170,
            "0.174 s per 458,263 B within 0.2 µs"
        );
        assert_eq!(per_kb(1, 1_499), 1, "rounded to the nearest ns");
        assert_eq!(per_kb(0, u64::MAX), 0);
    }

    #[test]
    fn inv_timeout_sets_when_another_announcer_is_asked() {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        spec.inv_timeout = 5 * NS_PER_S;
        let mut r = deploy(&sc, &spec, 0).replicas.remove(0).1;
        let mut out = Outbox::default();
        r.on_message(0, 1, PowMsg::Inv { id: 7, height: 1 }, &mut out);
        assert_eq!(sends(&out), vec![(1, 2)]);
        out.clear();
        r.on_message(5 * NS_PER_S - 1, 2, PowMsg::Inv { id: 7, height: 1 }, &mut out);
        assert!(out.actions.is_empty(), "still within the timeout");
        r.on_message(5 * NS_PER_S, 2, PowMsg::Inv { id: 7, height: 1 }, &mut out);
        assert_eq!(
            sends(&out),
            vec![(2, 2)],
            "asked again, from the new announcer, at the timeout"
        );
    }

    #[test]
    fn degree_caps_bound_every_degree_and_keep_the_count_draws() {
        let n = 400;
        let cdf: Vec<f64> = (1..=12).map(|k| f64::from(k) / 12.0).collect(); // counts 1…12
        let cap = DegreeCap {
            slack: vec![(1, 1), (4, 2), (8, 3)],
            miner: Some(60),
        };
        assert_eq!(
            (
                cap.cap_for(1),
                cap.cap_for(3),
                cap.cap_for(4),
                cap.cap_for(8),
                cap.cap_for(12)
            ),
            (2, 4, 6, 11, 15)
        );
        assert_eq!(
            DegreeCap {
                slack: vec![(4, 2)],
                miner: None
            }
            .cap_for(3),
            3,
            "below the first: no slack"
        );
        let mut is_miner = vec![false; n];
        for m in is_miner.iter_mut().take(5) {
            *m = true;
        }
        let opts = |degree_cap| PeerOptions {
            links: PeerLinks::Total,
            is_miner: is_miner.clone(),
            miner_peers: Some(50),
            miner_mesh: true,
            degree_cap,
        };
        let streams = || -> Vec<SimRng> {
            (0..n)
                .map(|i| stream_rng(11, 0, StreamLabel("pow"), i as u32))
                .collect()
        };
        let mut rngs = streams();
        let adj = peer_graph_with(n, &cdf, &mut rngs, &opts(Some(cap.clone())));
        // The counts are each node's first draw, as without caps.
        let counts: Vec<usize> = streams().iter_mut().map(|r| draw_peers(r, &cdf)).collect();
        let mut reached = 0;
        for i in 0..n {
            for &j in &adj[i] {
                assert!(adj[j as usize].contains(&(i as NodeId)), "undirected");
                assert_ne!(j as usize, i);
            }
            if i < 5 {
                assert!(adj[i].len() <= 60 && adj[i].len() >= 50, "miner {i}: {}", adj[i].len());
                assert!(
                    (0..5).filter(|&m| m != i).all(|m| adj[i].contains(&(m as NodeId))),
                    "mesh"
                );
            } else {
                assert!(
                    adj[i].len() <= cap.cap_for(counts[i]),
                    "node {i}: {} > cap",
                    adj[i].len()
                );
                reached += usize::from(adj[i].len() >= counts[i]);
            }
        }
        assert!(reached > (n - 5) * 9 / 10, "most nodes reach their count ({reached})");
        // Without caps some degree exceeds its cap (so the caps did something).
        let free = peer_graph_with(n, &cdf, &mut streams(), &opts(None));
        assert!((5..n).any(|i| free[i].len() > cap.cap_for(counts[i])));
    }

    #[test]
    fn full_mesh_and_equal_shares() {
        let rs = replicas(1);
        for (i, r) in rs.iter().enumerate() {
            assert_eq!(r.neighbours().len(), 3, "node {i}");
            assert!((r.share() - 0.25).abs() < 1e-12);
        }
    }

    #[test]
    fn inv_is_requested_once_and_block_is_relayed_to_the_others() {
        let mut r = replicas(1).remove(0);
        let mut out = Outbox::default();
        r.on_message(0, 1, PowMsg::Inv { id: 7, height: 1 }, &mut out);
        assert_eq!(sends(&out), vec![(1, 2)], "GETDATA to the announcer");
        out.clear();
        r.on_message(1, 2, PowMsg::Inv { id: 7, height: 1 }, &mut out);
        assert!(out.actions.is_empty(), "already requested");
        r.on_message(2, 1, PowMsg::Block(block(7, 0, 1, vec![])), &mut out);
        assert_eq!(out.cpu, 2_000_000, "block_processing charged");
        assert_eq!(
            sends(&out),
            vec![(2, 1), (3, 1)],
            "INV to every neighbour but the source"
        );
        assert!(
            matches!(out.actions.last(), Some(Action::SetTimer { token: 1, .. })),
            "mining starts on the new head"
        );
        assert_eq!(r.tip_height(), 1);
        // A peer asking for it gets the full block (no compact relay here).
        out.clear();
        r.on_message(3, 2, PowMsg::GetData { id: 7 }, &mut out);
        assert_eq!(sends(&out), vec![(2, 3)]);
    }

    #[test]
    fn stale_mining_timers_are_ignored() {
        let mut r = replicas(1).remove(0);
        let mut out = Outbox::default();
        r.on_start(0, &mut out);
        assert!(matches!(out.actions[..], [Action::SetTimer { token: 1, .. }]));
        out.clear();
        r.on_message(1, 1, PowMsg::Block(block(7, 0, 1, vec![])), &mut out);
        out.clear();
        r.on_timer(5, 1, &mut out);
        assert!(out.actions.is_empty(), "timer of the previous head is stale");
        r.on_timer(5, 2, &mut out);
        assert_eq!(r.tip_height(), 2, "mined on the new head");
        assert_eq!(sends(&out).len(), 3, "announced to all three neighbours");
    }

    #[test]
    fn longest_chain_ties_first_seen_reorg_returns_txs_and_k_finality() {
        let mut r = replicas(1).remove(0);
        let mut out = Outbox::default();
        let (a, b) = (tx(1, 0), tx(2, 0));
        r.on_request(0, a, &mut out);
        r.on_request(0, b, &mut out);
        assert_eq!(r.mempool_len(), 2);
        // Block X (height 1) carries a; the rival Y (height 1) carries b and arrives later.
        r.on_message(1, 1, PowMsg::Block(block(10, 0, 1, vec![a])), &mut out);
        assert_eq!(r.mempool_len(), 1);
        r.on_message(2, 2, PowMsg::Block(block(20, 0, 1, vec![b])), &mut out);
        assert_eq!(r.tip_height(), 1);
        assert_eq!(r.mempool_len(), 1, "tie: the first seen stays the head");
        // Y's child makes Y's branch longer: reorg; a returns to the mempool, b leaves it;
        // with k = 1, Y (height 1) is now final.
        out.clear();
        r.on_message(3, 2, PowMsg::Block(block(21, 20, 2, vec![])), &mut out);
        assert_eq!(r.tip_height(), 2);
        assert_eq!(r.final_height(), 1);
        assert_eq!(r.mempool_len(), 1);
        assert!(r.pending.contains_key(&1) && !r.pending.contains_key(&2));
        let committed: Vec<u64> = out
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Committed { height, .. } => Some(*height),
                _ => None,
            })
            .collect();
        assert_eq!(committed, vec![1]);
        let replies = out
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Reply { client: 0, .. }))
            .count();
        assert_eq!(replies, 1, "the submitter's own node replies for b");
        assert_eq!(r.counters().forks, 1, "X is stale once Y is final");
        // A block conflicting with the final one is never adopted.
        r.on_message(4, 1, PowMsg::Block(block(11, 10, 2, vec![])), &mut out);
        r.on_message(4, 1, PowMsg::Block(block(12, 11, 3, vec![])), &mut out);
        assert_eq!(r.final_height(), 1);
        assert_eq!(r.tip_height(), 2, "fork below the final block ignored");
    }

    #[test]
    fn orphan_waits_for_its_parent() {
        let mut r = replicas(3).remove(0);
        let mut out = Outbox::default();
        r.on_message(0, 2, PowMsg::Block(block(31, 30, 2, vec![])), &mut out);
        assert_eq!(sends(&out), vec![(2, 2)], "GETDATA for the missing parent");
        assert_eq!(r.tip_height(), 0);
        r.on_message(1, 2, PowMsg::Block(block(30, 0, 1, vec![])), &mut out);
        assert_eq!(r.tip_height(), 2, "parent and child connected");
    }

    #[test]
    fn compact_failure_requests_the_full_block() {
        let (sc, spec) = setup(1, 1.0, 1.0);
        let mut rs: Vec<PowReplica> = deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect();
        let mut out = Outbox::default();
        let b = block(40, 0, 1, vec![]);
        rs[1].on_message(0, 3, PowMsg::Block(b.clone()), &mut out);
        out.clear();
        rs[1].on_message(1, 0, PowMsg::GetData { id: 40 }, &mut out);
        let Some(Action::Send {
            msg: msg @ PowMsg::Cmpct { .. },
            ..
        }) = out.actions.first().cloned()
        else {
            panic!("compact block expected: {:?}", out.actions);
        };
        assert_eq!(PowReplica::msg_bytes(&msg), 18_000);
        out.clear();
        rs[0].on_message(2, 1, msg, &mut out);
        assert_eq!(sends(&out), vec![(1, 5)], "failure ⇒ GETBLOCKTXN");
        out.clear();
        rs[1].on_message(3, 0, PowMsg::GetBlockTxn { id: 40 }, &mut out);
        assert_eq!(sends(&out), vec![(0, 3)], "the full block follows");
    }

    #[test]
    fn peer_graph_default_options_are_the_plain_graph() {
        let mk = || -> Vec<SimRng> { (0..40).map(|i| stream_rng(5, 0, StreamLabel("pow"), i)).collect() };
        let cdf = [0.2, 0.5, 1.0];
        assert_eq!(
            peer_graph(40, &cdf, &mut mk()),
            peer_graph_with(40, &cdf, &mut mk(), &PeerOptions::default())
        );
    }

    #[test]
    fn peer_graph_miner_mesh_miner_peers_and_total_degree() {
        let n = 60;
        let mut rngs: Vec<SimRng> = (0..n).map(|i| stream_rng(7, 0, StreamLabel("pow"), i as u32)).collect();
        let mut is_miner = vec![false; n];
        for m in is_miner.iter_mut().take(4) {
            *m = true;
        }
        let cdf = [0.0, 0.0, 1.0]; // every other node: 3
        let adj = peer_graph_with(
            n,
            &cdf,
            &mut rngs,
            &PeerOptions {
                links: PeerLinks::Total,
                is_miner,
                miner_peers: Some(20),
                miner_mesh: true,
                degree_cap: None,
            },
        );
        for m in 0..4u32 {
            let others: Vec<NodeId> = (0..4).filter(|&x| x != m).collect();
            assert!(
                others.iter().all(|o| adj[m as usize].contains(o)),
                "miners meshed: {:?}",
                adj[m as usize]
            );
            // Total degree 20 (3 mesh links + 17 random), plus links others open to it.
            assert!(adj[m as usize].len() >= 20, "{}", adj[m as usize].len());
        }
        // Every node reaches its total count of 3 (it may have more: links others open).
        assert!(adj.iter().all(|a| a.len() >= 3));
        // Undirected and simple.
        for (i, a) in adj.iter().enumerate() {
            assert!(a.windows(2).all(|w| w[0] < w[1]) && !a.contains(&(i as NodeId)));
            assert!(a.iter().all(|&j| adj[j as usize].contains(&(i as NodeId))));
        }
        // With "total" the mean degree is far below that of 3 outbound links each (≈ 6).
        let non_miner_mean = adj[4..].iter().map(Vec::len).sum::<usize>() as f64 / (n - 4) as f64;
        assert!(non_miner_mean < 5.5, "{non_miner_mean}");
    }

    #[test]
    fn hash_power_shares_follow_the_miner_order() {
        let (sc, mut spec) = setup(1, 0.0, 0.0);
        spec.hash_power = HashPowerDist::Shares(vec![1.0, 3.0, 0.5, 0.5]);
        let rs: Vec<PowReplica> = deploy(&sc, &spec, 0).replicas.into_iter().map(|(_, r)| r).collect();
        let shares: Vec<f64> = rs.iter().map(|r| r.share).collect();
        assert_eq!(shares, vec![0.2, 0.6, 0.1, 0.1]);
    }

    #[test]
    fn tracker_per_node_means_follow_gervais() {
        let mut t = Tracker {
            nodes: 3,
            ..Tracker::default()
        };
        // Two blocks mined at 0 and 100 ns; node 1 has them after 10 and 30 ns (mean 20),
        // node 2 after 50 and 70 ns (mean 60); the miner's own block is not a reception.
        for (id, at) in [(1, 0), (2, 100)] {
            let mut b = block(id, 0, 1, vec![]);
            Rc::get_mut(&mut b).unwrap().mined_at = at;
            t.mined(&b);
        }
        t.node_received(1, 1, 10);
        t.node_received(2, 1, 50);
        t.node_received(1, 2, 130);
        t.node_received(2, 2, 170);
        let m = t.metrics();
        // Sorted per-node means [20, 60]: element 2/2 = 1 is the "median" (Gervais's
        // convention), element ⌊0.9 × 2⌋ = 1 the 90th percentile; the mean is 40.
        assert_eq!(m.node_mean_p50_ms, 60.0 / 1e6);
        assert_eq!(m.node_mean_p90_ms, 60.0 / 1e6);
        assert_eq!(m.node_mean_mean_ms, 40.0 / 1e6);
    }

    #[test]
    fn race_estimator_sums_share_weighted_exposure_until_each_miner_reaches_the_height() {
        // Miners 0, 1, 2 with shares 0.5 / 0.3 / 0.2 (node 3 relays only), T = 10 s.
        let s = NS_PER_S;
        let mut t = Tracker::new(4, vec![0.5, 0.3, 0.2, 0.0], 10 * s);
        let p = |x: f64| 1.0 - (-x).exp();
        // Miner 0 finds height 1 at 0 s; miner 1 adopts it at 1 s.
        t.races.mined(1, 0);
        t.tip_rose(0, 0, 1, 0);
        t.tip_rose(1, 0, 1, s);
        t.tip_rose(3, 0, 1, s); // relay-only: ignored
        assert_eq!(t.metrics().stale_expected_blocks, 0, "miner 2 is still racing");
        // Miner 2 finds a rival at 1.5 s: it stops racing the first block then; the rival is
        // raced by nobody (miners 0 and 1 are already at height 1).
        t.races.mined(1, 3 * s / 2);
        t.tip_rose(2, 0, 1, 3 * s / 2);
        let m = t.metrics();
        assert_eq!(m.stale_expected_blocks, 2);
        let first = p((0.3 * 1.0 + 0.2 * 1.5) / 10.0);
        assert!((m.stale_expected_sum - first).abs() < 1e-12, "{m:?}");
        assert!((m.stale_expected_sum_sq - first * first).abs() < 1e-12, "{m:?}");
        // Height 2 at 5 s by miner 1; miner 0 jumps from 1 to 3 (heights 2 and 3) at 6 s.
        t.races.mined(2, 5 * s);
        t.tip_rose(1, 1, 2, 5 * s);
        t.races.mined(3, 11 * s / 2);
        t.tip_rose(1, 2, 3, 11 * s / 2);
        t.tip_rose(0, 1, 3, 6 * s);
        assert_eq!(t.metrics().stale_expected_blocks, 2, "miner 2 is below both");
        t.tip_rose(2, 1, 3, 7 * s);
        let m = t.metrics();
        let h2 = p((0.5 * 1.0 + 0.2 * 2.0) / 10.0);
        let h3 = p((0.5 * 0.5 + 0.2 * 1.5) / 10.0);
        assert_eq!(m.stale_expected_blocks, 4);
        assert!((m.stale_expected_sum - (first + h2 + h3)).abs() < 1e-12, "{m:?}");
        assert!(t.races.open.is_empty(), "every height closed");
    }

    #[test]
    fn tracker_medians_and_stale_rate() {
        let mut t = Tracker {
            nodes: 4,
            ..Tracker::default()
        };
        let b1 = block(1, 0, 1, vec![]);
        t.mined(&b1);
        t.received(1, 10);
        t.received(1, 30);
        t.received(1, 50);
        let b2 = block(2, 0, 1, vec![]);
        t.mined(&b2);
        t.max_final = 1;
        let m = t.metrics();
        assert_eq!(m.blocks, 2);
        assert_eq!(m.propagated, 1);
        assert_eq!(m.propagation_p50_ms, 10.0 / 1e6, "2 of 4 nodes at t = 10 ns");
        assert_eq!(m.propagation_p90_ms, 50.0 / 1e6, "4 of 4 (≥ 3.6) at t = 50 ns");
        assert_eq!((m.stale, m.stale_rate), (1, 0.5));
    }

    proptest::proptest! {
        /// The sorted-vector block store behaves as the `BTreeMap` it replaces: inserts
        /// (new and replacing), look-ups, and `retain` visiting in id order.
        #[test]
        fn block_store_matches_a_btreemap(
            ops in proptest::collection::vec((0u64..40, 0u64..10, proptest::bool::ANY), 1..120),
            cut in 0u64..10,
        ) {
            let mut store = BlockStore::default();
            let mut model: BTreeMap<u64, Rc<Block>> = BTreeMap::new();
            for &(id, height, insert) in &ops {
                if insert {
                    let b = block(id, 0, height, Vec::new());
                    store.insert(id, b.clone());
                    model.insert(id, b);
                }
                proptest::prop_assert_eq!(store.contains_key(&id), model.contains_key(&id));
                proptest::prop_assert_eq!(store.get(&id).map(|b| b.height), model.get(&id).map(|b| b.height));
            }
            let (mut seen, mut seen_model) = (Vec::new(), Vec::new());
            store.retain(|id, b| {
                seen.push(*id);
                b.height > cut || id % 3 == 0
            });
            model.retain(|id, b| {
                seen_model.push(*id);
                b.height > cut || id % 3 == 0
            });
            proptest::prop_assert_eq!(seen, seen_model);
            proptest::prop_assert_eq!(&store.ids, &model.keys().copied().collect::<Vec<_>>());
            let heights: Vec<u64> = store.blocks.iter().map(|b| b.height).collect();
            proptest::prop_assert_eq!(heights, model.values().map(|b| b.height).collect::<Vec<_>>());
        }
    }
}
