//! The silently busy cores of one node: cores running a job without outputs, whose
//! `CoreFree` event is only scheduled if a job has to wait for the core (see
//! `World::silent_busy`).

use crate::engine::SimTime;

/// Entries held inline; more spill to the heap.
const INLINE: usize = 4;

/// A sequence of `(done, reserved seq)` entries in push order, the first [`INLINE`] inline
/// (a node with few busy cores never touches a heap buffer), the rest in `spill`.
/// Push O(1) amortized; [`SilentCores::release_before`] and [`SilentCores::drain`] O(len).
/// Memory: 96 bytes per node plus the spilled entries.
#[derive(Debug, Clone, Default)]
pub(crate) struct SilentCores {
    len: usize,
    inline: [(SimTime, u64); INLINE],
    /// Entries `INLINE..len` (empty while `len ≤ INLINE`).
    spill: Vec<(SimTime, u64)>,
}

impl SilentCores {
    /// Entries held.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
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
        } else {
            self.spill.push(entry);
        }
        self.len += 1;
    }

    /// Remove the entries below `current`, keeping the others in their order (what
    /// `Vec::retain(|e| e >= current)` does); returns how many were removed.
    #[inline(always)]
    pub(crate) fn release_before(&mut self, current: (SimTime, u64)) -> usize {
        if self.len <= INLINE {
            let mut kept = 0;
            for i in 0..self.len {
                let e = self.inline[i];
                if e >= current {
                    self.inline[kept] = e;
                    kept += 1;
                }
            }
            let removed = self.len - kept;
            self.len = kept;
            return removed;
        }
        self.release_before_spilled(current)
    }

    /// [`SilentCores::release_before`] with spilled entries.
    #[inline(never)]
    fn release_before_spilled(&mut self, current: (SimTime, u64)) -> usize {
        let mut all: Vec<(SimTime, u64)> = self.drain().collect();
        let before = all.len();
        all.retain(|&e| e >= current);
        let removed = before - all.len();
        for e in all {
            self.push(e);
        }
        removed
    }

    /// Remove every entry, in push order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (SimTime, u64)> + use<> {
        let n = self.len.min(INLINE);
        let head = self.inline;
        let spill = std::mem::take(&mut self.spill);
        self.len = 0;
        head.into_iter().take(n).chain(spill)
    }
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
