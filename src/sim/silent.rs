//! The silently busy cores of one node: cores running a job without outputs, whose
//! `CoreFree` event is only scheduled if a job has to wait for the core (see
//! `World::silent_busy`).

use crate::engine::SimTime;

/// Entries held inline (a node with at most this many cores never touches a heap buffer).
const INLINE: usize = 8;

/// `SilentCores::len` while the entries are on the heap.
const SPILLED: usize = usize::MAX;

/// A sequence of `(done, reserved seq)` entries in push order: inline while there are at
/// most [`INLINE`] of them, all on the heap (`spill`) from the push that would exceed that
/// until the sequence is empty again. Push O(1) amortized; [`SilentCores::release_before`]
/// and [`SilentCores::drain`] O(len). Memory: 160 bytes per node plus the spilled entries.
#[derive(Debug, Clone)]
pub(crate) struct SilentCores {
    /// Entries held inline, or [`SPILLED`] while they are all in `spill` (which is then
    /// non-empty; `spill` is empty otherwise). One field to test on the usual paths: empty
    /// ⇔ `len == 0`, room inline ⇔ `len < INLINE`, inline ⇔ `len <= INLINE`.
    len: usize,
    inline: [(SimTime, u64); INLINE],
    /// Every entry, while there were more than [`INLINE`] (then `len` is [`SPILLED`]).
    spill: Vec<(SimTime, u64)>,
}

impl Default for SilentCores {
    fn default() -> Self {
        Self {
            len: 0,
            inline: [(0, 0); INLINE],
            spill: Vec::new(),
        }
    }
}

impl SilentCores {
    /// Entries held.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        if self.len == SPILLED {
            self.spill.len()
        } else {
            self.len
        }
    }

    /// Whether no entry is held.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append an entry.
    #[inline(always)]
    pub(crate) fn push(&mut self, entry: (SimTime, u64)) {
        if self.len < INLINE {
            self.inline[self.len] = entry;
            self.len += 1;
        } else {
            self.push_spilled(entry);
        }
    }

    /// [`SilentCores::push`] beyond the inline entries: all of them move to the heap.
    #[inline(never)]
    fn push_spilled(&mut self, entry: (SimTime, u64)) {
        if self.len != SPILLED {
            debug_assert!(self.len == INLINE && self.spill.is_empty());
            self.spill.extend_from_slice(&self.inline);
            self.len = SPILLED;
        }
        self.spill.push(entry);
    }

    /// Remove the entries below `current`, keeping the others in their order (what
    /// `Vec::retain(|e| e >= current)` does); returns how many were removed.
    #[inline(always)]
    pub(crate) fn release_before(&mut self, current: (SimTime, u64)) -> usize {
        let current = key(current);
        if self.len <= INLINE {
            // Usually a single entry (a node's last silent job), already done.
            if self.len == 1 {
                if key(self.inline[0]) < current {
                    self.len = 0;
                    return 1;
                }
                return 0;
            }
            let (kept, removed) = keep_from(&mut self.inline[..self.len], current);
            self.len = kept;
            return removed;
        }
        self.release_spilled(current)
    }

    /// [`SilentCores::release_before`] of spilled entries.
    #[inline(never)]
    fn release_spilled(&mut self, current: u128) -> usize {
        let (kept, removed) = keep_from(&mut self.spill, current);
        self.spill.truncate(kept);
        if kept == 0 {
            self.len = 0;
        }
        removed
    }

    /// Remove every entry, in push order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (SimTime, u64)> + use<> {
        let n = if self.len == SPILLED { 0 } else { self.len };
        let head = self.inline;
        let spill = std::mem::take(&mut self.spill);
        self.len = 0;
        head.into_iter().take(n).chain(spill)
    }
}

/// `(time, seq)` as one integer with the same order (a two-word tuple comparison is a
/// compare and a borrow instead of two compares and branches).
#[inline(always)]
fn key((time, seq): (SimTime, u64)) -> u128 {
    (u128::from(time) << 64) | u128::from(seq)
}

/// Move the entries of `entries` whose [`key`] is at or above `current` to its front, in
/// order: returns how many were kept and how many were not.
#[inline(always)]
fn keep_from(entries: &mut [(SimTime, u64)], current: u128) -> (usize, usize) {
    let mut kept = 0;
    for i in 0..entries.len() {
        let e = entries[i];
        if key(e) >= current {
            entries[kept] = e;
            kept += 1;
        }
    }
    (kept, entries.len() - kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Pushes, releases and drains give what a `Vec` with `retain` and `drain` gives, in
        /// the same order, inline and spilled.
        #[test]
        fn silent_cores_behave_like_a_vec(
            ops in proptest::collection::vec((0u8..4, 0u64..20, 0u64..20), 0..200)
        ) {
            let mut fast = SilentCores::default();
            let mut model: Vec<(SimTime, u64)> = Vec::new();
            for (op, a, b) in ops {
                match op {
                    0 | 1 => {
                        fast.push((a, b));
                        model.push((a, b));
                    }
                    2 => {
                        let before = model.len();
                        model.retain(|&e| e >= (a, b));
                        proptest::prop_assert_eq!(fast.release_before((a, b)), before - model.len());
                    }
                    _ => {
                        let got: Vec<_> = fast.drain().collect();
                        proptest::prop_assert_eq!(got, std::mem::take(&mut model));
                    }
                }
                proptest::prop_assert_eq!(fast.len(), model.len());
                proptest::prop_assert_eq!(fast.is_empty(), model.is_empty());
            }
            let got: Vec<_> = fast.drain().collect();
            proptest::prop_assert_eq!(got, model);
        }
    }
}
