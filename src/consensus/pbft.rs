//! PBFT (Castro & Liskov 1999): normal case, view change, checkpoints and a simple state
//! transfer.
//!
//! **Normal case.** The primary of view `v` is `validators[v mod n]`. It batches requests and
//! sends PRE-PREPARE; backups broadcast PREPARE; a replica is *prepared* with the
//! pre-prepare and `q − 1` matching prepares (same view, same digest), broadcasts COMMIT, and
//! *commits* with `q` matching commits, where `q = ⌈(n + f + 1)/2⌉` (= 2f + 1 when
//! n = 3f + 1). Blocks execute in sequence order and every replica replies to the submitters.
//! A client takes a transaction as committed after f + 1 matching replies.
//!
//! Messages per instance: (n − 1) pre-prepares + (n − 1)² prepares + n(n − 1) commits, plus
//! replies. With one-way delay δ, zero CPU and batches of one, a replica commits 3δ after the
//! primary sends pre-prepare; a client that is not a validator sees 5δ from submission
//! (request δ, pre-prepare δ, prepare δ, commit δ, reply δ), a client at the primary 4δ.
//!
//! **Checkpoints.** Every `checkpoint_interval` executed sequence numbers a replica broadcasts
//! CHECKPOINT(seq, chain digest): n(n − 1) messages per interval. `q` matching ones make the
//! checkpoint *stable*: the log below it is discarded. The log only holds sequence numbers in
//! the window (stable, stable + 2·interval] (the watermarks), so it is bounded.
//!
//! **View change.** A backup runs a timer (`view_timeout`) while it knows of a request that has
//! not executed (one its clients sent, one forwarded to it, or an accepted pre-prepare); the
//! timer restarts on every execution. On expiry it broadcasts VIEW-CHANGE(v + 1, last stable
//! checkpoint, prepared certificates) and stops taking part in view v. f + 1 view changes for
//! higher views make a replica join the smallest view that f + 1 of them reached. The new
//! primary, on `q` view changes (its own included), broadcasts NEW-VIEW with the re-proposals:
//! for every sequence number between the highest stable checkpoint and the highest prepared
//! one, the batch prepared in the highest view (same digest), or a null (empty) batch for a
//! gap. Replicas enter the view, prepare the re-proposals and carry on. If the new view has
//! not formed `view_timeout` after a replica saw `q` view changes for it, it moves on to the
//! next view with a doubled timeout (reset at the next execution). Requests are not lost:
//! backups keep the requests they received or forwarded until they execute, and re-forward
//! them to each new primary (REFORWARD, de-duplicated by the primary); the old primary turns
//! its queue and unfinished proposals into such tracked requests when it leaves its view. A
//! replica that sees f + 1 peers voting in a view above its own (e.g. after a crash, or
//! after missing NEW-VIEW) moves to that view. A replica that asked for a view change the
//! others did not want (it was partitioned) waits without voting until the next view change,
//! meanwhile forwarding its clients' requests and catching up by state transfer.
//!
//! **State transfer.** A replica that sees evidence that it is behind (f + 1 matching commits
//! for a sequence number it has not committed, or a checkpoint above its execution) waits
//! `view_timeout / 8` and, if still behind, sends FETCH(first missing seq) to a peer (rotating
//! peers, retried every `view_timeout / 4`). The peer answers BLOCKS with up to 32 committed
//! batches from its archive of the last 4·interval executed blocks. A batch in BLOCKS stands
//! for its commit certificate and is trusted (CPU: `q` signature checks per block); the
//! receiver applies the blocks in order, emitting `Committed` for each height. If the blocks
//! asked for have left the peer's archive (the replica is more than 4·interval behind), the
//! peer sends SNAPSHOT, a copy of its ledger (trusted like a stable-checkpoint certificate);
//! the receiver adopts it and reports one `Committed` at its height (the heights in between
//! are skipped, not re-executed).
//!
//! **Equivocation.** For the Byzantine equivocation fault, a primary's PRE-PREPARE has a
//! conflicting twin (same view and seq, the batch without its last transaction); a replica's
//! PREPARE/COMMIT has a twin voting for the other digest. The simulator sends the original to
//! the first n − f members and the twin to the last f ([`Replica::equivocation_split`]): with
//! f + 1 equivocators (the primary among the first n − f) two correct replicas commit
//! different blocks at the same height, which the safety checker reports.
//!
//! Not implemented: client retransmission (requests sent to a crashed node are lost), request
//! de-duplication beyond the primary's log and archive, MACs.

use super::shared_apply::SharedApply;
use super::tracked::Tracked;
use super::{Action, Batch, Deployment, Outbox, Replica, push_batch_replies};
use crate::engine::SimTime;
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{CpuCosts, NodeId, PbftSpec, Scenario};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// What a VIEW-CHANGE message carries.
#[derive(Debug)]
pub struct ViewChangeCert {
    /// The sender's last stable checkpoint.
    pub stable: u64,
    /// Prepared certificates above it: `(view prepared in, batch)`, by sequence number.
    pub prepared: Vec<(u64, Rc<Batch>)>,
}

/// PBFT messages.
#[derive(Debug, Clone)]
pub enum PbftMsg {
    /// A backup forwards a client request to the primary (boxed: keeps the message, and so
    /// every simulator event, small).
    Forward(Box<TxEntry>),
    /// Requests re-sent to a (new) primary; never forwarded further.
    Reforward(Rc<Vec<TxEntry>>),
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
    /// All → all, every `checkpoint_interval` executions.
    Checkpoint {
        /// Sequence number executed.
        seq: u64,
        /// Ledger chain digest after it.
        digest: u64,
    },
    /// All → all: move to `view`.
    ViewChange {
        /// The view asked for.
        view: u64,
        /// Stable checkpoint and prepared certificates.
        cert: Rc<ViewChangeCert>,
    },
    /// New primary → all.
    NewView {
        /// The view.
        view: u64,
        /// Highest stable checkpoint among the view changes used.
        stable: u64,
        /// Re-proposals for `stable + 1 ..`, in order (null batches for gaps).
        batches: Rc<Vec<Rc<Batch>>>,
    },
    /// State transfer: ask for committed blocks from `from` on.
    Fetch {
        /// First missing sequence number.
        from: u64,
    },
    /// State transfer: committed blocks, in order.
    Blocks {
        /// The blocks (each stands for its commit certificate).
        blocks: Rc<Vec<Rc<Batch>>>,
    },
    /// State transfer when the blocks asked for left the sender's archive: its ledger at its
    /// last executed height (stands for a stable-checkpoint certificate).
    Snapshot(Rc<Ledger>),
}

#[derive(Debug, Default)]
struct Instance {
    /// View of the pre-prepare held in `batch`.
    view: u64,
    batch: Option<Rc<Batch>>,
    votes: Votes,
    prepared: bool,
    committed: bool,
    executed: bool,
    /// The replies went out when it committed (`reply = "on-commit"`), not at execution.
    replied: bool,
    /// Prepared certificate: view and batch (kept across views for VIEW-CHANGE).
    pcert: Option<(u64, Rc<Batch>)>,
}

impl Instance {
    fn count(&self, view: u64, digest: u64, commit: bool) -> u32 {
        self.votes.count(view, digest, commit)
    }

    /// Whether [`PbftReplica::check`] at `view` with quorum `q`, for an active replica in
    /// `view`, would change this instance (prepare it or commit it): false when it would
    /// return having done nothing. The same conditions, read without changing anything.
    #[inline(always)]
    fn check_can_advance(&self, view: u64, q: u32) -> bool {
        if self.view != view || self.executed {
            return false;
        }
        let Some(batch) = self.batch.as_ref() else { return false };
        if self.prepared {
            !self.committed && self.votes.count(view, batch.digest, true) >= q
        } else {
            self.votes.count(view, batch.digest, false) + 1 >= q
        }
    }

    /// Back to the empty instance, keeping the vote tables' allocation.
    fn reset(&mut self) {
        self.view = 0;
        self.batch = None;
        self.votes.clear();
        self.prepared = false;
        self.committed = false;
        self.executed = false;
        self.replied = false;
        self.pcert = None;
    }
}

/// A set of validator indices: two inline words (n ≤ 128 allocates nothing), more on the heap.
/// Insert and lookup O(1).
#[derive(Debug, Default, Clone)]
struct Bits {
    lo: [u64; 2],
    hi: Vec<u64>,
}

impl Bits {
    #[inline]
    fn contains(&self, i: usize) -> bool {
        let (w, b) = (i / 64, i % 64);
        let word = if w < 2 {
            self.lo[w]
        } else {
            self.hi.get(w - 2).copied().unwrap_or(0)
        };
        word >> b & 1 == 1
    }

    #[inline(always)]
    fn insert(&mut self, i: usize) {
        let (w, b) = (i / 64, i % 64);
        if w < 2 {
            self.lo[w] |= 1 << b;
        } else {
            self.insert_high(i);
        }
    }

    /// [`Bits::insert`] for `i ≥ 128`.
    #[inline(never)]
    fn insert_high(&mut self, i: usize) {
        let (w, b) = (i / 64, i % 64);
        if self.hi.len() <= w - 2 {
            self.hi.resize(w - 1, 0);
        }
        self.hi[w - 2] |= 1 << b;
    }
}

/// Votes for one digest in one view.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    digest: u64,
    prepares: u32,
    commits: u32,
}

/// The votes of one instance in one view: who voted (per kind, for duplicate detection
/// whatever the digest) and how many votes each digest has. Correct replicas vote for one
/// digest per view, so `more` stays empty (no allocation) unless someone equivocates.
#[derive(Debug, Clone)]
struct ViewVotes {
    view: u64,
    prepared_by: Bits,
    committed_by: Bits,
    /// Tally of the first digest voted for in this view.
    main: Tally,
    /// Tallies of other digests.
    more: Vec<Tally>,
}

impl ViewVotes {
    #[inline]
    fn tally(&self, digest: u64) -> Option<&Tally> {
        if self.main.digest == digest {
            Some(&self.main)
        } else {
            self.more.iter().find(|t| t.digest == digest)
        }
    }
}

/// Vote bookkeeping of one instance, equivalent to a list of `(from, view, digest, kind)`
/// votes counted by `(view, digest, kind)` and de-duplicated by `(from, view, kind)`, but with
/// O(1) counting and duplicate checks (O(views held), in practice one) instead of a scan.
#[derive(Debug, Default)]
struct Votes {
    /// One view's votes inline (the usual case: no allocation per instance).
    first: Option<ViewVotes>,
    /// Votes of further views (after view changes).
    rest: Vec<ViewVotes>,
}

impl Votes {
    #[inline]
    fn of(&self, view: u64) -> Option<&ViewVotes> {
        match &self.first {
            Some(v) if v.view == view => Some(v),
            _ => self.rest.iter().find(|v| v.view == view),
        }
    }

    #[inline]
    fn of_mut(&mut self, view: u64) -> Option<&mut ViewVotes> {
        match &mut self.first {
            Some(v) if v.view == view => Some(v),
            _ => self.rest.iter_mut().find(|v| v.view == view),
        }
    }

    /// Validator `idx` voted in `view` for the kind (any digest).
    #[inline]
    fn has(&self, idx: usize, view: u64, commit: bool) -> bool {
        self.of(view).is_some_and(|v| {
            if commit {
                v.committed_by.contains(idx)
            } else {
                v.prepared_by.contains(idx)
            }
        })
    }

    /// Add a vote (no duplicate check: callers check with [`Votes::has`] where needed).
    #[inline]
    fn add(&mut self, idx: usize, view: u64, digest: u64, commit: bool) {
        if self.of_mut(view).is_none() {
            let fresh = ViewVotes {
                view,
                prepared_by: Bits::default(),
                committed_by: Bits::default(),
                main: Tally {
                    digest,
                    prepares: 0,
                    commits: 0,
                },
                more: Vec::new(),
            };
            if self.first.is_none() {
                self.first = Some(fresh);
            } else {
                self.rest.push(fresh);
            }
        }
        let v = self.of_mut(view).expect("just ensured");
        let t = if v.main.digest == digest {
            &mut v.main
        } else {
            match v.more.iter().position(|t| t.digest == digest) {
                Some(p) => &mut v.more[p],
                None => {
                    v.more.push(Tally {
                        digest,
                        prepares: 0,
                        commits: 0,
                    });
                    v.more.last_mut().expect("just pushed")
                }
            }
        };
        if commit {
            t.commits += 1;
            v.committed_by.insert(idx);
        } else {
            t.prepares += 1;
            v.prepared_by.insert(idx);
        }
    }

    /// Add the vote of validator `idx` unless it already voted in `view` for the kind (any
    /// digest): [`Votes::has`] then [`Votes::add`] with one look-up of the view in the usual
    /// case. True if the vote was added.
    #[inline(always)]
    fn add_if_new(&mut self, idx: usize, view: u64, digest: u64, commit: bool) -> bool {
        if let Some(v) = &mut self.first
            && v.view == view
            && v.main.digest == digest
        {
            let (by, n) = if commit {
                (&mut v.committed_by, &mut v.main.commits)
            } else {
                (&mut v.prepared_by, &mut v.main.prepares)
            };
            if by.contains(idx) {
                return false;
            }
            by.insert(idx);
            *n += 1;
            return true;
        }
        self.add_if_new_slow(idx, view, digest, commit)
    }

    /// [`Votes::add_if_new`] for a vote that is not for the first view's main digest.
    #[inline(never)]
    fn add_if_new_slow(&mut self, idx: usize, view: u64, digest: u64, commit: bool) -> bool {
        if self.has(idx, view, commit) {
            return false;
        }
        self.add(idx, view, digest, commit);
        true
    }

    /// Votes in `view` for `digest` of the kind.
    #[inline(always)]
    fn count(&self, view: u64, digest: u64, commit: bool) -> u32 {
        self.of(view)
            .and_then(|v| v.tally(digest))
            .map_or(0, |t| if commit { t.commits } else { t.prepares })
    }

    /// Drop the votes of views below `w`.
    fn retain_from(&mut self, w: u64) {
        if self.first.as_ref().is_some_and(|v| v.view < w) {
            self.first = None;
        }
        self.rest.retain(|v| v.view >= w);
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

/// The replica's log: instances by sequence number in a ring (`VecDeque`) starting at
/// `base`, gaps held as empty instances (which every reader treats like absent ones).
/// Lookup O(1); creating an instance below `base` or beyond the end O(distance); dropping a
/// prefix O(dropped). Dropped instances go to a pool and are reused with their allocations,
/// so a replica with checkpoints allocates nothing per instance in steady state.
#[derive(Debug, Default)]
struct SeqLog {
    base: u64,
    ring: VecDeque<Instance>,
    pool: Vec<Instance>,
}

impl SeqLog {
    #[inline]
    fn len(&self) -> usize {
        self.ring.len()
    }

    #[inline]
    fn get(&self, seq: u64) -> Option<&Instance> {
        let i = seq.checked_sub(self.base)?;
        self.ring.get(usize::try_from(i).ok()?)
    }

    #[inline]
    fn get_mut(&mut self, seq: u64) -> Option<&mut Instance> {
        let i = seq.checked_sub(self.base)?;
        self.ring.get_mut(usize::try_from(i).ok()?)
    }

    fn fresh(&mut self) -> Instance {
        self.pool.pop().unwrap_or_default()
    }

    /// The instance at `seq`, created (with the empty ones in between) if needed.
    #[inline(always)]
    fn entry(&mut self, seq: u64) -> &mut Instance {
        if let Some(i) = seq.checked_sub(self.base)
            && (i as usize) < self.ring.len()
        {
            return &mut self.ring[i as usize]; // held already (the usual case)
        }
        self.entry_slow(seq)
    }

    /// [`SeqLog::entry`] for an instance not held yet.
    #[inline(never)]
    fn entry_slow(&mut self, seq: u64) -> &mut Instance {
        if self.ring.is_empty() {
            self.base = seq;
        }
        while seq < self.base {
            let i = self.fresh();
            self.ring.push_front(i);
            self.base -= 1;
        }
        let i = (seq - self.base) as usize;
        while self.ring.len() <= i {
            let inst = self.fresh();
            self.ring.push_back(inst);
        }
        &mut self.ring[i]
    }

    /// Drop every instance at or below `seq`.
    fn drop_through(&mut self, seq: u64) {
        while self.base <= seq
            && let Some(mut inst) = self.ring.pop_front()
        {
            inst.reset();
            self.pool.push(inst);
            self.base += 1;
        }
    }

    /// Instances from `seq` on, in sequence order.
    fn iter_from(&self, seq: u64) -> impl Iterator<Item = &Instance> {
        self.ring.iter().skip(seq.saturating_sub(self.base) as usize)
    }

    /// Instances from `seq` on, in sequence order.
    fn iter_from_mut(&mut self, seq: u64) -> impl Iterator<Item = &mut Instance> {
        let skip = seq.saturating_sub(self.base) as usize;
        self.ring.iter_mut().skip(skip)
    }

    /// All instances, in sequence order.
    fn iter(&self) -> impl Iterator<Item = &Instance> {
        self.ring.iter()
    }
}

/// Timer kinds (low two bits of the token; the rest is a generation number).
const BATCH_TIMER: u64 = 1;
const VIEW_TIMER: u64 = 2;
const FETCH_TIMER: u64 = 3;
/// Blocks per BLOCKS reply.
const FETCH_MAX: usize = 32;

/// Digest of the equivocation twin of `b` (its transactions without the last one).
fn twin_digest(b: &Batch) -> Option<u64> {
    let k = b.txs.len().checked_sub(1)?;
    Some(
        b.txs[..k]
            .iter()
            .fold(crate::engine::rng::splitmix64(b.seq), crate::ledger::fold_tx),
    )
}

/// One PBFT replica.
pub struct PbftReplica {
    id: NodeId,
    /// Index of `id` in `validators`.
    me: usize,
    validators: Vec<NodeId>,
    /// Validator index by node id (`u32::MAX`: not a validator).
    slot: Vec<u32>,
    f: u32,
    /// Quorum ⌈(n + f + 1)/2⌉.
    q: u32,
    /// Reply when an instance commits locally instead of when it is executed.
    reply_on_commit: bool,
    view: u64,
    /// Taking part in `view` (false while waiting for its NEW-VIEW).
    active: bool,
    /// Last view this replica was active in.
    last_active_view: u64,
    /// Entered `view` without its NEW-VIEW (it may still arrive).
    nv_missing: bool,
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
    // Log: instances in (stable, stable + window]; executed ones stay until a checkpoint.
    instances: SeqLog,
    last_executed: u64,
    ledger: Ledger,
    /// Block executions shared with the other replicas of the deployment.
    shared: Rc<RefCell<SharedApply>>,
    // Checkpoints.
    interval: u64,
    stable: u64,
    checkpoints: BTreeMap<u64, Vec<(NodeId, u64)>>,
    archive: VecDeque<Rc<Batch>>,
    // View change.
    base_timeout: SimTime,
    vc_timeout: SimTime,
    vt_gen: u64,
    vt_on: bool,
    last_progress: SimTime,
    vcs: BTreeMap<u64, Vec<(NodeId, Rc<ViewChangeCert>)>>,
    vc_announced: Vec<u64>,
    peer_view: Vec<u64>,
    tracked: Tracked,
    view_changes: u64,
    // State transfer.
    behind: u64,
    fetch_gen: u64,
    fetch_armed: bool,
    fetch_rr: usize,
}

impl PbftReplica {
    /// A replica `id` of `validators` (sorted) with `spec`'s parameters.
    fn new(scenario: &Scenario, spec: &PbftSpec, id: NodeId, shared: Rc<RefCell<SharedApply>>) -> PbftReplica {
        let n = spec.validators.len();
        let f = max_faulty(n) as u32;
        let accounts = scenario.topology.nodes.len();
        PbftReplica {
            id,
            me: spec.validators.binary_search(&id).expect("a validator"),
            validators: spec.validators.clone(),
            slot: {
                let top = spec.validators.iter().max().map_or(0, |&v| v as usize + 1);
                let mut slot = vec![u32::MAX; top];
                for (k, &v) in spec.validators.iter().enumerate() {
                    slot[v as usize] = k as u32;
                }
                slot
            },
            f,
            q: quorum(n) as u32,
            reply_on_commit: spec.reply_on_commit,
            view: 0,
            active: true,
            last_active_view: 0,
            nv_missing: false,
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
            instances: SeqLog::default(),
            last_executed: 0,
            ledger: Ledger::new(accounts, scenario.initial_balance_minor),
            shared,
            interval: spec.checkpoint_interval.max(1),
            stable: 0,
            checkpoints: BTreeMap::new(),
            archive: VecDeque::new(),
            base_timeout: spec.view_timeout.max(1),
            vc_timeout: spec.view_timeout.max(1),
            vt_gen: 0,
            vt_on: false,
            last_progress: 0,
            vcs: BTreeMap::new(),
            vc_announced: vec![0; n],
            peer_view: vec![0; n],
            tracked: Tracked::default(),
            view_changes: 0,
            behind: 0,
            fetch_gen: 0,
            fetch_armed: false,
            fetch_rr: 0,
        }
    }

    /// Instances held in the log (bounded by the watermarks; for tests and debugging).
    pub fn log_len(&self) -> usize {
        self.instances.len()
    }

    /// Current view.
    pub fn view(&self) -> u64 {
        self.view
    }

    /// Last stable checkpoint.
    pub fn stable_checkpoint(&self) -> u64 {
        self.stable
    }

    fn n(&self) -> usize {
        self.validators.len()
    }

    fn primary_of(&self, view: u64) -> NodeId {
        self.validators[(view % self.n() as u64) as usize]
    }

    fn is_primary(&self) -> bool {
        self.active && self.primary_of(self.view) == self.id
    }

    #[inline]
    fn index_of(&self, node: NodeId) -> Option<usize> {
        match self.slot.get(node as usize) {
            Some(&k) if k != u32::MAX => Some(k as usize),
            _ => None,
        }
    }

    /// High watermark distance: the log holds (stable, stable + window].
    fn window(&self) -> u64 {
        2 * self.interval
    }

    fn in_flight(&self) -> u64 {
        self.next_seq.saturating_sub(self.last_executed)
    }

    fn timer(&self, kind: u64, gen_: u64, after: SimTime, out: &mut Outbox<PbftMsg>) {
        out.push(Action::SetTimer {
            after: after.max(1),
            token: kind | (gen_ << 2),
        });
    }

    /// Primary: propose while the pipeline has room and a batch is due (full, or the oldest
    /// pending request has waited `timeout`).
    fn try_propose(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        if !self.is_primary() {
            return;
        }
        while self.in_flight() < u64::from(self.pipeline)
            && self.next_seq < self.stable + self.window()
            && !self.pending.is_empty()
        {
            let full = self.pending.len() >= self.max_tx || self.pending_bytes >= self.max_bytes;
            let due = now >= self.oldest_pending.saturating_add(self.timeout);
            if !(full || due) {
                break;
            }
            let mut txs = crate::consensus::Few::with_capacity(self.max_tx.min(self.pending.len()));
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
            let inst = self.instances.entry(batch.seq);
            inst.view = self.view;
            inst.batch = Some(batch.clone());
            out.push(Action::Broadcast {
                msg: PbftMsg::PrePrepare { view: self.view, batch },
            });
            let seq = self.next_seq;
            self.check(now, seq, out);
        }
        // A timer is needed only while a slot is free and the batch is not yet due; with a
        // full pipeline, the next completed instance calls `try_propose` again.
        if !self.pending.is_empty() && !self.timer_armed && self.in_flight() < u64::from(self.pipeline) {
            self.timer_armed = true;
            let wait = self.oldest_pending.saturating_add(self.timeout).saturating_sub(now);
            self.timer(BATCH_TIMER, 0, wait, out);
        }
    }

    /// Advance instance `seq` through prepared → committed, then execute in order.
    fn check(&mut self, now: SimTime, seq: u64, out: &mut Outbox<PbftMsg>) {
        if !self.active {
            return;
        }
        let (q, view, me) = (self.q, self.view, self.me);
        let Some(inst) = self.instances.get_mut(seq) else {
            return;
        };
        if inst.view != view || inst.executed {
            return;
        }
        let Some(batch) = inst.batch.as_ref() else { return };
        let digest = batch.digest;
        if !inst.prepared && inst.count(view, digest, false) + 1 >= q {
            inst.prepared = true;
            inst.pcert = Some((view, batch.clone()));
            inst.votes.add(me, view, digest, true);
            out.charge(self.cpu.sign);
            out.push(Action::Broadcast {
                msg: PbftMsg::Commit { view, seq, digest },
            });
        }
        if inst.prepared && !inst.committed && inst.count(view, digest, true) >= q {
            inst.committed = true;
            if self.reply_on_commit && !inst.replied {
                inst.replied = true;
                push_batch_replies(batch, out);
            }
            self.execute_ready(now, out);
        }
    }

    fn execute_ready(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        let mut progressed = false;
        loop {
            let s = self.last_executed + 1;
            let Some(inst) = self.instances.get_mut(s) else { break };
            if !inst.committed || inst.executed {
                break;
            }
            inst.executed = true;
            let replied = inst.replied;
            let batch = inst.batch.clone().expect("committed instances have their batch");
            self.apply(now, batch, replied, out);
            progressed = true;
        }
        if progressed {
            self.try_propose(now, out);
        }
    }

    /// Execute the next block: ledger, `Committed`, replies (unless `replied` at its commit),
    /// checkpoint.
    fn apply(&mut self, now: SimTime, batch: Rc<Batch>, replied: bool, out: &mut Outbox<PbftMsg>) {
        debug_assert_eq!(batch.seq, self.last_executed + 1);
        self.last_executed = batch.seq;
        out.charge(self.cpu.execute_tx * batch.txs.len() as u64 + self.cpu.db_commit + self.cpu.sign);
        let digest = SharedApply::apply(&self.shared, &mut self.ledger, &batch);
        out.push(Action::Committed {
            height: self.ledger.height(),
            digest,
        });
        if !replied {
            push_batch_replies(&batch, out);
        }
        if !self.tracked.is_empty() {
            self.tracked.remove_executed(&batch);
        }
        self.last_progress = now;
        self.vc_timeout = self.base_timeout;
        if self.archive.len() as u64 >= 2 * self.window() {
            self.archive.pop_front();
        }
        let seq = batch.seq;
        self.archive.push_back(batch);
        if seq.is_multiple_of(self.interval) {
            out.charge(self.cpu.sign);
            self.checkpoints.entry(seq).or_default().push((self.id, digest));
            out.push(Action::Broadcast {
                msg: PbftMsg::Checkpoint { seq, digest },
            });
            self.check_stable(now, seq, out);
        }
    }

    fn check_stable(&mut self, now: SimTime, seq: u64, out: &mut Outbox<PbftMsg>) {
        let Some(votes) = self.checkpoints.get(&seq) else {
            return;
        };
        let best = votes
            .iter()
            .map(|&(_, d)| votes.iter().filter(|v| v.1 == d).count() as u32)
            .max()
            .unwrap_or(0);
        if best >= self.q && seq > self.stable {
            self.stable = seq;
            self.instances.drop_through(seq);
            self.checkpoints = self.checkpoints.split_off(&(seq + 1));
            if self.last_executed < seq {
                self.next_seq = self.next_seq.max(seq);
                self.note_behind(seq, true, out);
            }
            self.try_propose(now, out);
        } else if best > self.f && seq > self.last_executed {
            self.note_behind(seq, false, out);
        }
    }

    /// Evidence that `seq` committed elsewhere: fetch if still missing after a while.
    fn note_behind(&mut self, seq: u64, urgent: bool, out: &mut Outbox<PbftMsg>) {
        if seq <= self.last_executed {
            return;
        }
        self.behind = self.behind.max(seq);
        if !self.fetch_armed {
            self.fetch_armed = true;
            self.fetch_gen += 1;
            let after = if urgent { 1 } else { self.base_timeout / 8 };
            self.timer(FETCH_TIMER, self.fetch_gen, after, out);
        }
    }

    fn send_fetch(&mut self, out: &mut Outbox<PbftMsg>) {
        let n = self.n();
        self.fetch_rr = self.fetch_rr % (n - 1) + 1;
        let to = self.validators[(self.me + self.fetch_rr) % n];
        out.charge(self.cpu.sign);
        out.push(Action::Send {
            to,
            msg: PbftMsg::Fetch {
                from: self.last_executed + 1,
            },
        });
        self.fetch_armed = true;
        self.fetch_gen += 1;
        self.timer(FETCH_TIMER, self.fetch_gen, self.base_timeout / 4, out);
    }

    fn has_work(&self) -> bool {
        !self.tracked.is_empty()
            || self
                .instances
                .iter_from(self.last_executed + 1)
                .any(|i| i.batch.is_some())
    }

    /// Backups: keep a view timer running while there is work. The usual case (the timer
    /// runs already, or the replica is not active) returns inline.
    #[inline(always)]
    fn update_view_timer(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        if !self.active || self.vt_on {
            return;
        }
        self.start_view_timer_if_needed(now, out);
    }

    /// The rest of [`PbftReplica::update_view_timer`] (active, no view timer running).
    #[inline(never)]
    fn start_view_timer_if_needed(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        if self.primary_of(self.view) == self.id || !self.has_work() {
            return;
        }
        self.last_progress = now;
        self.vt_on = true;
        self.vt_gen += 1;
        self.timer(VIEW_TIMER, self.vt_gen, self.vc_timeout, out);
    }

    /// Leaving an active view: an old primary's queue and unfinished proposals become
    /// tracked requests (re-forwarded to the next primary).
    fn leave_view(&mut self) {
        if !self.is_primary() {
            return;
        }
        for (_, tx) in self.pending.drain(..) {
            self.tracked.insert(tx);
        }
        self.pending_bytes = 0;
        for inst in self.instances.iter_from(self.last_executed + 1) {
            if let (false, Some(b)) = (inst.committed, inst.batch.as_ref()) {
                for tx in &b.txs {
                    self.tracked.insert(*tx);
                }
            }
        }
    }

    fn start_view_change(&mut self, now: SimTime, w: u64, out: &mut Outbox<PbftMsg>) {
        if w < self.view || (w == self.view && !self.active) {
            return;
        }
        if self.active {
            self.leave_view();
        }
        self.view = w;
        self.active = false;
        self.vt_gen += 1;
        self.vt_on = false;
        let prepared = self
            .instances
            .iter()
            .filter_map(|i| i.pcert.as_ref().map(|(v, b)| (*v, b.clone())))
            .collect();
        let cert = Rc::new(ViewChangeCert {
            stable: self.stable,
            prepared,
        });
        out.charge(self.cpu.sign);
        out.push(Action::Broadcast {
            msg: PbftMsg::ViewChange {
                view: w,
                cert: cert.clone(),
            },
        });
        self.vc_announced[self.me] = w;
        self.store_vc(self.id, w, cert);
        self.after_vc(now, w, out);
    }

    fn store_vc(&mut self, from: NodeId, w: u64, cert: Rc<ViewChangeCert>) {
        let set = self.vcs.entry(w).or_default();
        match set.iter_mut().find(|(j, _)| *j == from) {
            Some(e) => e.1 = cert,
            None => set.push((from, cert)),
        }
    }

    /// With `q` view changes for the view we wait for: the new primary sends NEW-VIEW, the
    /// others start the escalation timer.
    fn after_vc(&mut self, now: SimTime, w: u64, out: &mut Outbox<PbftMsg>) {
        if w != self.view || self.active {
            return;
        }
        let count = self.vcs.get(&w).map_or(0, |s| s.len()) as u32;
        if count < self.q {
            return;
        }
        if self.primary_of(w) == self.id {
            self.send_new_view(now, w, out);
        } else if !self.vt_on {
            self.vt_on = true;
            self.vt_gen += 1;
            self.timer(VIEW_TIMER, self.vt_gen, self.vc_timeout, out);
        }
    }

    /// f + 1 replicas asked for views above ours: join the highest view f + 1 of them reached.
    fn maybe_join(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        let mut higher: Vec<u64> = (0..self.n())
            .filter(|&k| k != self.me && self.vc_announced[k] > self.view)
            .map(|k| self.vc_announced[k])
            .collect();
        if higher.len() > self.f as usize {
            higher.sort_unstable_by(|a, b| b.cmp(a));
            let w = higher[self.f as usize];
            self.start_view_change(now, w, out);
        }
    }

    /// f + 1 peers vote in a view above ours (or in the view we wait for): move there.
    #[inline]
    fn saw_view(&mut self, now: SimTime, from: NodeId, view: u64, out: &mut Outbox<PbftMsg>) {
        if let Some(k) = self.index_of(from) {
            self.peer_view[k] = self.peer_view[k].max(view);
        }
        if view < self.view || (view == self.view && self.active) {
            return;
        }
        self.saw_later_view(now, out);
    }

    /// [`PbftReplica::saw_view`] for a view at or above ours while not active in it (rare):
    /// join the view f + 1 peers are in, if it is later than ours.
    #[cold]
    #[inline(never)]
    fn saw_later_view(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        let mut higher: Vec<u64> = (0..self.n())
            .filter(|&k| k != self.me)
            .map(|k| self.peer_view[k])
            .collect();
        higher.sort_unstable_by(|a, b| b.cmp(a));
        let w = higher[self.f as usize];
        if w > self.view || (w == self.view && !self.active) {
            self.enter_view(now, w, 0, None, out);
        }
    }

    fn send_new_view(&mut self, now: SimTime, w: u64, out: &mut Outbox<PbftMsg>) {
        let set = self.vcs.get(&w).expect("q view changes");
        let min_s = set.iter().map(|(_, c)| c.stable).max().unwrap_or(0);
        let mut best: BTreeMap<u64, (u64, Rc<Batch>)> = BTreeMap::new();
        let mut verify = 0;
        for (_, c) in set {
            verify += 1 + c.prepared.len() as u64;
            for (pv, b) in &c.prepared {
                if b.seq > min_s {
                    let e = best.entry(b.seq).or_insert((*pv, b.clone()));
                    if *pv > e.0 {
                        *e = (*pv, b.clone());
                    }
                }
            }
        }
        let max_s = best.keys().next_back().copied().unwrap_or(min_s).max(min_s);
        let batches: Vec<Rc<Batch>> = (min_s + 1..=max_s)
            .map(|s| match best.remove(&s) {
                Some((_, b)) => b,
                None => Rc::new(Batch::new(s, Vec::new())),
            })
            .collect();
        let batches = Rc::new(batches);
        out.charge(self.cpu.verify * verify + self.cpu.sign);
        out.push(Action::Broadcast {
            msg: PbftMsg::NewView {
                view: w,
                stable: min_s,
                batches: batches.clone(),
            },
        });
        self.enter_view(now, w, min_s, Some(batches), out);
    }

    /// Enter view `w` (with the NEW-VIEW's re-proposals if we have them).
    fn enter_view(
        &mut self,
        now: SimTime,
        w: u64,
        min_s: u64,
        batches: Option<Rc<Vec<Rc<Batch>>>>,
        out: &mut Outbox<PbftMsg>,
    ) {
        let fresh = !(w == self.view && self.active);
        if fresh {
            if self.active {
                self.leave_view();
            }
            self.view = w;
            self.active = true;
            self.last_active_view = w;
            self.view_changes += 1;
            self.vcs = self.vcs.split_off(&(w + 1));
            self.vt_gen += 1;
            self.vt_on = false;
            self.timer_armed = false;
            self.last_progress = now;
            let le = self.last_executed;
            for inst in self.instances.iter_from_mut(le + 1) {
                inst.votes.retain_from(w);
                if !inst.committed {
                    inst.batch = None;
                    inst.prepared = false;
                }
            }
        }
        self.nv_missing = batches.is_none();
        let primary = self.primary_of(w) == self.id;
        let mut max_s = min_s;
        if let Some(batches) = batches {
            for b in batches.iter() {
                max_s = max_s.max(b.seq);
                if b.seq <= self.last_executed {
                    continue;
                }
                let me = self.me;
                let inst = self.instances.entry(b.seq);
                if inst.committed || (inst.view == w && inst.batch.is_some()) {
                    continue;
                }
                inst.view = w;
                inst.batch = Some(b.clone());
                if !primary {
                    inst.votes.add(me, w, b.digest, false);
                    out.charge(self.cpu.sign);
                    out.push(Action::Broadcast {
                        msg: PbftMsg::Prepare {
                            view: w,
                            seq: b.seq,
                            digest: b.digest,
                        },
                    });
                }
            }
            for b in batches.iter() {
                self.check(now, b.seq, out);
            }
        }
        if min_s > self.last_executed {
            self.note_behind(min_s, true, out);
        }
        if primary {
            if fresh {
                self.next_seq = self.next_seq.max(self.last_executed);
            }
            self.next_seq = self.next_seq.max(max_s);
            let txs: Vec<TxEntry> = self.tracked.take_all();
            self.admit(now, &txs);
            self.try_propose(now, out);
        } else if fresh && !self.tracked.is_empty() {
            let txs: Vec<TxEntry> = self.tracked.values().copied().collect();
            out.charge(self.cpu.sign);
            out.push(Action::Send {
                to: self.primary_of(w),
                msg: PbftMsg::Reforward(Rc::new(txs)),
            });
        }
        self.execute_ready(now, out);
        self.update_view_timer(now, out);
    }

    /// Primary: queue re-forwarded requests not already queued, in the log or executed recently.
    fn admit(&mut self, now: SimTime, txs: &[TxEntry]) {
        if txs.is_empty() {
            return;
        }
        let mut seen: BTreeSet<u64> = self.pending.iter().map(|(_, t)| t.id).collect();
        for inst in self.instances.iter() {
            for b in inst.batch.iter().chain(inst.pcert.as_ref().map(|p| &p.1)) {
                seen.extend(b.txs.iter().map(|t| t.id));
            }
        }
        for b in &self.archive {
            seen.extend(b.txs.iter().map(|t| t.id));
        }
        for tx in txs {
            if seen.insert(tx.id) {
                if self.pending.is_empty() {
                    self.oldest_pending = now;
                }
                self.pending_bytes += u64::from(tx.size);
                self.pending.push_back((now, *tx));
            }
        }
    }

    /// Record a vote of `from` (a validator) in `view` for `digest`; false if it is stale,
    /// out of the window or a duplicate (same sender, view and kind, whatever the digest).
    #[inline]
    fn record_vote(&mut self, from: NodeId, view: u64, digest: u64, commit: bool, seq: u64) -> bool {
        let floor = if commit {
            self.view.min(self.last_active_view)
        } else {
            self.view
        };
        if seq <= self.last_executed || seq > self.stable + self.window() || view < floor {
            return false;
        }
        // Votes only come from validators (the members PBFT broadcasts to).
        let Some(idx) = self.index_of(from) else {
            return false;
        };
        self.instances.entry(seq).votes.add_if_new(idx, view, digest, commit)
    }

    /// A PREPARE (`commit` false) or COMMIT of `from` for `(view, seq, digest)`: the
    /// `Prepare` / `Commit` arms of `on_message` (verify charge, [`PbftReplica::saw_view`],
    /// [`PbftReplica::record_vote`], [`PbftReplica::check`], for a commit the state-transfer
    /// hint, then [`PbftReplica::update_view_timer`]) with one look-up of the sender's index
    /// and of the instance, and without the call to `check` when the vote just counted
    /// cannot advance the instance (the usual case: all but the q-th prepare and commit).
    /// The same state changes and outputs in the same order.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn on_vote(
        &mut self,
        now: SimTime,
        from: NodeId,
        view: u64,
        seq: u64,
        digest: u64,
        commit: bool,
        out: &mut Outbox<PbftMsg>,
    ) {
        out.charge(self.cpu.verify);
        // `saw_view`.
        let idx = self.index_of(from);
        if let Some(k) = idx {
            self.peer_view[k] = self.peer_view[k].max(view);
        }
        if !(view < self.view || (view == self.view && self.active)) {
            self.saw_later_view(now, out);
        }
        // `record_vote`: a vote that is not recorded changes nothing else; a prepare still
        // updates the view timer, a commit returns at once.
        let floor = if commit {
            self.view.min(self.last_active_view)
        } else {
            self.view
        };
        let (cur_view, q, f, active) = (self.view, self.q, self.f, self.active);
        let in_window = seq > self.last_executed && seq <= self.stable + self.window() && view >= floor;
        let (true, Some(idx)) = (in_window, idx) else {
            if !commit {
                self.update_view_timer(now, out);
            }
            return;
        };
        let inst = self.instances.entry(seq);
        if !inst.votes.add_if_new(idx, view, digest, commit) {
            if !commit {
                self.update_view_timer(now, out);
            }
            return;
        }
        // `check` runs for a vote in the current view; here only when it can advance the
        // instance (otherwise it returns having done nothing).
        let must_check = view == cur_view && active && inst.check_can_advance(view, q);
        // A commit's state-transfer hint, read now when `check` does not run (nothing
        // changed since the vote was counted).
        let behind = commit && !must_check && !inst.committed && inst.votes.count(view, digest, true) > f;
        if must_check {
            self.check(now, seq, out);
            if commit
                && let Some(inst) = self.instances.get(seq)
                && !inst.committed
                && inst.count(view, digest, true) > f
            {
                self.note_behind(seq, false, out);
            }
        } else if behind {
            self.note_behind(seq, false, out);
        }
        self.update_view_timer(now, out);
    }

    fn enqueue(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<PbftMsg>) {
        if self.pending.is_empty() {
            self.oldest_pending = now;
        }
        self.pending_bytes += u64::from(tx.size);
        self.pending.push_back((now, tx));
        self.try_propose(now, out);
    }

    /// Where requests go: the primary of the current view, or of the last active one.
    fn forward_target(&self) -> NodeId {
        self.primary_of(if self.active { self.view } else { self.last_active_view })
    }
}

impl PbftReplica {
    /// Every message but the PREPAREs and COMMITs that [`Replica::on_message`] hands to
    /// [`PbftReplica::on_vote`] (all of them, except in unit tests that compare the two paths).
    #[inline(never)]
    fn on_other_message(&mut self, now: SimTime, from: NodeId, msg: PbftMsg, out: &mut Outbox<PbftMsg>) {
        match msg {
            PbftMsg::Forward(tx) => {
                let tx = *tx;
                out.charge(self.cpu.verify);
                if self.is_primary() {
                    self.enqueue(now, tx, out);
                } else {
                    // Sent to a former primary: keep it, and pass it on once (never further).
                    self.tracked.insert(tx);
                    let to = self.forward_target();
                    if to != self.id && to != from {
                        out.push(Action::Send {
                            to,
                            msg: PbftMsg::Reforward(Rc::new(vec![tx])),
                        });
                    }
                }
            }
            PbftMsg::Reforward(txs) => {
                out.charge(self.cpu.verify);
                if self.is_primary() {
                    self.admit(now, &txs);
                    self.try_propose(now, out);
                } else {
                    for tx in txs.iter() {
                        self.tracked.insert(*tx);
                    }
                }
            }
            PbftMsg::PrePrepare { view, batch } => {
                self.saw_view(now, from, view, out);
                if !self.active
                    || view != self.view
                    || from != self.primary_of(view)
                    || from == self.id
                    || batch.seq <= self.last_executed
                    || batch.seq > self.stable + self.window()
                {
                    return;
                }
                out.charge(self.cpu.verify + self.cpu.hash(batch.bytes) + self.cpu.verify * batch.txs.len() as u64);
                let seq = batch.seq;
                let digest = batch.digest;
                let me = self.me;
                let inst = self.instances.entry(seq);
                if inst.committed || (inst.view == view && inst.batch.is_some()) {
                    return; // duplicate
                }
                inst.view = view;
                inst.batch = Some(batch);
                inst.votes.add(me, view, digest, false);
                out.charge(self.cpu.sign);
                out.push(Action::Broadcast {
                    msg: PbftMsg::Prepare { view, seq, digest },
                });
                self.check(now, seq, out);
            }
            PbftMsg::Prepare { view, seq, digest } => {
                out.charge(self.cpu.verify);
                self.saw_view(now, from, view, out);
                if self.record_vote(from, view, digest, false, seq) && view == self.view {
                    self.check(now, seq, out);
                }
            }
            PbftMsg::Commit { view, seq, digest } => {
                out.charge(self.cpu.verify);
                self.saw_view(now, from, view, out);
                if !self.record_vote(from, view, digest, true, seq) {
                    return;
                }
                if view == self.view {
                    self.check(now, seq, out);
                }
                if let Some(inst) = self.instances.get(seq)
                    && !inst.committed
                    && inst.count(view, digest, true) > self.f
                {
                    self.note_behind(seq, false, out);
                }
            }
            PbftMsg::Checkpoint { seq, digest } => {
                out.charge(self.cpu.verify);
                if seq <= self.stable {
                    return;
                }
                let votes = self.checkpoints.entry(seq).or_default();
                if votes.iter().any(|v| v.0 == from) {
                    return;
                }
                votes.push((from, digest));
                self.check_stable(now, seq, out);
            }
            PbftMsg::ViewChange { view, cert } => {
                out.charge(self.cpu.verify * (1 + cert.prepared.len() as u64));
                if let Some(k) = self.index_of(from) {
                    self.vc_announced[k] = self.vc_announced[k].max(view);
                }
                if view < self.view || (view == self.view && self.active) {
                    return;
                }
                self.store_vc(from, view, cert);
                if self.active || view > self.view {
                    self.maybe_join(now, out);
                }
                self.after_vc(now, view, out);
            }
            PbftMsg::NewView { view, stable, batches } => {
                out.charge(self.cpu.verify * u64::from(self.q) + self.cpu.hash(batches.iter().map(|b| b.bytes).sum()));
                if let Some(k) = self.index_of(from) {
                    self.peer_view[k] = self.peer_view[k].max(view);
                }
                let ok = from == self.primary_of(view)
                    && (view > self.view || (view == self.view && (!self.active || self.nv_missing)));
                if ok {
                    self.enter_view(now, view, stable, Some(batches), out);
                }
            }
            PbftMsg::Fetch { from: first } => {
                out.charge(self.cpu.verify);
                let have_from = self.last_executed + 1 - self.archive.len() as u64;
                if first > self.last_executed {
                    return;
                }
                if first < have_from {
                    out.charge(self.cpu.sign + self.cpu.hash(8 * self.ledger.balances().len() as u64));
                    out.push(Action::Send {
                        to: from,
                        msg: PbftMsg::Snapshot(Rc::new(self.ledger.clone())),
                    });
                    return;
                }
                let skip = (first - have_from) as usize;
                let blocks: Vec<Rc<Batch>> = self.archive.iter().skip(skip).take(FETCH_MAX).cloned().collect();
                out.charge(self.cpu.sign);
                out.push(Action::Send {
                    to: from,
                    msg: PbftMsg::Blocks {
                        blocks: Rc::new(blocks),
                    },
                });
            }
            PbftMsg::Snapshot(ledger) => {
                out.charge(self.cpu.verify * u64::from(self.q) + self.cpu.hash(8 * ledger.balances().len() as u64));
                let h = ledger.height();
                if h <= self.last_executed {
                    return;
                }
                self.ledger = (*ledger).clone();
                self.last_executed = h;
                self.next_seq = self.next_seq.max(h);
                self.archive.clear();
                self.instances.drop_through(h);
                self.last_progress = now;
                out.charge(self.cpu.db_commit);
                out.push(Action::Committed {
                    height: h,
                    digest: self.ledger.chain_digest(),
                });
                self.execute_ready(now, out);
                if self.last_executed < self.behind {
                    self.send_fetch(out);
                }
            }
            PbftMsg::Blocks { blocks } => {
                out.charge(self.cpu.verify);
                for b in blocks.iter() {
                    if b.seq != self.last_executed + 1 {
                        continue;
                    }
                    // The block stands for its commit certificate: q signatures.
                    out.charge(self.cpu.verify * u64::from(self.q) + self.cpu.hash(b.bytes));
                    let view = self.view;
                    let inst = self.instances.entry(b.seq);
                    inst.batch = Some(b.clone());
                    inst.committed = true;
                    inst.pcert = Some((view, b.clone()));
                    self.execute_ready(now, out);
                }
                if self.last_executed < self.behind && blocks.len() == FETCH_MAX {
                    out.charge(self.cpu.sign);
                    out.push(Action::Send {
                        to: from,
                        msg: PbftMsg::Fetch {
                            from: self.last_executed + 1,
                        },
                    });
                }
            }
        }
        self.update_view_timer(now, out);
    }
}

impl Replica for PbftReplica {
    type Msg = PbftMsg;

    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<PbftMsg>) {
        out.charge(self.cpu.verify);
        if self.is_primary() {
            self.enqueue(now, tx, out);
            return;
        }
        self.tracked.insert(tx);
        let to = self.forward_target();
        if to != self.id {
            out.push(Action::Send {
                to,
                msg: PbftMsg::Forward(Box::new(tx)),
            });
        }
        self.update_view_timer(now, out);
    }

    /// PREPARE and COMMIT (nearly every message) go to the fused vote handler
    /// (`PbftReplica::on_vote`), inline in the caller; the other messages to
    /// `PbftReplica::on_other_message`.
    #[inline(always)]
    fn on_message(&mut self, now: SimTime, from: NodeId, msg: PbftMsg, out: &mut Outbox<PbftMsg>) {
        // A vote owns nothing (three integers): not dropping it saves the call to the
        // message's drop glue.
        let msg = std::mem::ManuallyDrop::new(msg);
        match *msg {
            PbftMsg::Prepare { view, seq, digest } if crate::sim::fast_paths() => {
                self.on_vote(now, from, view, seq, digest, false, out);
            }
            PbftMsg::Commit { view, seq, digest } if crate::sim::fast_paths() => {
                self.on_vote(now, from, view, seq, digest, true, out);
            }
            _ => self.on_other_message(now, from, std::mem::ManuallyDrop::into_inner(msg), out),
        }
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<PbftMsg>) {
        let (kind, gen_) = (token & 3, token >> 2);
        match kind {
            BATCH_TIMER => {
                self.timer_armed = false;
                self.try_propose(now, out);
            }
            VIEW_TIMER if gen_ == self.vt_gen && self.vt_on => {
                self.vt_on = false;
                if self.active {
                    if self.primary_of(self.view) == self.id || !self.has_work() {
                        return;
                    }
                    let deadline = self.last_progress.saturating_add(self.vc_timeout);
                    if now < deadline {
                        self.vt_on = true;
                        self.vt_gen += 1;
                        self.timer(VIEW_TIMER, self.vt_gen, deadline - now, out);
                    } else {
                        self.start_view_change(now, self.view + 1, out);
                    }
                } else {
                    // The new view did not form in time: try the next one, waiting longer.
                    self.vc_timeout = self.vc_timeout.saturating_mul(2);
                    self.start_view_change(now, self.view + 1, out);
                }
            }
            FETCH_TIMER if gen_ == self.fetch_gen && self.fetch_armed => {
                self.fetch_armed = false;
                if self.last_executed < self.behind {
                    self.send_fetch(out);
                }
            }
            _ => {}
        }
        self.update_view_timer(now, out);
    }

    fn on_recover(&mut self, now: SimTime, out: &mut Outbox<PbftMsg>) {
        // Timers died with the node: re-arm them (stale ones are ignored by generation).
        self.timer_armed = false;
        self.vt_on = false;
        self.vt_gen += 1;
        self.fetch_armed = false;
        self.fetch_gen += 1;
        self.last_progress = now;
        if self.last_executed < self.behind {
            self.note_behind(self.behind, true, out);
        }
        if self.active {
            self.try_propose(now, out);
            self.update_view_timer(now, out);
        } else {
            let w = self.view;
            self.after_vc(now, w, out);
        }
    }

    fn msg_bytes(msg: &PbftMsg) -> u32 {
        // Header fields + one signature (≈72 bytes) per message; certificates add one
        // signature per vote.
        let b = |x: u64| x.min(u64::from(u32::MAX / 4)) as u32;
        match msg {
            PbftMsg::Forward(tx) => tx.size + 72,
            PbftMsg::Reforward(txs) => 72 + b(txs.iter().map(|t| u64::from(t.size)).sum()),
            PbftMsg::PrePrepare { batch, .. } => 120 + b(batch.bytes),
            PbftMsg::Prepare { .. } | PbftMsg::Commit { .. } | PbftMsg::Checkpoint { .. } => 120,
            PbftMsg::ViewChange { cert, .. } => 120 + b(cert.prepared.iter().map(|(_, x)| x.bytes + 48 + 72 * 3).sum()),
            PbftMsg::NewView { batches, .. } => 120 + 72 * 3 + b(batches.iter().map(|x| x.bytes + 48).sum()),
            PbftMsg::Fetch { .. } => 100,
            PbftMsg::Blocks { blocks } => 100 + b(blocks.iter().map(|x| x.bytes + 48 + 72 * 3).sum()),
            PbftMsg::Snapshot(l) => 100 + 72 * 3 + b(8 * l.balances().len() as u64),
        }
    }

    fn msg_kind(msg: &PbftMsg) -> usize {
        match msg {
            PbftMsg::Forward(_) => 0,
            PbftMsg::PrePrepare { .. } => 1,
            PbftMsg::Prepare { .. } => 2,
            PbftMsg::Commit { .. } => 3,
            PbftMsg::Checkpoint { .. } => 4,
            PbftMsg::ViewChange { .. } => 5,
            PbftMsg::NewView { .. } => 6,
            PbftMsg::Reforward(_) => 7,
            PbftMsg::Fetch { .. } | PbftMsg::Blocks { .. } | PbftMsg::Snapshot(_) => 8,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        crate::names::PBFT_KINDS
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn counters(&self) -> super::ProtocolCounters {
        super::ProtocolCounters {
            view_changes: self.view_changes,
            elections: 0,
            forks: 0,
        }
    }

    fn equivocate(&self, msg: &PbftMsg) -> Option<PbftMsg> {
        match msg {
            PbftMsg::PrePrepare { view, batch } => {
                let k = batch.txs.len().checked_sub(1)?;
                Some(PbftMsg::PrePrepare {
                    view: *view,
                    batch: Rc::new(Batch::new(batch.seq, batch.txs[..k].to_vec())),
                })
            }
            PbftMsg::Prepare { view, seq, digest } | PbftMsg::Commit { view, seq, digest } => {
                let inst = self.instances.get(*seq)?;
                let held = inst.batch.as_ref().or(inst.pcert.as_ref().map(|p| &p.1))?;
                let other = if held.digest == *digest {
                    twin_digest(held)?
                } else {
                    held.digest
                };
                let (view, seq) = (*view, *seq);
                Some(match msg {
                    PbftMsg::Prepare { .. } => PbftMsg::Prepare {
                        view,
                        seq,
                        digest: other,
                    },
                    _ => PbftMsg::Commit {
                        view,
                        seq,
                        digest: other,
                    },
                })
            }
            _ => None,
        }
    }

    fn equivocation_split(members: usize) -> usize {
        members - max_faulty(members)
    }

    fn carried_tx(msg: &PbftMsg) -> Option<&TxEntry> {
        match msg {
            PbftMsg::Forward(tx) => Some(tx.as_ref()),
            _ => None,
        }
    }
}

/// Deploy PBFT on the validators; the lowest-id validator is the primary of view 0.
pub fn deploy(scenario: &Scenario, spec: &PbftSpec) -> Deployment<PbftReplica> {
    let n = spec.validators.len();
    let f = max_faulty(n);
    let primary = spec.validators[0];
    let accounts = scenario.topology.nodes.len();
    let shared = Rc::new(RefCell::new(SharedApply::default()));
    let replicas = spec
        .validators
        .iter()
        .map(|&id| (id, PbftReplica::new(scenario, spec, id, shared.clone())))
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

/// Quorum for `n` validators: ⌈(n + f + 1)/2⌉, which is 2f + 1 when n = 3f + 1 and keeps any
/// two quorums intersecting in f + 1 replicas for other n.
pub fn quorum(n: usize) -> usize {
    (n + max_faulty(n) + 2) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::Action;

    fn cluster(interval: u64) -> Vec<PbftReplica> {
        let text = format!(
            r#"
name = "u"
seed = 1
duration = "1s"
[topology]
regions = ["r"]
[[topology.group]]
role = "province"
count = 4
region = "r"
[network]
intra_region_rtt = "1ms"
[[workload.flow]]
name = "f"
from = "province"
to = "province"
arrival = {{ process = "constant", rate = 1.0 }}
size_bytes = 100
amount = {{ dist = "constant", value = 1.0 }}
[[system]]
name = "c"
consensus = "centralized"
baseline = true
operator = "province-1"
[[system]]
name = "p"
consensus = "pbft"
settlement = "on-ledger"
batch_max_tx = 1
batch_timeout = "0"
checkpoint_interval = {interval}
"#
        );
        let sc = Scenario::from_toml_str(&text, "u").unwrap();
        let crate::scenario::SystemKind::Pbft(spec) = &sc.systems[1].kind else {
            panic!()
        };
        deploy(&sc, spec).replicas.into_iter().map(|(_, r)| r).collect()
    }

    fn tx(id: u64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 1,
            from: 1,
            to: 2,
            submitter: 1,
            size: 100,
            flow: 0,
        }
    }

    /// Deliver every message (FIFO) among `reps` except to/from `down`; timers are dropped.
    /// Returns the committed heights per replica.
    fn run(reps: &mut [PbftReplica], mut queue: VecDeque<(NodeId, NodeId, PbftMsg)>, down: &[NodeId]) -> Vec<u64> {
        let mut heights = vec![0; reps.len()];
        while let Some((from, to, msg)) = queue.pop_front() {
            if down.contains(&to) || down.contains(&from) {
                continue;
            }
            let mut out = Outbox::default();
            reps[to as usize].on_message(0, from, msg, &mut out);
            for a in out.actions {
                match a {
                    Action::Broadcast { msg } => {
                        for j in 0..reps.len() as NodeId {
                            if j != to {
                                queue.push_back((to, j, msg.clone()));
                            }
                        }
                    }
                    Action::Send { to: j, msg } => queue.push_back((to, j, msg)),
                    Action::Committed { height, .. } => heights[to as usize] = height,
                    _ => {}
                }
            }
        }
        heights
    }

    fn request(reps: &mut [PbftReplica], at: usize, id: u64) -> VecDeque<(NodeId, NodeId, PbftMsg)> {
        let mut out = Outbox::default();
        reps[at].on_request(0, tx(id), &mut out);
        let mut q = VecDeque::new();
        for a in out.actions {
            match a {
                Action::Broadcast { msg } => {
                    for j in 0..reps.len() as NodeId {
                        if j != at as NodeId {
                            q.push_back((at as NodeId, j, msg.clone()));
                        }
                    }
                }
                Action::Send { to, msg } => q.push_back((at as NodeId, to, msg)),
                _ => {}
            }
        }
        q
    }

    #[test]
    fn checkpoints_bound_the_log() {
        let mut reps = cluster(8);
        for id in 1..=500 {
            let q = request(&mut reps, 0, id);
            run(&mut reps, q, &[]);
            for r in &reps {
                assert!(r.log_len() <= 2 * 8, "log {} at request {id}", r.log_len());
            }
        }
        for r in &reps {
            assert_eq!(r.ledger.height(), 500);
            assert_eq!(r.stable_checkpoint(), 496);
            assert!(r.archive.len() <= 4 * 8);
        }
    }

    #[test]
    fn a_view_change_moves_to_the_next_primary_and_keeps_prepared_requests() {
        let mut reps = cluster(128);
        // Instance 1 commits normally.
        let q = request(&mut reps, 0, 1);
        assert_eq!(run(&mut reps, q, &[]), vec![1, 1, 1, 1]);
        // A request reaches backups 1 and 2 (forwarded to the primary, which is down).
        for at in [1, 2] {
            let q = request(&mut reps, at, 2);
            assert!(matches!(q[0].2, PbftMsg::Forward(_)));
            run(&mut reps, q, &[0]);
            assert!(reps[at].has_work() && reps[at].vt_on, "the backup's view timer runs");
        }
        assert!(!reps[3].has_work(), "backup 3 knows of nothing pending");
        // Backups 1 and 2 time out; backup 3 joins on f + 1 view changes.
        let mut q = VecDeque::new();
        for (i, r) in reps.iter_mut().enumerate().take(3).skip(1) {
            let mut out = Outbox::default();
            let token = VIEW_TIMER | (r.vt_gen << 2);
            r.last_progress = 0;
            r.on_timer(10_000_000_000, token, &mut out);
            assert_eq!((r.view, r.active), (1, false), "replica {i} asks for view 1");
            for a in out.actions {
                if let Action::Broadcast { msg } = a {
                    assert!(matches!(msg, PbftMsg::ViewChange { view: 1, .. }));
                    for j in 0..4 {
                        if j != i as NodeId {
                            q.push_back((i as NodeId, j, msg.clone()));
                        }
                    }
                }
            }
        }
        let h = run(&mut reps, q, &[0]);
        for r in &reps[1..] {
            assert_eq!((r.view(), r.active, r.counters().view_changes), (1, true, 1));
        }
        // The tracked request was re-forwarded to the new primary and committed once, at 2.
        assert_eq!(&h[1..], &[2, 2, 2], "{h:?}");
        assert!(reps[2].tracked.is_empty());
    }

    #[test]
    fn equivocation_twins_conflict_and_votes_name_the_other_digest() {
        let mut reps = cluster(128);
        let mut out = Outbox::default();
        reps[0].on_request(0, tx(7), &mut out);
        let mut out2 = Outbox::default();
        reps[0].on_request(0, tx(8), &mut out2);
        let pp = out
            .actions
            .iter()
            .chain(out2.actions.iter())
            .find_map(|a| match a {
                Action::Broadcast {
                    msg: m @ PbftMsg::PrePrepare { .. },
                } => Some(m.clone()),
                _ => None,
            })
            .unwrap();
        let PbftMsg::PrePrepare { view, batch } = &pp else {
            panic!()
        };
        let Some(PbftMsg::PrePrepare { view: v2, batch: b2 }) = reps[0].equivocate(&pp) else {
            panic!("a twin")
        };
        assert_eq!((*view, batch.seq), (v2, b2.seq));
        assert_ne!(batch.digest, b2.digest);
        assert_eq!(twin_digest(batch), Some(b2.digest));
        // The primary's own commit vote: the twin votes for the twin's digest.
        let vote = PbftMsg::Commit {
            view: 0,
            seq: batch.seq,
            digest: batch.digest,
        };
        match reps[0].equivocate(&vote) {
            Some(PbftMsg::Commit { digest, .. }) => assert_eq!(digest, b2.digest),
            other => panic!("{other:?}"),
        }
        assert!(reps[0].equivocate(&PbftMsg::Fetch { from: 1 }).is_none());
        assert_eq!(PbftReplica::equivocation_split(4), 3);
        assert_eq!((quorum(4), quorum(5), quorum(7), quorum(64)), (3, 4, 5, 43));
    }

    proptest::proptest! {
        /// `Votes::add_if_new` is `has` then `add`: the same counts, voters and answers for
        /// any sequence of votes (views, digests, kinds, duplicates, several validators).
        #[test]
        fn add_if_new_is_has_then_add(votes in proptest::collection::vec((0usize..140, 0u64..3, 0u64..3, proptest::bool::ANY), 0..300)) {
            let (mut fast, mut slow) = (Votes::default(), Votes::default());
            for &(idx, view, digest, commit) in &votes {
                let added = if slow.has(idx, view, commit) {
                    false
                } else {
                    slow.add(idx, view, digest, commit);
                    true
                };
                proptest::prop_assert_eq!(fast.add_if_new(idx, view, digest, commit), added);
                for v in 0..3 {
                    for d in 0..3 {
                        for c in [false, true] {
                            proptest::prop_assert_eq!(fast.count(v, d, c), slow.count(v, d, c));
                        }
                    }
                    for i in 0..140 {
                        proptest::prop_assert_eq!(fast.has(i, v, false), slow.has(i, v, false));
                        proptest::prop_assert_eq!(fast.has(i, v, true), slow.has(i, v, true));
                    }
                }
            }
        }

        /// `SeqLog::entry` (fast path for held instances) creates exactly the instances the
        /// ring needs and returns the one at `seq`.
        #[test]
        fn seqlog_entry_returns_the_instance_at_seq(seqs in proptest::collection::vec(1u64..60, 1..80), drop_at in 0u64..40) {
            let mut log = SeqLog::default();
            for (k, &seq) in seqs.iter().enumerate() {
                if k == seqs.len() / 2 {
                    log.drop_through(drop_at);
                }
                log.entry(seq).view = seq;
                proptest::prop_assert_eq!(log.get(seq).map(|i| i.view), Some(seq));
                proptest::prop_assert!(log.base <= seq && seq < log.base + log.len() as u64);
            }
        }
    }
}
