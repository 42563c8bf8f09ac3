//! [`Few`]: a sequence that holds a single element inline and allocates only from the
//! second element on. A batch of one transaction from one client (the PBFT reference's
//! batch size 1) then needs one allocation — its `Rc` — instead of four (its transactions,
//! client ranges and reply counters each had their own `Vec`).

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A sequence of `T` that keeps one element inline, more in a `Vec`. Reads go through
/// `Deref<Target = [T]>`, so it is used like a slice; equality and `Debug` are the slice's
/// (the representation is not observable). Push O(1) amortized; no allocation while it
/// holds at most one element (unless built from a `Vec` or with a capacity above one).
#[derive(Clone)]
pub struct Few<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    /// Exactly one element, inline.
    One(T),
    /// Any number of elements (none, without a capacity: the empty state).
    Heap(Vec<T>),
}

impl<T> Few<T> {
    /// Empty, without an allocation.
    pub const fn new() -> Self {
        Few(Repr::Heap(Vec::new()))
    }

    /// Empty, with room for `n` elements: no allocation for `n ≤ 1` (one element is kept
    /// inline), a `Vec` of capacity `n` otherwise.
    pub fn with_capacity(n: usize) -> Self {
        if n <= 1 {
            Self::new()
        } else {
            Few(Repr::Heap(Vec::with_capacity(n)))
        }
    }

    /// Append `x`. The first element of an empty `Few` without capacity is kept inline; a
    /// second one moves both to a `Vec`.
    #[inline]
    pub fn push(&mut self, x: T) {
        match &mut self.0 {
            Repr::Heap(v) if v.capacity() == 0 => self.0 = Repr::One(x),
            Repr::Heap(v) => v.push(x),
            Repr::One(_) => {
                let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Heap(Vec::new())) else {
                    unreachable!("matched One above")
                };
                let mut v = Vec::with_capacity(4);
                v.push(first);
                v.push(x);
                self.0 = Repr::Heap(v);
            }
        }
    }

    /// The elements as a `Vec` (allocates for an inline element).
    pub fn into_vec(self) -> Vec<T> {
        match self.0 {
            Repr::One(x) => vec![x],
            Repr::Heap(v) => v,
        }
    }
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::One(x) => std::slice::from_ref(x),
            Repr::Heap(v) => v,
        }
    }
}

impl<T> DerefMut for Few<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::One(x) => std::slice::from_mut(x),
            Repr::Heap(v) => v,
        }
    }
}

impl<'a, T> IntoIterator for &'a Few<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T> From<Vec<T>> for Few<T> {
    /// Takes the `Vec` as it is (no copy, no reallocation).
    fn from(v: Vec<T>) -> Self {
        Few(Repr::Heap(v))
    }
}

impl<T> FromIterator<T> for Few<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut few = Few::with_capacity(iter.size_hint().0);
        for x in iter {
            few.push(x);
        }
        few
    }
}

impl<T: fmt::Debug> fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Few<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_element_stays_inline_and_two_move_to_the_heap() {
        let mut f = Few::new();
        assert!(f.is_empty());
        f.push(7u32);
        assert!(matches!(f.0, Repr::One(7)));
        assert_eq!(&*f, &[7]);
        f[0] = 8;
        assert_eq!(&*f, &[8]);
        f.push(9);
        assert!(matches!(&f.0, Repr::Heap(v) if v == &[8, 9]));
        assert_eq!(f.into_vec(), vec![8, 9]);
        // A capacity above one goes to the heap at once; one or none stays inline.
        let mut g = Few::with_capacity(3);
        g.push(1u8);
        assert!(matches!(&g.0, Repr::Heap(v) if v == &[1]));
        let mut h = Few::with_capacity(1);
        h.push(1u8);
        assert!(matches!(h.0, Repr::One(1)));
        // Equality and Debug are the slice's, whatever the representation.
        assert_eq!(h, Few::from(vec![1u8]));
        assert_eq!(format!("{h:?}"), format!("{:?}", Few::from(vec![1u8])));
        assert_eq!(format!("{h:?}"), "[1]");
        assert_ne!(h, Few::from(vec![1u8, 1]));
    }

    proptest! {
        /// Any sequence of pushes, reads, writes and sorts gives what a `Vec` gives, from
        /// every starting state (empty, a capacity, a `Vec`, an iterator).
        #[test]
        fn behaves_like_a_vec(
            start in 0usize..4,
            cap in 0usize..4,
            init in proptest::collection::vec(0u32..100, 0..4),
            ops in proptest::collection::vec((0u8..4, 0u32..100), 0..40),
        ) {
            let (mut few, mut model): (Few<u32>, Vec<u32>) = match start {
                0 => (Few::new(), Vec::new()),
                1 => (Few::with_capacity(cap), Vec::new()),
                2 => (Few::from(init.clone()), init.clone()),
                _ => (init.iter().copied().collect(), init.clone()),
            };
            for (op, x) in ops {
                match op {
                    0 | 1 => {
                        few.push(x);
                        model.push(x);
                    }
                    2 => {
                        if let Some(last) = few.last_mut() {
                            *last = x;
                        }
                        if let Some(last) = model.last_mut() {
                            *last = x;
                        }
                    }
                    _ => {
                        few.sort_by_key(|v| v % 7);
                        model.sort_by_key(|v| v % 7);
                    }
                }
                prop_assert_eq!(&*few, &model[..]);
                prop_assert_eq!(few.len(), model.len());
            }
            prop_assert_eq!(few.clone().into_vec(), model.clone());
            prop_assert_eq!(few, Few::from(model));
        }
    }
}
