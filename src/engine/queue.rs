//! The event queue: a radix heap keyed by `(time, seq)`.
//!
//! `seq` is a global counter incremented at scheduling, so events scheduled for the same
//! instant pop in FIFO order — the tie-break is part of the determinism contract.
//! Complexity: `schedule_*` O(1); `pop` / `peek_time` amortized O(64 / 6) bucket moves per
//! event (6-bit radix digits: at most 10 moves, 2.6–2.7 on average on the bundled workloads).

use super::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

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

/// What the buckets hold: the time and the slab slot of the payload (16 bytes, so a move
/// between buckets copies one quarter of a cache line whatever the event type's size). The
/// sequence number lives in the slab next to the payload: it is only compared among events of
/// equal time, and the pop that needs it reads that slab entry anyway.
#[derive(Debug, Clone, Copy)]
struct Entry {
    time: SimTime,
    slot: u32,
}

/// An event timed below `last` (see [`EventQueue`]), with its full key: rare, kept apart.
#[derive(Debug, Clone, Copy)]
struct LowEntry {
    time: SimTime,
    seq: u64,
    slot: u32,
}

impl PartialEq for LowEntry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for LowEntry {}
impl PartialOrd for LowEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for LowEntry {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A pending event's payload and sequence number.
#[derive(Debug)]
struct SlabEntry<E> {
    seq: u64,
    /// `None` while the slot is free.
    event: Option<E>,
}

/// Bits per radix digit: a time is read as `LEVELS` digits of `DIGIT_BITS` bits.
const DIGIT_BITS: u32 = 6;
/// Buckets per level: one per digit value.
const DIGITS: usize = 1 << DIGIT_BITS;
/// Digit positions of a 64-bit time (the top level holds the 4 highest bits).
const LEVELS: usize = 64_usize.div_ceil(DIGIT_BITS as usize);
/// Buckets in all.
const BUCKETS: usize = LEVELS * DIGITS;
/// 64-bit words of the occupancy mask (`DIGITS` is a multiple of 64, so a word never spans
/// two levels).
const WORDS: usize = BUCKETS / 64;
// A word never spans two levels, and the summary word has a bit per word.
const _: () = assert!(DIGITS.is_multiple_of(64) && WORDS <= 64);

/// One radix bucket: its entries (in insertion order) and their minimum time, side by side (an
/// insertion reads and writes one 32-byte record of bucket metadata).
#[derive(Debug)]
struct Bucket {
    /// Minimum time held (`SimTime::MAX` when empty).
    min: SimTime,
    entries: Vec<Entry>,
}

/// Bucket of a time `time > last`: level = the digit position of the highest bit where they
/// differ, digit = `time`'s digit there (greater than `last`'s). Index `level * DIGITS + digit`.
#[inline(always)]
fn bucket_of(time: SimTime, last: SimTime) -> usize {
    // `| 1` keeps the same highest bit for `time > last` and lets the compiler see that
    // the index is below `BUCKETS` (no bounds check).
    let high_bit = 63 - ((time ^ last) | 1).leading_zeros();
    let level = high_bit / DIGIT_BITS;
    let digit = (time >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
    level as usize * DIGITS + digit
}

/// The pending-event set plus the current simulated time.
///
/// A radix heap (Ahuja et al. 1990) with `DIGIT_BITS`-bit digits on the event time: a
/// monotone priority queue, valid because a simulation never schedules before the event it is
/// handling. Times are compared with `last`, the last extracted minimum: a time `t > last`
/// waits in bucket (level, digit) where level is the highest digit position at which `t`
/// differs from `last` and digit is `t`'s digit there. Every time of a lower bucket is smaller
/// than every time of a higher one, so the lowest non-empty bucket (two `trailing_zeros` on
/// the occupancy masks) holds the minimum. Each bucket keeps its minimum time; moving on
/// makes that minimum the new `last` and redistributes the bucket in one sequential pass:
/// its entries now differ from `last` only below their old level, so each lands at a lower
/// level (the minimum's in `zero`) and every other bucket keeps its index. A level-0 bucket
/// holds a single time and is handed to `zero` whole (a buffer swap, no per-entry move), and
/// a bucket of one entry hands that entry over without the redistribution loop.
/// With 6-bit digits an event moves at most 10 times, in practice 1–3 (it moved ≈ 5.5 times
/// with 1-bit digits; docs/PERFORMANCE.md, "Session 6: branch queue").
///
/// Events at the current minimum time wait in `zero`, ordered by `seq` (a new event has the
/// largest seq yet and is appended in O(1)). Times below `last` (possible only when a caller
/// peeks and then schedules before the peeked event) go to a small binary heap that is
/// drained first, so any use of the API pops in exact `(time, seq)` order.
///
/// Complexity: `schedule_*` O(1) (O(k) for a reserved, out-of-order seq among k events at
/// the minimum time); `pop` / `pop_due` / `peek_time` amortized O(64 / `DIGIT_BITS`) moves
/// per event plus O(k log k) to order k events that share a time. Memory O(peak pending)
/// plus `LEVELS × DIGITS` = 704 buckets.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Payloads and sequence numbers of pending events, by slot. Memory O(peak pending).
    slab: Vec<SlabEntry<E>>,
    /// Free slots of `slab`, reused last-freed first (warm in the cache).
    free: Vec<u32>,
    /// `LEVELS × DIGITS` buckets, index `level * DIGITS + digit`.
    buckets: Box<[Bucket; BUCKETS]>,
    /// Bit `b % 64` of `occupied[b / 64]` set ⇔ bucket `b` is non-empty.
    occupied: [u64; WORDS],
    /// Bit `w` set ⇔ `occupied[w] != 0`.
    occupied_words: u64,
    /// The time the buckets are relative to (the last extracted minimum time).
    last: SimTime,
    /// Events at time `last`, in increasing `seq`, from index `zero_head` on (a queue kept
    /// in a `Vec` so that a level-0 bucket can be swapped in whole).
    zero: Vec<Entry>,
    /// Index of the first unpopped entry of `zero`.
    zero_head: usize,
    /// Events timed below `last` (rare; see the type's documentation).
    low: BinaryHeap<LowEntry>,
    len: usize,
    next_seq: u64,
    now: SimTime,
    /// Sequence number of the last popped event.
    cur_seq: u64,
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
            buckets: Box::new(std::array::from_fn(|_| Bucket {
                min: SimTime::MAX,
                entries: Vec::new(),
            })),
            occupied: [0; WORDS],
            occupied_words: 0,
            last: 0,
            zero: Vec::new(),
            zero_head: 0,
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
        // The newest seq is the largest: at time `last` it goes to the back of `zero`.
        self.insert(time, seq, event, true);
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
        self.insert(time, seq, event, false);
    }

    /// Put `(time, seq, event)` into `low` (below `last`), `zero` (at `last`, by seq) or its
    /// radix bucket. `newest`: `seq` is larger than every pending one.
    #[inline(always)]
    fn insert(&mut self, time: SimTime, seq: u64, event: E, newest: bool) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = SlabEntry {
                    seq,
                    event: Some(event),
                };
                s
            }
            None => {
                self.slab.push(SlabEntry {
                    seq,
                    event: Some(event),
                });
                (self.slab.len() - 1) as u32
            }
        };
        let ev = Entry { time, slot };
        if time <= self.last {
            if time < self.last {
                self.low.push(LowEntry { time, seq, slot });
            } else if newest
                || self.zero[self.zero_head..]
                    .last()
                    .is_none_or(|b| self.slab[b.slot as usize].seq < seq)
            {
                self.zero.push(ev);
            } else {
                let slab = &self.slab;
                let at = self.zero[self.zero_head..].partition_point(|e| slab[e.slot as usize].seq < seq);
                self.zero.insert(self.zero_head + at, ev);
            }
            return;
        }
        let b = bucket_of(time, self.last);
        self.occupied[b / 64] |= 1u64 << (b % 64);
        self.occupied_words |= 1u64 << (b / 64);
        let bucket = &mut self.buckets[b];
        // Branch-free: an empty bucket's minimum is `SimTime::MAX`.
        bucket.min = bucket.min.min(time);
        bucket.entries.push(ev);
    }

    /// Schedule `event` after `delay` from now.
    #[inline]
    pub fn schedule_in(&mut self, delay: SimTime, event: E) {
        self.schedule_at(self.now.saturating_add(delay), event);
    }

    /// Make the minimum available in `low` or `zero`; false if the queue is empty. When
    /// both are empty, the lowest non-empty bucket is emptied: its minimum time becomes
    /// `last`, and a bucket of one entry (most of them on the bundled workloads) goes to
    /// `zero` here; larger ones are redistributed by [`EventQueue::redistribute`].
    #[inline(always)]
    fn prepare(&mut self) -> bool {
        if self.zero_head < self.zero.len() || !self.low.is_empty() {
            return true;
        }
        if self.occupied_words == 0 {
            return false;
        }
        self.advance();
        true
    }

    /// The bucket part of [`EventQueue::prepare`] (some bucket is non-empty).
    fn advance(&mut self) {
        let word = self.occupied_words.trailing_zeros() as usize;
        let bit = self.occupied[word].trailing_zeros() as usize;
        let occupied = self.occupied[word] & !(1u64 << bit);
        self.occupied[word] = occupied;
        if occupied == 0 {
            self.occupied_words &= !(1u64 << word);
        }
        let i = word * 64 + bit;
        let bucket = &mut self.buckets[i];
        let min = std::mem::replace(&mut bucket.min, SimTime::MAX);
        self.last = min;
        self.zero.clear();
        self.zero_head = 0;
        if let [only] = bucket.entries[..] {
            bucket.entries.clear();
            self.zero.push(only);
        } else {
            self.redistribute(i, min);
        }
    }

    /// Move the entries of bucket `i` (two or more, minimum time `min`, already `last`) down:
    /// those at `min` go to `zero` (sorted by seq), the others to lower levels. Called only
    /// when `zero` and `low` are empty and `i` is the lowest non-empty bucket.
    #[inline(never)]
    fn redistribute(&mut self, i: usize, min: SimTime) {
        let mut moved = std::mem::take(&mut self.buckets[i].entries);
        if i < DIGITS {
            // A level-0 bucket holds one time: it becomes `zero` as it is (a buffer swap,
            // no per-entry move).
            std::mem::swap(&mut self.zero, &mut moved);
        } else {
            // Every time of the bucket shares its digits from `i`'s level up with the
            // minimum: each lands at a lower level (the minimum's in `zero`).
            let mut words = 0u64;
            for &ev in &moved {
                if ev.time == min {
                    self.zero.push(ev);
                    continue;
                }
                let b = bucket_of(ev.time, min);
                self.occupied[b / 64] |= 1u64 << (b % 64);
                words |= 1u64 << (b / 64);
                let bucket = &mut self.buckets[b];
                bucket.min = bucket.min.min(ev.time);
                bucket.entries.push(ev);
            }
            self.occupied_words |= words;
            moved.clear();
        }
        self.buckets[i].entries = moved; // keep an allocation
        if self.zero.len() > 1 {
            let slab = &self.slab;
            if !self.zero.is_sorted_by_key(|e| slab[e.slot as usize].seq) {
                self.zero.sort_unstable_by_key(|e| slab[e.slot as usize].seq);
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
            None => Some(self.zero[self.zero_head].time),
        }
    }

    /// Remove and return the earliest pending event, advancing `now` to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        self.pop_due(SimTime::MAX)
    }

    /// Hand out the payload in `slot` at `time` and advance the clock to it.
    #[inline(always)]
    fn take(&mut self, time: SimTime, slot: u32) -> Scheduled<E> {
        self.len -= 1;
        debug_assert!(time >= self.now, "time went backwards");
        self.now = time;
        self.free.push(slot);
        let entry = &mut self.slab[slot as usize];
        let event = entry.event.take().expect("a pending event's slot is full");
        self.cur_seq = entry.seq;
        Scheduled {
            time,
            seq: entry.seq,
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
        if let Some(e) = self.low.peek() {
            if e.time > end {
                return None;
            }
            let e = self.low.pop().expect("peeked");
            return Some(self.take(e.time, e.slot));
        }
        let ev = self.zero[self.zero_head];
        if ev.time > end {
            return None;
        }
        self.zero_head += 1;
        Some(self.take(ev.time, ev.slot))
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

    /// Drain `q`, returning `(time, seq, event)` in pop order.
    fn drain<E>(q: &mut EventQueue<E>) -> Vec<(SimTime, u64, E)> {
        std::iter::from_fn(|| q.pop().map(|e| (e.time, e.seq, e.event))).collect()
    }

    #[test]
    fn extreme_times_pop_in_order() {
        let mut q = EventQueue::new();
        // Times that differ only in the top level's bits, in the lowest digit, at 0 and at
        // u64::MAX, scheduled out of order and twice each.
        let times = [
            u64::MAX,
            0,
            1 << 63,
            u64::MAX - 1,
            1 << 60,
            (1 << 60) | 1,
            63,
            64,
            u64::MAX,
            0,
            (1 << 63) - 1,
        ];
        for (i, &t) in times.iter().enumerate() {
            q.schedule_at(t, i);
        }
        let mut want: Vec<(u64, u64, usize)> = times.iter().enumerate().map(|(i, &t)| (t, i as u64, i)).collect();
        want.sort();
        assert_eq!(drain(&mut q), want);
        // Once at u64::MAX, everything is clamped there and stays FIFO.
        q.schedule_at(5, 100);
        q.schedule_in(u64::MAX, 101);
        q.schedule_at(u64::MAX, 102);
        let got: Vec<(u64, usize)> = drain(&mut q).into_iter().map(|(t, _, e)| (t, e)).collect();
        assert_eq!(got, vec![(u64::MAX, 100), (u64::MAX, 101), (u64::MAX, 102)]);
    }

    #[test]
    fn equal_times_pop_by_seq_whichever_bucket_they_wait_in() {
        let mut q = EventQueue::new();
        // Seq 0..3 reserved first, then events at time 1,000 with later seqs; the reserved
        // ones are scheduled afterwards at the same time: they must pop first, in seq order.
        let reserved: Vec<u64> = (0..3).map(|_| q.reserve_seq()).collect();
        q.schedule_at(1_000, 'a');
        q.schedule_at(1_000, 'b');
        q.schedule_with_seq(1_000, reserved[2], 'z');
        q.schedule_with_seq(1_000, reserved[0], 'x');
        q.schedule_at(999, 'p');
        q.schedule_with_seq(1_000, reserved[1], 'y');
        let got: String = drain(&mut q).into_iter().map(|(_, _, e)| e).collect();
        assert_eq!(got, "pxyzab");
        // The same at the current time (`zero`): a reserved seq goes before newer events.
        q.schedule_at(2_000, 'c');
        let r = q.reserve_seq();
        q.schedule_at(3_000, 'd');
        assert_eq!(q.pop().map(|e| e.event), Some('c'));
        q.schedule_at(2_000, 'e');
        q.schedule_with_seq(2_000, r, 'r');
        let got: String = drain(&mut q).into_iter().map(|(_, _, e)| e).collect();
        assert_eq!(got, "red");
    }

    #[test]
    fn a_bucket_holding_one_time_keeps_fifo_order() {
        // Many events at one time far ahead (one bucket, swapped into `zero` whole) and at
        // neighbouring times (a level-0 bucket), interleaved with pops.
        let mut q = EventQueue::new();
        for i in 0..50u64 {
            q.schedule_at(1 << 40, i);
            q.schedule_at((1 << 40) + 1 + i % 3, 100 + i);
        }
        let got = drain(&mut q);
        let mut want = got.clone();
        want.sort_by_key(|&(t, s, _)| (t, s));
        assert_eq!(got, want);
        assert_eq!(
            got.iter().take(50).map(|e| e.2).collect::<Vec<_>>(),
            (0..50).collect::<Vec<_>>()
        );
    }

    /// One step of [`matches_a_reference_model_on_any_times`].
    #[derive(Debug, Clone)]
    enum Step {
        /// `schedule_in(dt)`, dt small (many equal times).
        Near(u64),
        /// `schedule_in(x >> shift)`: delays of every magnitude, up to saturation.
        Far(u64, u32),
        /// `schedule_at(t)` for an absolute t, often in the past (clamped to now).
        At(u64),
        /// Take a seq for later.
        Reserve,
        /// Schedule the oldest reserved seq `dt` after now (dt = 0 only if it is still ahead
        /// of the current event).
        Reserved(u64),
        Pop,
        Peek,
        /// `pop_due(now + dt)`.
        PopDue(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (0u64..8).prop_map(Step::Near),
            3 => (any::<u64>(), 0u32..64).prop_map(|(x, s)| Step::Far(x, s)),
            1 => prop_oneof![any::<u64>(), Just(u64::MAX), Just(0u64), 0u64..1_000].prop_map(Step::At),
            1 => Just(Step::Reserve),
            1 => (0u64..4).prop_map(Step::Reserved),
            4 => Just(Step::Pop),
            1 => Just(Step::Peek),
            1 => prop_oneof![0u64..16, any::<u64>()].prop_map(Step::PopDue),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Against a `BTreeMap` keyed by `(time, seq)`: delays of every magnitude (to
        /// u64::MAX), clamped past times, equal times, reserved seqs scheduled late,
        /// peeks followed by schedules before the peeked event, and `pop_due` bounds.
        #[test]
        fn matches_a_reference_model_on_any_times(steps in proptest::collection::vec(step(), 1..300)) {
            let mut q = EventQueue::new();
            let mut reference: std::collections::BTreeMap<(u64, u64), u32> = Default::default();
            let mut reserved: std::collections::VecDeque<u64> = Default::default();
            let (mut now, mut cur) = (0u64, None::<u64>);
            let mut label = 0u32;
            for st in &steps {
                label += 1;
                match *st {
                    Step::Near(dt) => {
                        reference.insert((now.saturating_add(dt), q.scheduled_count()), label);
                        q.schedule_in(dt, label);
                    }
                    Step::Far(x, s) => {
                        let dt = x >> s;
                        reference.insert((now.saturating_add(dt), q.scheduled_count()), label);
                        q.schedule_in(dt, label);
                    }
                    Step::At(t) => {
                        reference.insert((t.max(now), q.scheduled_count()), label);
                        q.schedule_at(t, label);
                    }
                    Step::Reserve => reserved.push_back(q.reserve_seq()),
                    Step::Reserved(dt) => {
                        if let Some(&seq) = reserved.front() {
                            let t = now.saturating_add(dt);
                            if (t, seq) > (now, cur.unwrap_or(0)) {
                                reserved.pop_front();
                                reference.insert((t, seq), label);
                                q.schedule_with_seq(t, seq, label);
                            }
                        }
                    }
                    Step::Pop => {
                        let want = reference.pop_first();
                        let got = q.pop();
                        prop_assert_eq!(got.as_ref().map(|e| ((e.time, e.seq), e.event)), want);
                        if let Some(e) = got {
                            now = e.time;
                            cur = Some(e.seq);
                            prop_assert_eq!(q.current_seq(), e.seq);
                        }
                    }
                    Step::Peek => prop_assert_eq!(q.peek_time(), reference.first_key_value().map(|(k, _)| k.0)),
                    Step::PopDue(dt) => {
                        let end = now.saturating_add(dt);
                        let want = match reference.first_key_value() {
                            Some((k, _)) if k.0 <= end => reference.pop_first(),
                            _ => None,
                        };
                        let got = q.pop_due(end);
                        prop_assert_eq!(got.as_ref().map(|e| ((e.time, e.seq), e.event)), want);
                        if let Some(e) = got {
                            now = e.time;
                            cur = Some(e.seq);
                        }
                    }
                }
                prop_assert_eq!(q.now(), now);
                prop_assert_eq!(q.len(), reference.len());
            }
            while let Some(e) = q.pop() {
                prop_assert_eq!(Some(((e.time, e.seq), e.event)), reference.pop_first());
            }
            prop_assert!(reference.is_empty());
        }
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
