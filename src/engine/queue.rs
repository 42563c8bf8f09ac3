//! The event queue: a radix heap keyed by `(time, seq)`.
//!
//! `seq` is a global counter incremented at scheduling, so events scheduled for the same
//! instant pop in FIFO order — the tie-break is part of the determinism contract.
//! Complexity: `schedule_*` O(1); `pop` / `peek_time` amortized O(log T) for a time range T
//! (each event moves down at most 64 buckets, in practice a few).

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// An event with its firing time and tie-breaking sequence number.
#[derive(Debug, Clone)]
pub struct Scheduled<E> {
    /// Simulated firing time.
    pub time: SimTime,
    /// Global scheduling order; breaks ties FIFO.
    pub seq: u64,
    /// The payload.
    pub event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Scheduled<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// What the buckets hold: the key and the slab slot of the payload. Small (24 bytes), so
/// moving entries between buckets is cheap whatever the event type's size.
#[derive(Debug, Clone, Copy)]
struct Entry {
    time: SimTime,
    seq: u64,
    slot: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Buckets of the radix heap: bucket `i` in 1..=64 holds times whose highest bit differing
/// from `last` is bit `i − 1`; times equal to `last` live in the seq-ordered `zero` list.
const BUCKETS: usize = 65;

/// The pending-event set plus the current simulated time.
///
/// A radix heap (Ahuja et al. 1990) on the event time: a monotone priority queue, valid
/// because a simulation never schedules before the event it is handling. Each bucket keeps
/// the minimum time it holds, so moving to the next time redistributes one bucket in a single
/// pass, with sequential memory access, instead of the ~log₂ P scattered moves of a binary
/// heap's sift-down. Events at the current minimum time wait in `zero`, ordered by `seq`
/// (new events usually have the largest seq and are appended in O(1)). Times below `last`
/// (possible only when a caller peeks and then schedules before the peeked event) go to a
/// small binary heap that is drained first, so any use of the API pops in exact
/// `(time, seq)` order.
///
/// Complexity: `schedule_*` O(1) (O(k) for an out-of-order seq among k events at the minimum
/// time); `pop` / `peek_time` amortized O(log T) for a time range T (an event moves down at
/// most 64 buckets, in practice a few).
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Payloads of pending events, by slot (`None`: free). Memory O(peak pending).
    slab: Vec<Option<E>>,
    /// Free slots of `slab`, reused last-freed first (warm in the cache).
    free: Vec<u32>,
    buckets: Vec<Vec<Entry>>,
    /// Minimum time held by each bucket (`SimTime::MAX` when empty).
    bmin: [SimTime; BUCKETS],
    /// Bit `i − 1` set ⇔ bucket `i ≥ 1` is non-empty.
    nonempty: u64,
    /// The time the buckets are relative to (the last extracted minimum time).
    last: SimTime,
    /// Events at time `last`, in increasing `seq`.
    zero: VecDeque<Entry>,
    /// Events timed below `last` (rare; see the type's documentation).
    low: BinaryHeap<Entry>,
    len: usize,
    next_seq: u64,
    now: SimTime,
    /// Sequence number of the last popped event.
    cur_seq: u64,
}

#[inline(always)]
fn bucket_of(time: SimTime, last: SimTime) -> usize {
    (64 - (time ^ last).leading_zeros()) as usize
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Self {
            slab: Vec::new(),
            free: Vec::new(),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            bmin: [SimTime::MAX; BUCKETS],
            nonempty: 0,
            last: 0,
            zero: VecDeque::new(),
            low: BinaryHeap::new(),
            len: 0,
            next_seq: 0,
            now: 0,
            cur_seq: 0,
        }
    }

    /// An empty queue (the capacity hint is not needed by the radix heap's buckets).
    pub fn with_capacity(_n: usize) -> Self {
        Self::new()
    }

    /// Current simulated time (time of the last popped event).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending events.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total events ever scheduled (the next sequence number).
    #[inline]
    pub fn scheduled_count(&self) -> u64 {
        self.next_seq
    }

    /// Schedule `event` at absolute time `time`. Times in the past are clamped to `now`
    /// (an event can never fire before the one that scheduled it).
    #[inline]
    pub fn schedule_at(&mut self, time: SimTime, event: E) {
        self.schedule_at_inlined(time, event);
    }

    /// Schedule every `(time, event)` of `items`, in order: exactly [`EventQueue::schedule_at`]
    /// for each (the same sequence numbers, so the same pops), in one loop with the insertion
    /// inlined — for a broadcast's copies. The iterator must not use the queue.
    #[inline]
    pub fn schedule_each<I: IntoIterator<Item = (SimTime, E)>>(&mut self, items: I) {
        for (time, event) in items {
            self.schedule_at_inlined(time, event);
        }
    }

    /// The body of [`EventQueue::schedule_at`].
    #[inline(always)]
    fn schedule_at_inlined(&mut self, time: SimTime, event: E) {
        let time = time.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        self.insert(time, seq, event);
    }

    /// Take the next sequence number without scheduling anything: a *virtual* event that
    /// keeps its place in the tie-break order and can be scheduled later with
    /// [`EventQueue::schedule_with_seq`] if it turns out to be needed.
    #[inline]
    pub fn reserve_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Sequence number of the event popped last (the one being handled).
    #[inline]
    pub fn current_seq(&self) -> u64 {
        self.cur_seq
    }

    /// Schedule `event` at `time` with a sequence number taken earlier by
    /// [`EventQueue::reserve_seq`]; `(time, seq)` must not precede the event being handled.
    #[inline]
    pub fn schedule_with_seq(&mut self, time: SimTime, seq: u64, event: E) {
        debug_assert!(seq < self.next_seq, "seq must come from reserve_seq");
        debug_assert!(
            (time, seq) > (self.now, self.cur_seq) || self.len == 0,
            "a reserved event must not be scheduled in the past"
        );
        self.len += 1;
        self.insert(time, seq, event);
    }

    /// Put `(time, seq, event)` into `low` (below `last`), `zero` (at `last`, by seq) or its
    /// radix bucket.
    #[inline(always)]
    fn insert(&mut self, time: SimTime, seq: u64, event: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(event);
                s
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        let ev = Entry { time, seq, slot };
        if time <= self.last {
            if time < self.last {
                self.low.push(ev);
            } else if self.zero.back().is_none_or(|b| b.seq < seq) {
                self.zero.push_back(ev);
            } else {
                let at = self.zero.partition_point(|e| e.seq < seq);
                self.zero.insert(at, ev);
            }
            return;
        }
        let b = bucket_of(time, self.last);
        // Branch-free: an empty bucket's minimum is `SimTime::MAX` (see `redistribute`).
        self.nonempty |= 1u64 << (b - 1);
        self.bmin[b] = self.bmin[b].min(time);
        self.buckets[b].push(ev);
    }

    /// Schedule `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimTime, event: E) {
        self.schedule_at(self.now.saturating_add(delay), event);
    }

    /// Make the minimum available in `low` or `zero`; false if the queue is empty.
    #[inline]
    fn prepare(&mut self) -> bool {
        if !self.zero.is_empty() || !self.low.is_empty() {
            return true;
        }
        if self.nonempty == 0 {
            return false;
        }
        self.redistribute();
        true
    }

    /// Move the lowest non-empty bucket down: its minimum time becomes `last`, its events
    /// at that time go to `zero` (sorted by seq), the others to lower buckets.
    fn redistribute(&mut self) {
        let i = self.nonempty.trailing_zeros() as usize + 1;
        // Kept in locals during the pass: the pushes below could alias the fields otherwise.
        let mut nonempty = self.nonempty & !(1u64 << (i - 1));
        let min = self.bmin[i];
        self.bmin[i] = SimTime::MAX;
        self.last = min;
        let mut moved = std::mem::take(&mut self.buckets[i]);
        // Every time of bucket i shares its bits above i − 1 with the minimum: each lands in
        // a lower bucket (the minimum's in `zero`).
        for ev in moved.drain(..) {
            if ev.time == min {
                self.zero.push_back(ev);
                continue;
            }
            let b = bucket_of(ev.time, min);
            nonempty |= 1u64 << (b - 1);
            self.bmin[b] = self.bmin[b].min(ev.time);
            self.buckets[b].push(ev);
        }
        self.nonempty = nonempty;
        self.buckets[i] = moved; // keep the allocation
        if self.zero.len() > 1 {
            let z = self.zero.make_contiguous();
            if !z.is_sorted_by_key(|e| e.seq) {
                z.sort_unstable_by_key(|e| e.seq);
            }
        }
    }

    /// Time of the earliest pending event.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.prepare() {
            return None;
        }
        match self.low.peek() {
            Some(e) => Some(e.time),
            None => self.zero.front().map(|e| e.time),
        }
    }

    /// Remove and return the earliest pending event, advancing `now` to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        if !self.prepare() {
            return None;
        }
        let ev = match self.low.pop() {
            Some(e) => e,
            None => self.zero.pop_front().expect("prepared"),
        };
        Some(self.take(ev))
    }

    /// Hand out the payload of a popped entry and advance the clock to it.
    #[inline(always)]
    fn take(&mut self, ev: Entry) -> Scheduled<E> {
        self.len -= 1;
        debug_assert!(ev.time >= self.now, "time went backwards");
        self.now = ev.time;
        self.cur_seq = ev.seq;
        self.free.push(ev.slot);
        let event = self.slab[ev.slot as usize]
            .take()
            .expect("a pending event's slot is full");
        Scheduled {
            time: ev.time,
            seq: ev.seq,
            event,
        }
    }

    /// Remove and return the earliest pending event if it is due at or before `end`
    /// (one queue look-up instead of [`EventQueue::peek_time`] then [`EventQueue::pop`]).
    #[inline]
    pub fn pop_due(&mut self, end: SimTime) -> Option<Scheduled<E>> {
        if !self.prepare() {
            return None;
        }
        let ev = if let Some(e) = self.low.peek() {
            if e.time > end {
                return None;
            }
            self.low.pop().expect("peeked")
        } else {
            if self.zero.front().expect("prepared").time > end {
                return None;
            }
            self.zero.pop_front().expect("prepared")
        };
        Some(self.take(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ties_are_fifo() {
        let mut q = EventQueue::new();
        for i in 0..10u32 {
            q.schedule_at(5, i);
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.pop().map(|e| e.event)).collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn past_times_are_clamped_to_now() {
        let mut q = EventQueue::new();
        q.schedule_at(100, 1u8);
        q.pop();
        q.schedule_at(50, 2u8);
        let e = q.pop().unwrap();
        assert_eq!((e.time, e.event), (100, 2));
    }

    #[test]
    fn scheduling_before_a_peeked_event_still_pops_in_order() {
        let mut q = EventQueue::new();
        q.schedule_at(100, 1u8);
        q.schedule_at(300, 3u8);
        assert_eq!(q.peek_time(), Some(100));
        q.schedule_at(50, 0u8); // earlier than the peeked minimum
        q.schedule_at(200, 2u8);
        let order: Vec<(u64, u8)> = std::iter::from_fn(|| q.pop().map(|e| (e.time, e.event))).collect();
        assert_eq!(order, vec![(50, 0), (100, 1), (200, 2), (300, 3)]);
        assert!(q.is_empty());
    }

    proptest! {
        /// Interleaving peeks, pops and schedules (including before a peeked event) gives the
        /// same pops as a reference binary heap.
        #[test]
        fn matches_a_reference_heap(ops in proptest::collection::vec((0u64..1_000, 0u8..3), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference: BinaryHeap<std::cmp::Reverse<(u64, u64)>> = BinaryHeap::new();
            let mut seq = 0u64;
            for (dt, op) in &ops {
                match op {
                    0 => {
                        let t = q.now() + dt;
                        q.schedule_at(t, ());
                        reference.push(std::cmp::Reverse((t, seq)));
                        seq += 1;
                    }
                    1 => {
                        let got = q.pop().map(|e| (e.time, e.seq));
                        let want = reference.pop().map(|r| r.0);
                        prop_assert_eq!(got, want);
                    }
                    _ => {
                        prop_assert_eq!(q.peek_time(), reference.peek().map(|r| r.0.0));
                    }
                }
                prop_assert_eq!(q.len(), reference.len());
            }
        }

        /// `schedule_each` is `schedule_at` for each item: the same pops (times, sequence
        /// numbers and payloads), interleaved with single schedules and pops.
        #[test]
        fn schedule_each_matches_schedule_at(ops in proptest::collection::vec((proptest::collection::vec(0u64..2_000, 0..12), 0u8..3), 1..120)) {
            let mut each = EventQueue::new();
            let mut one_by_one = EventQueue::new();
            let mut label = 0u32;
            for (dts, op) in &ops {
                match op {
                    0 => {
                        let items: Vec<(u64, u32)> = dts.iter().map(|dt| { label += 1; (each.now() + dt, label) }).collect();
                        for &(t, l) in &items {
                            one_by_one.schedule_at(t, l);
                        }
                        each.schedule_each(items);
                    }
                    1 => {
                        let got = each.pop().map(|e| (e.time, e.seq, e.event));
                        let want = one_by_one.pop().map(|e| (e.time, e.seq, e.event));
                        prop_assert_eq!(got, want);
                    }
                    _ => {
                        label += 1;
                        each.schedule_in(dts.len() as u64 * 7, label);
                        one_by_one.schedule_in(dts.len() as u64 * 7, label);
                    }
                }
                prop_assert_eq!(each.len(), one_by_one.len());
                prop_assert_eq!(each.scheduled_count(), one_by_one.scheduled_count());
            }
            while let Some(e) = one_by_one.pop() {
                prop_assert_eq!(each.pop().map(|e| (e.time, e.seq, e.event)), Some((e.time, e.seq, e.event)));
            }
            prop_assert!(each.is_empty());
        }

        /// Whatever the insertion order and interleaving, events pop in `(time, seq)` order.
        #[test]
        fn pops_in_time_seq_order(ops in proptest::collection::vec((0u64..1_000, any::<bool>()), 1..400)) {
            let mut q = EventQueue::new();
            let mut popped: Vec<(u64, u64)> = Vec::new();
            for (i, (dt, pop_now)) in ops.iter().enumerate() {
                q.schedule_in(*dt, i);
                if *pop_now {
                    let e = q.pop().unwrap();
                    popped.push((e.time, e.seq));
                }
            }
            while let Some(e) = q.pop() {
                popped.push((e.time, e.seq));
            }
            prop_assert_eq!(popped.len(), ops.len());
            for w in popped.windows(2) {
                // Time never decreases; at equal time the sequence number increases.
                prop_assert!(w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1), "{:?}", w);
            }
        }
    }
}
