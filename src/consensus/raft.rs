//! Raft (Ongaro & Ousterhout 2014) as an ordering service, the way Hyperledger Fabric and
//! etcd use it: a set of *orderers* elects a leader with randomized timeouts; the leader
//! batches client transactions into blocks, replicates them as log entries with
//! AppendEntries, commits an entry once a majority of orderers (itself included) store it
//! **and** it belongs to the leader's current term, and every orderer applies committed
//! entries in log order. The other nodes (*peers*) do not vote: the leader delivers each
//! committed block to them (`Deliver`), and they apply it to their own ledger, so every node
//! holds the ledger, as in Fabric.
//!
//! **Crash-fault tolerant.** Raft tolerates f crashed orderers of n = 2f + 1, not Byzantine
//! ones: the leader's word is trusted, so a client takes its transaction as committed after
//! **one** reply, sent by the leader when it applies the block (`replies_needed = 1`).
//!
//! # Message delays (uniform one-way δ, zero CPU, batch of one, stable leader)
//! - The leader commits **2δ** after it receives a transaction (AppendEntries δ, ack δ).
//! - A client at a peer node (its requests go to the first orderer, which is the initial
//!   leader): request δ + AppendEntries δ + ack δ + reply δ = **4δ**.
//! - A client at a follower orderer: local request, forward δ, 2δ, reply δ = 4δ; a client
//!   at the leader's node: 2δ.
//! - A follower learns the commit index from the next AppendEntries or heartbeat; a peer
//!   applies the block δ after the leader commits.
//!
//! # Messages per block (unbatched, n orderers, p peers)
//! (n − 1) AppendEntries carrying the entry + (n − 1) acks = **2(n − 1)**, plus p `Deliver`
//! messages to the peers and one reply per client range. Heartbeats (n − 1 per `heartbeat`
//! interval, each acknowledged), peer sync beats (p per `election_timeout.min`), empty
//! consistency probes, votes, forwards and catch-up messages are counted as their own
//! message kinds, so the per-entry cost can be read off exactly.
//!
//! # What is implemented
//! RequestVote with the log up-to-date check and one vote per term; randomized election
//! timeouts drawn from the replica's own random stream; AppendEntries with
//! `prev_log_index/term` consistency, conflict truncation, and per-follower progress (probe
//! → replicate, as in etcd) that backfills a follower that lags or recovers; a no-op entry on
//! election so that entries of earlier terms commit; heartbeats; pipelining of up to
//! `pipeline` uncommitted entries; log compaction (entries more than [`RETAIN`] below the
//! applied index are dropped, a replica that lags further gets a snapshot of the ledger);
//! request forwarding to the known leader, with requests buffered while no leader is known
//! and re-forwarded once a new leader is known (the leader drops duplicates by transaction
//! id). Term, vote, log, commit index and ledger survive a crash; leader state, pending
//! requests and timers do not.
//!
//! **Not implemented:** PreVote and CheckQuorum (a partitioned follower that rejoins with a
//! higher term forces one extra election), membership changes, client retries (a request
//! sent to a crashed orderer, or a reply lost in a crash, is lost as it would be in reality
//! until the client times out).
//!
//! # Execute-order-validate (`execution = "execute-order-validate"`)
//! Hyperledger Fabric's flow on the same ordering service: a client submits to the node it
//! sits on; a peer endorses (`verify + execute_tx + sign`) and forwards the transaction to
//! the leader; the orderers only order (applying a block costs them nothing); every peer
//! validates and commits the delivered blocks one at a time, in height order (`verify +
//! hash + verify × endorsements × txs + db_commit` per block, the next block started by a
//! zero-delay timer when the job ends), pipelined with the ordering of the following
//! blocks, and replies to the clients on its own node. A peer client's latency is still
//! 4δ (forward, append, ack, deliver). The default (`order-execute`) is unchanged.
//!
//! The initial leader is deterministic: the first orderer's first election timeout is half
//! the minimum, every other orderer draws its own in `[min, max]`, so the first orderer wins
//! the first election (which does happen, and is counted) well inside a normal warm-up.

use super::{Action, Batch, Deployment, Outbox, ProtocolCounters, Replica, Reply};
use crate::engine::{SimRng, SimTime, StreamLabel, stream_rng};
use crate::ledger::{Ledger, TxEntry};
use crate::scenario::{BatchSpec, CpuCosts, NodeId, RaftExecution, RaftSpec, Scenario};
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// Applied entries kept in the log below the applied index (for backfill); a replica that
/// lags further behind receives a snapshot.
pub const RETAIN: u64 = 256;

/// Raft messages.
#[derive(Debug, Clone)]
pub enum RaftMsg {
    /// An orderer forwards a client transaction to the leader it knows.
    Forward(TxEntry),
    /// Candidate → orderers.
    RequestVote {
        /// Candidate's term.
        term: u64,
        /// Index of the candidate's last log entry.
        last_index: u64,
        /// Term of the candidate's last log entry.
        last_term: u64,
    },
    /// Orderer → candidate.
    Vote {
        /// Voter's term.
        term: u64,
        /// Whether the vote is granted.
        granted: bool,
    },
    /// Leader → follower: AppendEntries with at most one entry (none: a consistency probe).
    Append {
        /// Leader's term.
        term: u64,
        /// Index of the entry preceding `entry`.
        prev_index: u64,
        /// Term of that entry.
        prev_term: u64,
        /// Leader's commit index.
        commit: u64,
        /// `(term, block)` at `prev_index + 1`; an empty block is the leader's no-op.
        entry: Option<(u64, Rc<Batch>)>,
    },
    /// Follower → leader.
    AppendAck {
        /// Follower's term.
        term: u64,
        /// Success: the follower's log matches the leader's up to `index`. Failure: the
        /// `prev_index` that was rejected.
        index: u64,
        /// Failure: the follower's last index (or the index before the conflict).
        hint: u64,
        /// Whether the append matched.
        success: bool,
        /// Whether it acknowledges an entry (else a probe or snapshot).
        for_entry: bool,
    },
    /// Leader → follower: I am alive; commit index.
    Heartbeat {
        /// Leader's term.
        term: u64,
        /// Leader's commit index.
        commit: u64,
        /// Last index the leader had sent this follower.
        sent: u64,
    },
    /// Follower → leader.
    HeartbeatAck {
        /// Follower's term.
        term: u64,
        /// Follower's last log index.
        last_index: u64,
        /// Echo of `Heartbeat::sent`.
        sent: u64,
    },
    /// Leader → follower or peer: the state at `index` (the follower lags beyond the log).
    Snapshot {
        /// Leader's term.
        term: u64,
        /// Last log index included.
        index: u64,
        /// Its term.
        snap_term: u64,
        /// Ledger state after applying `index`.
        ledger: Rc<Ledger>,
    },
    /// Leader → peer: committed block number `height`.
    Deliver {
        /// Ledger height of the block.
        height: u64,
        /// The block.
        batch: Rc<Batch>,
    },
    /// Leader → peer: the leader's ledger height (lets idle peers detect a gap).
    PeerBeat {
        /// Leader's ledger height.
        height: u64,
    },
    /// Peer → leader: send blocks from `from` on.
    Pull {
        /// First missing block height.
        from: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
    /// A non-orderer node that only receives blocks.
    Peer,
}

/// A log entry. An empty block is a no-op (not applied to the ledger).
#[derive(Debug, Clone)]
struct Entry {
    term: u64,
    batch: Rc<Batch>,
    /// Ledger height after applying it (set when applied).
    height: u64,
}

/// Leader's view of one follower (etcd's `Progress`).
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    next: u64,
    matched: u64,
    /// Probe: one message in flight until a response; else stream (replicate).
    probe: bool,
    paused: bool,
}

const ELECTION_TIMER: u64 = 1;
const HEARTBEAT_TIMER: u64 = 2;
const BATCH_TIMER: u64 = 3;
const PEER_BEAT_TIMER: u64 = 4;
/// Execute-order-validate: the peer finished validating and committing a block.
const VALIDATED_TIMER: u64 = 5;

/// One Raft replica: an orderer (follower, candidate or leader) or a peer.
pub struct RaftReplica {
    id: NodeId,
    orderers: Vec<NodeId>,
    /// Index in `orderers` (usize::MAX for a peer).
    me: usize,
    peers: Vec<NodeId>,
    cpu: CpuCosts,
    batch: BatchSpec,
    election_timeout: (SimTime, SimTime),
    heartbeat: SimTime,
    pipeline: u64,
    /// Entries streamed to a follower beyond its acknowledged index.
    window: u64,
    retain: u64,
    rng: SimRng,
    // Persistent state (survives a crash).
    term: u64,
    voted_for: Option<NodeId>,
    log: VecDeque<Entry>,
    /// Index of `log[0]`.
    log_start: u64,
    /// Term of entry `log_start - 1` (the snapshot point).
    snap_term: u64,
    commit: u64,
    applied: u64,
    ledger: Ledger,
    // Volatile state.
    role: Role,
    leader: Option<NodeId>,
    /// The last leader this replica knew (for counting leader changes).
    last_leader: Option<NodeId>,
    /// Timer generation: bumped on recovery and on winning an election.
    epoch: u64,
    election_deadline: SimTime,
    election_armed: bool,
    votes: Vec<bool>,
    progress: Vec<Progress>,
    scratch: Vec<u64>,
    pending: VecDeque<(SimTime, TxEntry)>,
    pending_bytes: u64,
    oldest_pending: SimTime,
    batch_timer_armed: bool,
    /// Leader: ids of transactions pending or in the retained log (duplicate filter).
    seen: BTreeSet<u64>,
    /// Non-leader orderer: transactions it forwarded that it has not yet seen applied.
    unconfirmed: BTreeMap<u64, TxEntry>,
    /// Re-forward `unconfirmed` to the new leader once caught up with it.
    reforward: bool,
    /// Highest index known to match the current leader's log.
    verified: u64,
    // Peer state.
    peer_buf: BTreeMap<u64, Rc<Batch>>,
    pull_sent: Option<SimTime>,
    /// Execute-order-validate (Fabric): peers endorse before ordering, orderers only order,
    /// peers validate and commit blocks one at a time.
    eov: bool,
    /// Execute-order-validate: endorsement signatures verified per transaction.
    endorsements: u64,
    /// Execute-order-validate peer: a block is being validated (its job has not ended yet).
    validating: bool,
    counters: ProtocolCounters,
}

impl RaftReplica {
    fn token(&self, kind: u64) -> u64 {
        (self.epoch << 4) | kind
    }

    fn last_index(&self) -> u64 {
        self.log_start - 1 + self.log.len() as u64
    }

    fn term_at(&self, i: u64) -> Option<u64> {
        if i + 1 < self.log_start || i > self.last_index() {
            None
        } else if i + 1 == self.log_start {
            Some(self.snap_term)
        } else {
            Some(self.log[(i - self.log_start) as usize].term)
        }
    }

    fn last_term(&self) -> u64 {
        self.term_at(self.last_index()).unwrap_or(0)
    }

    fn entry(&self, i: u64) -> &Entry {
        &self.log[(i - self.log_start) as usize]
    }

    fn majority(&self) -> usize {
        self.orderers.len() / 2 + 1
    }

    fn random_timeout(&mut self) -> SimTime {
        let (lo, hi) = self.election_timeout;
        if hi > lo {
            lo + self.rng.random_range(0..=hi - lo)
        } else {
            lo
        }
    }

    /// Push the election deadline out by a fresh random timeout; arm the timer if needed.
    fn reset_election(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        let t = self.random_timeout();
        self.arm_election(now, now + t, out);
    }

    fn arm_election(&mut self, now: SimTime, deadline: SimTime, out: &mut Outbox<RaftMsg>) {
        self.election_deadline = deadline;
        if !self.election_armed {
            self.election_armed = true;
            out.push(Action::SetTimer {
                after: deadline.saturating_sub(now).max(1),
                token: self.token(ELECTION_TIMER),
            });
        }
    }

    /// A leader `leader` is known for the current term.
    fn learn_leader(&mut self, leader: NodeId) {
        if self.leader == Some(leader) {
            return;
        }
        self.leader = Some(leader);
        if self.last_leader.is_some_and(|l| l != leader) {
            self.counters.view_changes += 1;
        }
        self.last_leader = Some(leader);
        if leader != self.id {
            self.reforward = true;
        }
    }

    /// Adopt a higher term (or step down from candidate/leader) as a follower.
    fn step_down(&mut self, now: SimTime, term: u64, out: &mut Outbox<RaftMsg>) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.leader = None;
        }
        if self.role == Role::Leader {
            // Requests not yet committed go back to the buffer, to be forwarded to the
            // next leader (the new leader drops those its log already holds).
            for (_, tx) in self.pending.drain(..) {
                self.unconfirmed.insert(tx.id, tx);
            }
            for i in self.commit + 1..=self.last_index() {
                let b = self.entry(i).batch.clone();
                for tx in &b.txs {
                    self.unconfirmed.insert(tx.id, *tx);
                }
            }
            self.pending_bytes = 0;
            self.seen.clear();
            self.reforward = true;
        }
        if self.role != Role::Follower {
            self.role = Role::Follower;
            self.epoch += 1; // drop the leader's / candidate's timers
            self.election_armed = false;
            self.batch_timer_armed = false;
            self.reset_election(now, out);
        }
        self.verified = self.commit;
    }

    fn start_election(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        self.term += 1;
        self.role = Role::Candidate;
        self.voted_for = Some(self.id);
        self.leader = None;
        self.counters.elections += 1;
        self.votes.iter_mut().for_each(|v| *v = false);
        self.votes[self.me] = true;
        self.reset_election(now, out);
        if self.majority() <= 1 {
            self.become_leader(now, out);
            return;
        }
        out.charge(self.cpu.sign);
        out.push(Action::Broadcast {
            msg: RaftMsg::RequestVote {
                term: self.term,
                last_index: self.last_index(),
                last_term: self.last_term(),
            },
        });
    }

    fn become_leader(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        self.role = Role::Leader;
        self.learn_leader(self.id);
        self.epoch += 1;
        self.election_armed = false;
        self.batch_timer_armed = false;
        let next = self.last_index() + 1;
        for p in &mut self.progress {
            *p = Progress {
                next,
                matched: 0,
                probe: true,
                paused: false,
            };
        }
        // Duplicate filter: everything in the retained log, plus buffered requests.
        self.seen.clear();
        for e in &self.log {
            self.seen.extend(e.batch.txs.iter().map(|t| t.id));
        }
        let buffered = std::mem::take(&mut self.unconfirmed);
        for (_, tx) in buffered {
            self.enqueue_quiet(now, tx);
        }
        // A no-op of this term lets earlier terms' entries commit.
        self.append_local(Rc::new(Batch::new(next, Vec::new())));
        for k in 0..self.orderers.len() {
            if k != self.me {
                self.send_probe(k, out);
            }
        }
        out.push(Action::SetTimer {
            after: self.heartbeat,
            token: self.token(HEARTBEAT_TIMER),
        });
        if !self.peers.is_empty() {
            out.push(Action::SetTimer {
                after: self.election_timeout.0,
                token: self.token(PEER_BEAT_TIMER),
            });
        }
        self.try_commit(now, out);
        self.try_propose(now, out);
    }

    fn append_local(&mut self, batch: Rc<Batch>) {
        self.log.push_back(Entry {
            term: self.term,
            batch,
            height: 0,
        });
    }

    /// AppendEntries for follower progress `next` (entry at `next` if it exists).
    fn append_msg(&self, next: u64) -> RaftMsg {
        let prev_index = next - 1;
        RaftMsg::Append {
            term: self.term,
            prev_index,
            prev_term: self.term_at(prev_index).unwrap_or(0),
            commit: self.commit,
            entry: (next <= self.last_index()).then(|| {
                let e = self.entry(next);
                (e.term, e.batch.clone())
            }),
        }
    }

    fn snapshot_msg(&self) -> RaftMsg {
        RaftMsg::Snapshot {
            term: self.term,
            index: self.applied,
            snap_term: self.term_at(self.applied).unwrap_or(self.snap_term),
            ledger: Rc::new(self.ledger.clone()),
        }
    }

    /// Probe follower `k`: one message, then wait for its answer (or the next heartbeat).
    fn send_probe(&mut self, k: usize, out: &mut Outbox<RaftMsg>) {
        let to = self.orderers[k];
        let next = self.progress[k].next;
        let msg = if next < self.log_start {
            self.progress[k].next = self.applied + 1;
            self.snapshot_msg()
        } else {
            self.append_msg(next)
        };
        if let RaftMsg::Append {
            entry: Some((_, b)), ..
        } = &msg
        {
            out.charge(self.cpu.hash(b.bytes));
        }
        self.progress[k].paused = true;
        out.push(Action::Send { to, msg });
    }

    /// Replicate state: stream entries from `next` while within the window.
    fn send_more(&mut self, k: usize, out: &mut Outbox<RaftMsg>) {
        let to = self.orderers[k];
        loop {
            let p = self.progress[k];
            if p.probe || p.next > self.last_index() || p.next > p.matched + self.window {
                break;
            }
            if p.next < self.log_start {
                self.progress[k].probe = true;
                self.send_probe(k, out);
                break;
            }
            let msg = self.append_msg(p.next);
            self.progress[k].next += 1;
            out.push(Action::Send { to, msg });
        }
    }

    /// Leader: propose blocks while the pipeline has room and a batch is due.
    fn try_propose(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        if self.role != Role::Leader {
            return;
        }
        let (max_tx, max_bytes) = (self.batch.max_tx as usize, self.batch.max_bytes);
        while self.last_index() - self.commit < self.pipeline && !self.pending.is_empty() {
            let full = self.pending.len() >= max_tx || self.pending_bytes >= max_bytes;
            let due = now >= self.oldest_pending.saturating_add(self.batch.timeout);
            if !(full || due) {
                break;
            }
            let mut txs = Vec::with_capacity(max_tx.min(self.pending.len()));
            let mut bytes = 0u64;
            while let Some((_, tx)) = self.pending.front() {
                if txs.len() >= max_tx || (!txs.is_empty() && bytes + u64::from(tx.size) > max_bytes) {
                    break;
                }
                bytes += u64::from(tx.size);
                txs.push(self.pending.pop_front().expect("front exists").1);
            }
            self.pending_bytes -= bytes;
            self.oldest_pending = self.pending.front().map(|p| p.0).unwrap_or(now);
            let index = self.last_index() + 1;
            let batch = Rc::new(Batch::new(index, txs));
            out.charge(self.cpu.hash(batch.bytes) + self.cpu.sign);
            self.append_local(batch);
            for k in 0..self.orderers.len() {
                if k != self.me {
                    self.send_more(k, out);
                }
            }
            self.try_commit(now, out);
        }
        if !self.pending.is_empty() && !self.batch_timer_armed && self.last_index() - self.commit < self.pipeline {
            self.batch_timer_armed = true;
            let wait = self
                .oldest_pending
                .saturating_add(self.batch.timeout)
                .saturating_sub(now);
            out.push(Action::SetTimer {
                after: wait.max(1),
                token: self.token(BATCH_TIMER),
            });
        }
    }

    /// Leader: commit the highest index stored by a majority, if it is of the current term.
    fn try_commit(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        let last = self.last_index();
        self.scratch.clear();
        for k in 0..self.orderers.len() {
            self.scratch
                .push(if k == self.me { last } else { self.progress[k].matched });
        }
        self.scratch.sort_unstable_by(|a, b| b.cmp(a));
        let n = self.scratch[self.majority() - 1];
        if n > self.commit && self.term_at(n) == Some(self.term) {
            self.commit = n;
            self.apply(now, out);
        }
    }

    /// Apply committed entries in order.
    fn apply(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        let leader = self.role == Role::Leader;
        while self.applied < self.commit {
            self.applied += 1;
            let idx = (self.applied - self.log_start) as usize;
            let batch = self.log[idx].batch.clone();
            if !batch.txs.is_empty() {
                if !self.eov {
                    // Order-execute: the orderer executes and commits the block itself.
                    out.charge(self.cpu.execute_tx * batch.txs.len() as u64 + self.cpu.db_commit);
                }
                let digest = self.ledger.apply_block(&batch.txs);
                let height = self.ledger.height();
                out.push(Action::Committed { height, digest });
                if !self.unconfirmed.is_empty() {
                    for tx in &batch.txs {
                        self.unconfirmed.remove(&tx.id);
                    }
                }
                if leader {
                    let mut signed = false;
                    for (i, &(client, _, _)) in batch.by_client.iter().enumerate() {
                        // Execute-order-validate: a peer's clients hear from their peer.
                        if self.eov && self.orderers.binary_search(&client).is_err() {
                            continue;
                        }
                        if !signed {
                            out.charge(self.cpu.sign);
                            signed = true;
                        }
                        out.push(Action::Reply {
                            client,
                            reply: Reply::Batch {
                                batch: batch.clone(),
                                range: i as u32,
                            },
                        });
                    }
                    for &p in &self.peers {
                        out.push(Action::Send {
                            to: p,
                            msg: RaftMsg::Deliver {
                                height,
                                batch: batch.clone(),
                            },
                        });
                    }
                }
            }
            self.log[idx].height = self.ledger.height();
        }
        // Compaction: keep `retain` applied entries for backfill.
        while self.log_start + self.retain < self.applied {
            let e = self.log.pop_front().expect("applied entries are in the log");
            if leader {
                for tx in &e.batch.txs {
                    self.seen.remove(&tx.id);
                }
            }
            self.snap_term = e.term;
            self.log_start += 1;
        }
        if leader {
            self.try_propose(now, out);
        }
    }

    /// Leader: queue a request unless it is a duplicate.
    fn enqueue_quiet(&mut self, now: SimTime, tx: TxEntry) {
        if !self.seen.insert(tx.id) {
            return;
        }
        if self.pending.is_empty() {
            self.oldest_pending = now;
        }
        self.pending_bytes += u64::from(tx.size);
        self.pending.push_back((now, tx));
    }

    /// A transaction reached an orderer (from a client or forwarded).
    fn accept_tx(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<RaftMsg>) {
        match self.role {
            Role::Leader => {
                self.enqueue_quiet(now, tx);
                self.try_propose(now, out);
            }
            Role::Follower | Role::Candidate => {
                self.unconfirmed.insert(tx.id, tx);
                if let Some(l) = self.leader {
                    out.push(Action::Send {
                        to: l,
                        msg: RaftMsg::Forward(tx),
                    });
                }
            }
            Role::Peer => {}
        }
    }

    /// Follower: advance the commit index from the leader's, within the verified prefix.
    fn follow_commit(&mut self, now: SimTime, leader_commit: u64, out: &mut Outbox<RaftMsg>) {
        let c = leader_commit.min(self.verified);
        if c > self.commit {
            self.commit = c;
            self.apply(now, out);
        }
        if self.reforward && self.commit >= leader_commit {
            self.reforward = false;
            if let Some(l) = self.leader {
                for tx in self.unconfirmed.values() {
                    out.push(Action::Send {
                        to: l,
                        msg: RaftMsg::Forward(*tx),
                    });
                }
            }
        }
    }

    /// Common handling of a message from a leader of `term`: false if it is stale.
    fn accept_leader(&mut self, now: SimTime, from: NodeId, term: u64, out: &mut Outbox<RaftMsg>) -> bool {
        if term < self.term {
            return false;
        }
        if term > self.term || self.role != Role::Follower {
            self.step_down(now, term, out);
        }
        self.learn_leader(from);
        self.reset_election(now, out);
        true
    }

    fn orderer_index(&self, node: NodeId) -> Option<usize> {
        self.orderers.binary_search(&node).ok()
    }

    fn on_append(
        &mut self,
        now: SimTime,
        from: NodeId,
        (term, prev_index, prev_term, commit): (u64, u64, u64, u64),
        entry: Option<(u64, Rc<Batch>)>,
        out: &mut Outbox<RaftMsg>,
    ) {
        let for_entry = entry.is_some();
        if let Some((_, b)) = &entry {
            out.charge(self.cpu.verify + self.cpu.hash(b.bytes));
        }
        let reject = |me: &Self, hint: u64| RaftMsg::AppendAck {
            term: me.term,
            index: prev_index,
            hint,
            success: false,
            for_entry,
        };
        if !self.accept_leader(now, from, term, out) {
            out.push(Action::Send {
                to: from,
                msg: reject(self, self.last_index()),
            });
            return;
        }
        let last = self.last_index();
        if prev_index > last {
            out.push(Action::Send {
                to: from,
                msg: reject(self, last),
            });
            return;
        }
        if prev_index + 1 >= self.log_start && self.term_at(prev_index) != Some(prev_term) {
            let hint = prev_index.saturating_sub(1).max(self.commit);
            out.push(Action::Send {
                to: from,
                msg: reject(self, hint),
            });
            return;
        }
        let mut index = prev_index;
        if let Some((eterm, batch)) = entry {
            let i = prev_index + 1;
            index = i;
            if i >= self.log_start {
                if i <= self.last_index() {
                    if self.term_at(i) != Some(eterm) {
                        debug_assert!(i > self.commit, "truncating a committed entry");
                        self.log.truncate((i - self.log_start) as usize);
                        self.log.push_back(Entry {
                            term: eterm,
                            batch,
                            height: 0,
                        });
                    }
                } else {
                    self.log.push_back(Entry {
                        term: eterm,
                        batch,
                        height: 0,
                    });
                }
            }
        }
        self.verified = self.verified.max(index);
        out.push(Action::Send {
            to: from,
            msg: RaftMsg::AppendAck {
                term: self.term,
                index,
                hint: 0,
                success: true,
                for_entry,
            },
        });
        self.follow_commit(now, commit, out);
    }

    fn on_append_ack(&mut self, now: SimTime, from: NodeId, ack: (u64, u64, u64, bool), out: &mut Outbox<RaftMsg>) {
        let (term, index, hint, success) = ack;
        if term > self.term {
            self.step_down(now, term, out);
            return;
        }
        let Some(k) = self.orderer_index(from) else { return };
        if self.role != Role::Leader || term < self.term {
            return;
        }
        let p = &mut self.progress[k];
        if success {
            p.matched = p.matched.max(index);
            p.next = p.next.max(index + 1);
            p.probe = false;
            p.paused = false;
            self.send_more(k, out);
            self.try_commit(now, out);
        } else {
            let relevant = if p.probe {
                index + 1 == p.next
            } else {
                index > p.matched
            };
            if !relevant {
                return;
            }
            p.probe = true;
            p.next = (p.matched + 1).max(index.min(hint + 1));
            self.send_probe(k, out);
        }
    }

    fn on_heartbeat_timer(&mut self, out: &mut Outbox<RaftMsg>) {
        for k in 0..self.orderers.len() {
            if k == self.me {
                continue;
            }
            let p = self.progress[k];
            if p.probe {
                // Resend an unanswered probe (it may have been lost).
                self.send_probe(k, out);
            } else {
                out.push(Action::Send {
                    to: self.orderers[k],
                    msg: RaftMsg::Heartbeat {
                        term: self.term,
                        commit: self.commit,
                        sent: p.next - 1,
                    },
                });
            }
        }
        out.push(Action::SetTimer {
            after: self.heartbeat,
            token: self.token(HEARTBEAT_TIMER),
        });
    }

    // ---- peer side

    fn peer_apply(&mut self, out: &mut Outbox<RaftMsg>) {
        if self.eov {
            self.peer_validate_next(out);
            return;
        }
        while let Some(b) = self.peer_buf.remove(&(self.ledger.height() + 1)) {
            out.charge(
                self.cpu.verify
                    + self.cpu.hash(b.bytes)
                    + (self.cpu.verify + self.cpu.execute_tx) * b.txs.len() as u64
                    + self.cpu.db_commit,
            );
            let digest = self.ledger.apply_block(&b.txs);
            out.push(Action::Committed {
                height: self.ledger.height(),
                digest,
            });
            self.pull_sent = None;
        }
    }

    /// Execute-order-validate peer: if no block is being validated, validate and commit the
    /// next one in height order. The whole block is one job: check the orderer's signature
    /// and the hash, verify `endorsements` endorsement signatures per transaction (VSCC, with
    /// the MVCC check folded in), commit (`db_commit`); then report the commit to this node's
    /// clients. The job ends with a zero-delay timer that starts the next block, so blocks
    /// are validated one at a time while the orderers order the following ones.
    fn peer_validate_next(&mut self, out: &mut Outbox<RaftMsg>) {
        if self.validating {
            return;
        }
        let Some(b) = self.peer_buf.remove(&(self.ledger.height() + 1)) else {
            return;
        };
        out.charge(
            self.cpu.verify
                + self.cpu.hash(b.bytes)
                + self.cpu.verify * self.endorsements * b.txs.len() as u64
                + self.cpu.db_commit,
        );
        let digest = self.ledger.apply_block(&b.txs);
        out.push(Action::Committed {
            height: self.ledger.height(),
            digest,
        });
        if let Ok(range) = b.by_client.binary_search_by_key(&self.id, |r| r.0) {
            out.push(Action::Reply {
                client: self.id,
                reply: Reply::Batch {
                    batch: b.clone(),
                    range: range as u32,
                },
            });
        }
        self.pull_sent = None;
        self.validating = true;
        out.push(Action::SetTimer {
            after: 0,
            token: self.token(VALIDATED_TIMER),
        });
    }

    /// Whether the peer misses a block below the lowest one it holds.
    fn peer_has_gap(&self) -> bool {
        self.peer_buf
            .keys()
            .next()
            .is_some_and(|&h| h > self.ledger.height() + 1)
    }

    /// The highest height the peer has applied or holds without a gap below it (the
    /// ledger height, plus the blocks waiting for validation under execute-order-validate).
    fn peer_contiguous_top(&self) -> u64 {
        let mut top = self.ledger.height();
        for &h in self.peer_buf.keys() {
            if h != top + 1 {
                break;
            }
            top = h;
        }
        top
    }

    /// Peer: ask the leader for missing blocks (at most one pull per heartbeat interval).
    fn peer_pull(&mut self, now: SimTime, leader: NodeId, out: &mut Outbox<RaftMsg>) {
        if self.pull_sent.is_some_and(|t| now < t + self.election_timeout.0) {
            return;
        }
        self.pull_sent = Some(now);
        out.push(Action::Send {
            to: leader,
            msg: RaftMsg::Pull {
                from: self.ledger.height() + 1,
            },
        });
    }

    /// Leader: a peer asks for blocks from height `from`.
    fn serve_pull(&mut self, from_node: NodeId, from: u64, out: &mut Outbox<RaftMsg>) {
        if from > self.ledger.height() {
            return;
        }
        let applied = (self.applied + 1 - self.log_start) as usize;
        // First applied, non-empty entry of height ≥ from.
        let start = self
            .log
            .range(..applied)
            .position(|e| e.height >= from && !e.batch.txs.is_empty());
        let first_height = start.map(|s| self.log[s].height);
        match (start, first_height) {
            (Some(s), Some(h)) if h == from => {
                let mut sent = 0;
                for e in self.log.range(s..applied) {
                    if e.batch.txs.is_empty() {
                        continue;
                    }
                    out.push(Action::Send {
                        to: from_node,
                        msg: RaftMsg::Deliver {
                            height: e.height,
                            batch: e.batch.clone(),
                        },
                    });
                    sent += 1;
                    if sent >= self.window {
                        break;
                    }
                }
            }
            _ => out.push(Action::Send {
                to: from_node,
                msg: self.snapshot_msg(),
            }),
        }
    }

    fn on_snapshot(
        &mut self,
        now: SimTime,
        from: NodeId,
        (term, index, snap_term): (u64, u64, u64),
        ledger: Rc<Ledger>,
        out: &mut Outbox<RaftMsg>,
    ) {
        if self.role == Role::Peer {
            if ledger.height() > self.ledger.height() {
                self.ledger = (*ledger).clone();
                out.push(Action::Committed {
                    height: self.ledger.height(),
                    digest: self.ledger.chain_digest(),
                });
                let h = self.ledger.height();
                self.peer_buf.retain(|&k, _| k > h);
                self.pull_sent = None;
                self.peer_apply(out);
            }
            return;
        }
        if !self.accept_leader(now, from, term, out) {
            return;
        }
        if index > self.commit {
            self.log.clear();
            self.log_start = index + 1;
            self.snap_term = snap_term;
            self.commit = index;
            self.applied = index;
            if ledger.height() > self.ledger.height() {
                self.ledger = (*ledger).clone();
                out.push(Action::Committed {
                    height: self.ledger.height(),
                    digest: self.ledger.chain_digest(),
                });
            }
            // Transactions in the snapshot cannot be told apart: drop the buffer.
            self.unconfirmed.clear();
        }
        self.verified = self.verified.max(index);
        out.push(Action::Send {
            to: from,
            msg: RaftMsg::AppendAck {
                term: self.term,
                index,
                hint: 0,
                success: true,
                for_entry: false,
            },
        });
    }
}

impl Replica for RaftReplica {
    type Msg = RaftMsg;

    fn on_request(&mut self, now: SimTime, tx: TxEntry, out: &mut Outbox<RaftMsg>) {
        out.charge(self.cpu.verify);
        if self.eov {
            // Endorsement: execute (simulate) the transaction and sign the result.
            out.charge(self.cpu.execute_tx + self.cpu.sign);
            if self.role == Role::Peer {
                let to = self.leader.unwrap_or(self.orderers[0]);
                out.push(Action::Send {
                    to,
                    msg: RaftMsg::Forward(tx),
                });
                return;
            }
        }
        self.accept_tx(now, tx, out);
    }

    fn on_message(&mut self, now: SimTime, from: NodeId, msg: RaftMsg, out: &mut Outbox<RaftMsg>) {
        if self.role == Role::Peer {
            match msg {
                RaftMsg::Deliver { height, batch } => {
                    self.leader = Some(from);
                    if height > self.ledger.height() && height <= self.ledger.height() + 4 * self.window {
                        self.peer_buf.insert(height, batch);
                    }
                    self.peer_apply(out);
                    if self.peer_has_gap() {
                        self.peer_pull(now, from, out);
                    }
                }
                RaftMsg::PeerBeat { height } => {
                    self.leader = Some(from);
                    if height > self.peer_contiguous_top() {
                        self.peer_pull(now, from, out);
                    }
                }
                RaftMsg::Snapshot {
                    term,
                    index,
                    snap_term,
                    ledger,
                } => self.on_snapshot(now, from, (term, index, snap_term), ledger, out),
                _ => {}
            }
            return;
        }
        match msg {
            RaftMsg::Forward(tx) => {
                out.charge(self.cpu.verify);
                self.accept_tx(now, tx, out);
            }
            RaftMsg::RequestVote {
                term,
                last_index,
                last_term,
            } => {
                out.charge(self.cpu.verify);
                if term > self.term {
                    self.step_down(now, term, out);
                }
                let up_to_date =
                    last_term > self.last_term() || (last_term == self.last_term() && last_index >= self.last_index());
                let granted = term == self.term
                    && self.voted_for.is_none_or(|v| v == from)
                    && up_to_date
                    && self.role == Role::Follower;
                if granted {
                    self.voted_for = Some(from);
                    self.reset_election(now, out);
                }
                out.push(Action::Send {
                    to: from,
                    msg: RaftMsg::Vote {
                        term: self.term,
                        granted,
                    },
                });
            }
            RaftMsg::Vote { term, granted } => {
                if term > self.term {
                    self.step_down(now, term, out);
                    return;
                }
                if self.role != Role::Candidate || term < self.term || !granted {
                    return;
                }
                if let Some(k) = self.orderer_index(from) {
                    self.votes[k] = true;
                }
                if self.votes.iter().filter(|&&v| v).count() >= self.majority() {
                    self.become_leader(now, out);
                }
            }
            RaftMsg::Append {
                term,
                prev_index,
                prev_term,
                commit,
                entry,
            } => self.on_append(now, from, (term, prev_index, prev_term, commit), entry, out),
            RaftMsg::AppendAck {
                term,
                index,
                hint,
                success,
                ..
            } => self.on_append_ack(now, from, (term, index, hint, success), out),
            RaftMsg::Heartbeat { term, commit, sent } => {
                if !self.accept_leader(now, from, term, out) {
                    out.push(Action::Send {
                        to: from,
                        msg: RaftMsg::HeartbeatAck {
                            term: self.term,
                            last_index: self.last_index(),
                            sent,
                        },
                    });
                    return;
                }
                out.push(Action::Send {
                    to: from,
                    msg: RaftMsg::HeartbeatAck {
                        term: self.term,
                        last_index: self.last_index(),
                        sent,
                    },
                });
                self.follow_commit(now, commit, out);
            }
            RaftMsg::HeartbeatAck { term, last_index, sent } => {
                if term > self.term {
                    self.step_down(now, term, out);
                    return;
                }
                let Some(k) = self.orderer_index(from) else { return };
                if self.role != Role::Leader || term < self.term {
                    return;
                }
                let p = &mut self.progress[k];
                // Entries sent before this heartbeat never arrived: fall back to probing.
                if !p.probe && last_index < sent && p.matched < sent {
                    p.probe = true;
                    p.next = (p.matched + 1).max((last_index + 1).min(p.next));
                    self.send_probe(k, out);
                }
            }
            RaftMsg::Snapshot {
                term,
                index,
                snap_term,
                ledger,
            } => self.on_snapshot(now, from, (term, index, snap_term), ledger, out),
            RaftMsg::Pull { from: h } => {
                if self.role == Role::Leader {
                    self.serve_pull(from, h, out);
                }
            }
            RaftMsg::Deliver { .. } | RaftMsg::PeerBeat { .. } => {}
        }
    }

    fn on_timer(&mut self, now: SimTime, token: u64, out: &mut Outbox<RaftMsg>) {
        if token >> 4 != self.epoch {
            return; // a timer of an earlier role or life
        }
        match token & 0xf {
            ELECTION_TIMER => {
                self.election_armed = false;
                if self.role == Role::Leader || self.role == Role::Peer {
                    return;
                }
                if now >= self.election_deadline {
                    self.start_election(now, out);
                } else {
                    let d = self.election_deadline;
                    self.arm_election(now, d, out);
                }
            }
            HEARTBEAT_TIMER if self.role == Role::Leader => self.on_heartbeat_timer(out),
            BATCH_TIMER => {
                self.batch_timer_armed = false;
                self.try_propose(now, out);
            }
            VALIDATED_TIMER if self.role == Role::Peer => {
                self.validating = false;
                self.peer_apply(out);
                if self.peer_has_gap() {
                    let to = self.leader.unwrap_or(self.orderers[0]);
                    self.peer_pull(now, to, out);
                }
            }
            PEER_BEAT_TIMER if self.role == Role::Leader => {
                let height = self.ledger.height();
                for &p in &self.peers {
                    out.push(Action::Send {
                        to: p,
                        msg: RaftMsg::PeerBeat { height },
                    });
                }
                out.push(Action::SetTimer {
                    after: self.election_timeout.0,
                    token: self.token(PEER_BEAT_TIMER),
                });
            }
            _ => {}
        }
    }

    fn on_start(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        if self.role == Role::Peer {
            return;
        }
        // The first orderer times out first (half the minimum), so it wins the first
        // election; the others draw their first timeout from their own stream.
        let first = if self.me == 0 {
            self.election_timeout.0 / 2
        } else {
            self.random_timeout()
        };
        self.arm_election(now, now + first.max(1), out);
    }

    fn on_recover(&mut self, now: SimTime, out: &mut Outbox<RaftMsg>) {
        // Term, vote, log, commit index and ledger are persistent; the rest is lost.
        self.epoch += 1;
        self.pending.clear();
        self.pending_bytes = 0;
        self.seen.clear();
        self.unconfirmed.clear();
        self.reforward = false;
        self.batch_timer_armed = false;
        self.election_armed = false;
        self.leader = None;
        self.peer_buf.clear();
        self.pull_sent = None;
        self.validating = false;
        if self.role == Role::Peer {
            return;
        }
        self.role = Role::Follower;
        self.verified = self.commit;
        self.reset_election(now, out);
    }

    fn msg_bytes(msg: &RaftMsg) -> u32 {
        let block = |b: &Batch| b.bytes.min(u64::from(u32::MAX / 2)) as u32;
        match msg {
            RaftMsg::Forward(tx) => tx.size + 72,
            RaftMsg::Append { entry, .. } => 64 + entry.as_ref().map(|(_, b)| 72 + block(b)).unwrap_or(0),
            RaftMsg::Deliver { batch, .. } => 120 + block(batch),
            RaftMsg::Snapshot { ledger, .. } => 64 + 8 * ledger.balances().len() as u32,
            RaftMsg::RequestVote { .. } => 104,
            _ => 48,
        }
    }

    fn msg_kind(msg: &RaftMsg) -> usize {
        match msg {
            RaftMsg::Forward(_) => 0,
            RaftMsg::RequestVote { .. } => 1,
            RaftMsg::Vote { .. } => 2,
            RaftMsg::Append { entry: Some(_), .. } => 3,
            RaftMsg::AppendAck { for_entry: true, .. } => 4,
            RaftMsg::Append { entry: None, .. } => 5,
            RaftMsg::AppendAck { for_entry: false, .. } => 6,
            RaftMsg::Heartbeat { .. } => 7,
            RaftMsg::HeartbeatAck { .. } => 8,
            RaftMsg::Deliver { .. } => 9,
            RaftMsg::PeerBeat { .. } => 10,
            RaftMsg::Pull { .. } => 11,
            RaftMsg::Snapshot { .. } => 12,
        }
    }

    fn msg_kind_names() -> &'static [&'static str] {
        crate::names::RAFT_KINDS
    }

    fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    fn counters(&self) -> ProtocolCounters {
        self.counters
    }

    fn carried_tx(msg: &RaftMsg) -> Option<&TxEntry> {
        match msg {
            RaftMsg::Forward(tx) => Some(tx),
            _ => None,
        }
    }
}

/// Deploy Raft: the orderers run consensus, every other node is a peer that receives the
/// committed blocks. Clients at an orderer send to it; the others send to the first orderer
/// (the initial leader). One reply from the leader suffices (crash-fault tolerance).
pub fn deploy(scenario: &Scenario, spec: &RaftSpec, replication: u32) -> Deployment<RaftReplica> {
    let accounts = scenario.topology.nodes.len();
    let n = spec.orderers.len();
    let make = |id: NodeId| {
        let me = spec.orderers.binary_search(&id).unwrap_or(usize::MAX);
        RaftReplica {
            id,
            orderers: spec.orderers.clone(),
            me,
            peers: spec.peers.clone(),
            cpu: scenario.cpu,
            batch: spec.batch,
            election_timeout: spec.election_timeout,
            heartbeat: spec.heartbeat,
            pipeline: u64::from(spec.pipeline),
            window: u64::from(spec.pipeline) + 64,
            retain: RETAIN,
            rng: stream_rng(scenario.seed, replication, StreamLabel("raft"), id),
            term: 0,
            voted_for: None,
            log: VecDeque::new(),
            log_start: 1,
            snap_term: 0,
            commit: 0,
            applied: 0,
            ledger: Ledger::new(accounts, scenario.initial_balance_minor),
            role: if me == usize::MAX { Role::Peer } else { Role::Follower },
            leader: None,
            last_leader: None,
            epoch: 0,
            election_deadline: 0,
            election_armed: false,
            votes: vec![false; n],
            progress: vec![Progress::default(); n],
            scratch: Vec::with_capacity(n),
            pending: VecDeque::new(),
            pending_bytes: 0,
            oldest_pending: 0,
            batch_timer_armed: false,
            seen: BTreeSet::new(),
            unconfirmed: BTreeMap::new(),
            reforward: false,
            verified: 0,
            peer_buf: BTreeMap::new(),
            pull_sent: None,
            eov: spec.execution == RaftExecution::ExecuteOrderValidate,
            endorsements: u64::from(spec.endorsements),
            validating: false,
            counters: ProtocolCounters::default(),
        }
    };
    let replicas: Vec<(NodeId, RaftReplica)> = (0..accounts as NodeId).map(|id| (id, make(id))).collect();
    let first = spec.orderers[0];
    Deployment {
        replicas,
        members: spec.orderers.clone(),
        core_overrides: vec![],
        replies_needed: 1,
        entry: (0..accounts as NodeId)
            .map(|i| {
                // Execute-order-validate: every client submits to the peer on its own node.
                if spec.execution == RaftExecution::ExecuteOrderValidate || spec.orderers.binary_search(&i).is_ok() {
                    i
                } else {
                    first
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Orderers 0, 1, 2 (provinces), peer 3 (a bank); timeouts 150–300 ms, heartbeat 50 ms.
    fn replicas() -> Vec<RaftReplica> {
        let text = r#"
name = "u"
seed = 1
duration = "1s"
[topology]
regions = ["r"]
[[topology.group]]
role = "province"
count = 3
region = "r"
[[topology.group]]
role = "bank"
count = 1
region = "r"
[network]
intra_region_rtt = "1ms"
[[workload.flow]]
name = "f"
from = "bank"
to = "province"
arrival = { process = "constant", rate = 1.0 }
size_bytes = 100
amount = { dist = "constant", value = 1.0 }
[[system]]
name = "raft"
consensus = "raft"
baseline = true
settlement = "on-ledger"
validators = { roles = ["province"] }
election_timeout = ["150ms", "300ms"]
heartbeat = "50ms"
batch_max_tx = 1
batch_timeout = "0"
"#;
        let sc = Scenario::from_toml_str(text, "unit").unwrap();
        let crate::scenario::SystemKind::Raft(spec) = &sc.systems[0].kind else {
            panic!("raft")
        };
        let dep = deploy(&sc, spec, 0);
        assert_eq!(dep.replies_needed, 1);
        assert_eq!(dep.entry, vec![0, 1, 2, 0], "peers send to the first orderer");
        dep.replicas.into_iter().map(|(_, r)| r).collect()
    }

    fn tx(id: u64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 5,
            from: 3,
            to: 0,
            submitter: 3,
            size: 100,
            flow: 0,
        }
    }

    fn timers(out: &Outbox<RaftMsg>) -> Vec<(SimTime, u64)> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::SetTimer { after, token } => Some((*after, *token)),
                _ => None,
            })
            .collect()
    }

    fn sends(out: &Outbox<RaftMsg>) -> Vec<(NodeId, RaftMsg)> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { to, msg } => Some((*to, msg.clone())),
                _ => None,
            })
            .collect()
    }

    fn committed(out: &Outbox<RaftMsg>) -> Vec<u64> {
        out.actions
            .iter()
            .filter_map(|a| match a {
                Action::Committed { height, .. } => Some(*height),
                _ => None,
            })
            .collect()
    }

    /// Make replica 0 leader of term 1 (with 1's vote); returns its outbox.
    fn elect_first(r: &mut [RaftReplica]) -> Outbox<RaftMsg> {
        let mut out = Outbox::default();
        r[0].on_start(0, &mut out);
        let (after, token) = timers(&out)[0];
        assert_eq!(after, 75_000_000, "half the minimum timeout");
        out.clear();
        r[0].on_timer(after, token, &mut out);
        assert!(matches!(
            out.actions[..],
            [
                Action::SetTimer { .. },
                Action::Broadcast {
                    msg: RaftMsg::RequestVote {
                        term: 1,
                        last_index: 0,
                        last_term: 0
                    }
                }
            ]
        ));
        assert_eq!(r[0].counters().elections, 1);
        out.clear();
        r[0].on_message(after, 1, RaftMsg::Vote { term: 1, granted: true }, &mut out);
        assert_eq!(r[0].role, Role::Leader);
        out
    }

    #[test]
    fn first_orderer_wins_and_probes_with_a_noop() {
        let mut r = replicas();
        let out = elect_first(&mut r);
        let s = sends(&out);
        assert_eq!(s.len(), 2);
        for (k, (to, m)) in s.iter().enumerate() {
            assert_eq!(*to, k as NodeId + 1);
            match m {
                RaftMsg::Append {
                    term: 1,
                    prev_index: 0,
                    entry: Some((1, b)),
                    ..
                } => assert!(b.txs.is_empty(), "no-op"),
                other => panic!("{other:?}"),
            }
        }
        assert!(
            timers(&out).iter().any(|&(after, _)| after == 50_000_000),
            "heartbeat armed"
        );
        // A vote of a stale term, or a second vote, changes nothing.
        let mut out = Outbox::default();
        r[0].on_message(1, 2, RaftMsg::Vote { term: 1, granted: true }, &mut out);
        assert!(out.actions.is_empty());
    }

    #[test]
    fn votes_once_per_term_and_only_for_an_up_to_date_log() {
        let mut r = replicas();
        let mut out = Outbox::default();
        let rv = |term, last_index, last_term| RaftMsg::RequestVote {
            term,
            last_index,
            last_term,
        };
        r[1].on_message(0, 0, rv(1, 0, 0), &mut out);
        assert!(matches!(sends(&out)[0], (0, RaftMsg::Vote { term: 1, granted: true })));
        out.clear();
        r[1].on_message(0, 2, rv(1, 0, 0), &mut out);
        assert!(
            matches!(
                sends(&out)[0],
                (
                    2,
                    RaftMsg::Vote {
                        term: 1,
                        granted: false
                    }
                )
            ),
            "one vote per term"
        );
        // Give replica 1 an entry of term 1; a candidate with an empty log can't win its vote.
        out.clear();
        let b = Rc::new(Batch::new(1, vec![tx(1)]));
        r[1].on_message(0, 0, append(1, 0, 0, 0, Some((1, b))), &mut out);
        out.clear();
        r[1].on_message(0, 2, rv(2, 0, 0), &mut out);
        assert!(
            matches!(
                sends(&out)[0],
                (
                    2,
                    RaftMsg::Vote {
                        term: 2,
                        granted: false
                    }
                )
            ),
            "log not up to date"
        );
        assert_eq!(r[1].term, 2, "the higher term is adopted anyway");
        out.clear();
        r[1].on_message(0, 2, rv(3, 1, 1), &mut out);
        assert!(matches!(sends(&out)[0], (2, RaftMsg::Vote { term: 3, granted: true })));
    }

    fn append(term: u64, prev_index: u64, prev_term: u64, commit: u64, entry: Option<(u64, Rc<Batch>)>) -> RaftMsg {
        RaftMsg::Append {
            term,
            prev_index,
            prev_term,
            commit,
            entry,
        }
    }

    #[test]
    fn follower_checks_consistency_truncates_conflicts_and_learns_the_commit() {
        let mut r = replicas();
        let mut out = Outbox::default();
        let b1 = Rc::new(Batch::new(1, vec![tx(1)]));
        let b2 = Rc::new(Batch::new(1, vec![tx(2)]));
        // A gap: rejected with the follower's last index as hint.
        r[1].on_message(0, 0, append(1, 1, 1, 0, Some((1, b1.clone()))), &mut out);
        assert!(matches!(
            sends(&out)[0].1,
            RaftMsg::AppendAck {
                success: false,
                index: 1,
                hint: 0,
                ..
            }
        ));
        out.clear();
        r[1].on_message(0, 0, append(1, 0, 0, 0, Some((1, b1))), &mut out);
        assert!(matches!(
            sends(&out)[0].1,
            RaftMsg::AppendAck {
                success: true,
                index: 1,
                for_entry: true,
                ..
            }
        ));
        // The leader of term 2 has another entry at index 1: the uncommitted one is replaced.
        out.clear();
        r[1].on_message(0, 2, append(2, 0, 0, 0, Some((2, b2.clone()))), &mut out);
        assert_eq!(r[1].last_index(), 1);
        assert_eq!(r[1].term_at(1), Some(2));
        assert!(committed(&out).is_empty(), "nothing committed yet");
        out.clear();
        r[1].on_message(
            0,
            2,
            RaftMsg::Heartbeat {
                term: 2,
                commit: 1,
                sent: 1,
            },
            &mut out,
        );
        assert_eq!(committed(&out), vec![1]);
        let mut expect = Ledger::new(4, r[1].ledger.balances()[3]);
        let _ = expect.apply_block(&b2.txs);
        assert_eq!(
            r[1].ledger().chain_digest(),
            expect.chain_digest(),
            "term-2 block applied"
        );
        // A stale leader is told the current term.
        out.clear();
        r[1].on_message(
            0,
            0,
            RaftMsg::Heartbeat {
                term: 1,
                commit: 1,
                sent: 1,
            },
            &mut out,
        );
        assert!(matches!(sends(&out)[0].1, RaftMsg::HeartbeatAck { term: 2, .. }));
    }

    #[test]
    fn leader_commits_only_entries_of_its_own_term() {
        let mut r = replicas();
        let mut out = Outbox::default();
        // Replica 0 holds an entry of term 1 from leader 2, then wins term 2.
        let old = Rc::new(Batch::new(1, vec![tx(7)]));
        r[0].on_message(0, 2, append(1, 0, 0, 0, Some((1, old))), &mut out);
        out.clear();
        let tok = r[0].token(ELECTION_TIMER);
        r[0].on_timer(400_000_000, tok, &mut out);
        assert_eq!(r[0].term, 2);
        out.clear();
        r[0].on_message(0, 1, RaftMsg::Vote { term: 2, granted: true }, &mut out);
        assert_eq!(r[0].role, Role::Leader);
        assert_eq!(r[0].last_index(), 2, "old entry + no-op");
        // A majority stores index 1 (term 1): not committed by counting replicas.
        out.clear();
        r[0].progress[1] = Progress {
            next: 2,
            matched: 0,
            probe: false,
            paused: false,
        };
        let ack = |index| RaftMsg::AppendAck {
            term: 2,
            index,
            hint: 0,
            success: true,
            for_entry: true,
        };
        r[0].on_message(0, 1, ack(1), &mut out);
        assert!(committed(&out).is_empty());
        assert_eq!(r[0].commit, 0);
        // Once its own no-op is on a majority, both commit; the block replies and is delivered.
        out.clear();
        r[0].on_message(0, 1, ack(2), &mut out);
        assert_eq!(r[0].commit, 2);
        assert_eq!(committed(&out), vec![1], "the no-op is not a ledger block");
        assert!(out.actions.iter().any(|a| matches!(a, Action::Reply { client: 3, .. })));
        assert!(
            sends(&out)
                .iter()
                .any(|(to, m)| *to == 3 && matches!(m, RaftMsg::Deliver { height: 1, .. }))
        );
    }

    #[test]
    fn requests_wait_for_a_leader_and_are_reforwarded() {
        let mut r = replicas();
        let mut out = Outbox::default();
        r[1].on_request(0, tx(9), &mut out);
        assert!(sends(&out).is_empty(), "no leader known: buffered");
        out.clear();
        r[1].on_message(
            0,
            0,
            RaftMsg::Heartbeat {
                term: 1,
                commit: 0,
                sent: 0,
            },
            &mut out,
        );
        assert!(
            sends(&out)
                .iter()
                .any(|(to, m)| *to == 0 && matches!(m, RaftMsg::Forward(t) if t.id == 9))
        );
        // The leader drops a duplicate.
        let mut out = elect_first(&mut r);
        let before = r[0].pending.len();
        r[0].on_message(0, 1, RaftMsg::Forward(tx(9)), &mut out);
        r[0].on_message(0, 1, RaftMsg::Forward(tx(9)), &mut out);
        assert_eq!(
            r[0].pending.len() + r[0].last_index() as usize,
            before + 2,
            "one block, no duplicate"
        );
    }

    #[test]
    fn state_survives_a_crash_but_timers_and_leadership_do_not() {
        let mut r = replicas();
        let _ = elect_first(&mut r);
        let old = r[0].token(HEARTBEAT_TIMER);
        let mut out = Outbox::default();
        r[0].on_recover(1, &mut out);
        assert_eq!((r[0].term, r[0].voted_for, r[0].last_index()), (1, Some(0), 1));
        assert_eq!(r[0].role, Role::Follower);
        assert_eq!(timers(&out).len(), 1, "election timer re-armed");
        out.clear();
        r[0].on_timer(2, old, &mut out);
        assert!(out.actions.is_empty(), "a timer from before the crash is ignored");
    }

    /// The unit-test deployment with `execution = "execute-order-validate"`, 2 endorsements
    /// and distinct CPU costs (sign 1, verify 2, hash_per_kb 0, execute_tx 3, db_commit 5 ms).
    fn eov_replicas() -> Vec<RaftReplica> {
        let mut r = replicas();
        let cpu = CpuCosts {
            sign: 1_000_000,
            verify: 2_000_000,
            hash_per_kb: 0,
            execute_tx: 3_000_000,
            db_commit: 5_000_000,
            per_message: 0,
        };
        for x in &mut r {
            x.eov = true;
            x.endorsements = 2;
            x.cpu = cpu;
        }
        r
    }

    #[test]
    fn eov_peer_endorses_then_forwards_to_the_orderer() {
        let mut r = eov_replicas();
        let mut out = Outbox::default();
        r[3].on_request(0, tx(1), &mut out);
        assert_eq!(out.cpu, 2_000_000 + 3_000_000 + 1_000_000, "verify + execute_tx + sign");
        assert!(
            matches!(sends(&out)[..], [(0, RaftMsg::Forward(t))] if t.id == 1),
            "to the first orderer while no leader is known"
        );
        // Once a delivery shows who leads, requests go there.
        out.clear();
        r[3].on_message(0, 2, RaftMsg::PeerBeat { height: 0 }, &mut out);
        out.clear();
        r[3].on_request(0, tx(2), &mut out);
        assert!(matches!(sends(&out)[..], [(2, RaftMsg::Forward(t))] if t.id == 2));
    }

    #[test]
    fn eov_orderers_only_order_and_leave_peer_clients_to_their_peer() {
        let mut r = eov_replicas();
        let _ = elect_first(&mut r);
        let mut out = Outbox::default();
        r[0].on_message(0, 3, RaftMsg::Forward(tx(5)), &mut out);
        // verify on receipt, then the block (of one) is cut: hash (0) + sign.
        assert_eq!(out.cpu, 2_000_000 + 1_000_000);
        out.clear();
        r[0].progress[1] = Progress {
            next: 3,
            matched: 0,
            probe: false,
            paused: false,
        };
        let ack = RaftMsg::AppendAck {
            term: 1,
            index: 2,
            hint: 0,
            success: true,
            for_entry: true,
        };
        r[0].on_message(0, 1, ack, &mut out);
        assert_eq!(committed(&out), vec![1], "the leader applies the block");
        assert_eq!(out.cpu, 0, "no execution, no commit, no reply signature at the orderer");
        assert!(
            !out.actions.iter().any(|a| matches!(a, Action::Reply { .. })),
            "the client at peer 3 hears from its peer"
        );
        assert!(
            sends(&out)
                .iter()
                .any(|(to, m)| *to == 3 && matches!(m, RaftMsg::Deliver { height: 1, .. }))
        );
    }

    #[test]
    fn eov_peer_validates_one_block_at_a_time_in_order() {
        let mut r = eov_replicas();
        let mut out = Outbox::default();
        let b = |i, n: u64| Rc::new(Batch::new(i, (0..n).map(|k| tx(10 * i + k)).collect::<Vec<_>>()));
        r[3].on_message(
            0,
            0,
            RaftMsg::Deliver {
                height: 2,
                batch: b(2, 1),
            },
            &mut out,
        );
        assert!(committed(&out).is_empty());
        assert!(
            matches!(sends(&out)[..], [(0, RaftMsg::Pull { from: 1 })]),
            "a gap is pulled"
        );
        out.clear();
        r[3].on_message(
            0,
            0,
            RaftMsg::Deliver {
                height: 1,
                batch: b(1, 3),
            },
            &mut out,
        );
        assert_eq!(committed(&out), vec![1], "only block 1: block 2 waits for its turn");
        // verify + hash (0) + 2 endorsements × verify × 3 tx + db_commit.
        assert_eq!(out.cpu, 2_000_000 + 2 * 2_000_000 * 3 + 5_000_000);
        assert!(
            out.actions.iter().any(|a| matches!(
                a,
                Action::Reply {
                    client: 3,
                    reply: Reply::Batch { range: 0, .. }
                }
            )),
            "its own clients' transactions are reported by the peer"
        );
        assert!(sends(&out).is_empty(), "block 2 is waiting, not missing: no pull");
        let (after, token) = timers(&out)[0];
        assert_eq!(after, 0, "the next block starts when this job ends");
        // Another delivery while validating queues the block.
        out.clear();
        r[3].on_message(
            0,
            0,
            RaftMsg::Deliver {
                height: 3,
                batch: b(3, 1),
            },
            &mut out,
        );
        assert!(committed(&out).is_empty() && out.cpu == 0);
        out.clear();
        r[3].on_timer(1, token, &mut out);
        assert_eq!(committed(&out), vec![2]);
        let (_, token) = timers(&out)[0];
        out.clear();
        r[3].on_timer(2, token, &mut out);
        assert_eq!(committed(&out), vec![3]);
        let (_, token) = timers(&out)[0];
        out.clear();
        r[3].on_timer(3, token, &mut out);
        assert!(committed(&out).is_empty(), "nothing left");
        assert!(!r[3].validating);
    }

    #[test]
    fn peers_apply_delivered_blocks_in_order_and_pull_gaps() {
        let mut r = replicas();
        let mut out = Outbox::default();
        let b = |i| Rc::new(Batch::new(i, vec![tx(i)]));
        r[3].on_message(0, 0, RaftMsg::Deliver { height: 2, batch: b(2) }, &mut out);
        assert!(committed(&out).is_empty());
        assert!(matches!(sends(&out)[..], [(0, RaftMsg::Pull { from: 1 })]));
        out.clear();
        r[3].on_message(0, 0, RaftMsg::Deliver { height: 1, batch: b(1) }, &mut out);
        assert_eq!(committed(&out), vec![1, 2]);
    }
}
