//! The silently busy cores of one node: cores running a job without outputs, whose
//! `CoreFree` event is only scheduled if a job has to wait for the core (see
//! `World::silent_busy`).

use crate::engine::SimTime;

/// Entries held inline (a node with at most this many cores never touches a heap buffer).
const INLINE: usize = 8;

/// A sequence of `(done, reserved seq)` entries in push order: inline while there are at
/// most [`INLINE`] of them, all on the heap (`spill`) from the push that would exceed that
/// until the sequence is empty again. Push O(1) amortized; [`SilentCores::release_before`]
/// and [`SilentCores::drain`] O(len). Memory: 160 bytes per node plus the spilled entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct SilentCores {
    /// Entries held inline (0 while they are on the heap).
    len: usize,
    inline: [(SimTime, u64); INLINE],
    /// Every entry, while there were more than [`INLINE`] (then `len` is 0).
    spill: Vec<(SimTime, u64)>,
}

impl SilentCores {
    /// Entries held.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len + self.spill.len()
    }

    /// Whether no entry is held.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0 && self.spill.is_empty()
    }

    /// Append an entry.
    #[inline(always)]
    pub(crate) fn push(&mut self, entry: (SimTime, u64)) {
        if self.len < INLINE && self.spill.is_empty() {
            self.inline[self.len] = entry;
            self.len += 1;
        } else {
            self.push_spilled(entry);
        }
    }

    /// [`SilentCores::push`] beyond the inline entries: all of them move to the heap.
    #[inline(never)]
    fn push_spilled(&mut self, entry: (SimTime, u64)) {
        self.spill.extend_from_slice(&self.inline[..self.len]);
        self.len = 0;
        self.spill.push(entry);
    }

    /// Remove the entries below `current`, keeping the others in their order (what
    /// `Vec::retain(|e| e >= current)` does); returns how many were removed.
    #[inline(always)]
    pub(crate) fn release_before(&mut self, current: (SimTime, u64)) -> usize {
        if self.spill.is_empty() {
            let (kept, removed) = keep_from(&mut self.inline[..self.len], current);
            self.len = kept;
            return removed;
        }
        let (kept, removed) = keep_from(&mut self.spill, current);
        self.spill.truncate(kept);
        removed
    }

    /// Remove every entry, in push order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (SimTime, u64)> + use<> {
        let n = self.len;
        let head = self.inline;
        let spill = std::mem::take(&mut self.spill);
        self.len = 0;
        head.into_iter().take(n).chain(spill)
    }
}

/// Move the entries of `entries` at or above `current` to its front, in order: returns how
/// many were kept and how many were not.
#[inline(always)]
fn keep_from(entries: &mut [(SimTime, u64)], current: (SimTime, u64)) -> (usize, usize) {
    let mut kept = 0;
    for i in 0..entries.len() {
        let e = entries[i];
        if e >= current {
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
