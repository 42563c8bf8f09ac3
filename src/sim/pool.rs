//! [`BoxPool`]: boxes handed back after use and reused, so that a value that travels boxed
//! through events (a transaction from its arrival to its request's handling) costs no
//! allocation per value in steady state.

/// A free list of at most `max` boxes. [`BoxPool::boxed`] reuses the most recently returned
/// box (or allocates when there is none); [`BoxPool::recycle`] returns one (dropped instead
/// when `max` are held). Memory: at most `max` boxes. O(1) each.
#[derive(Debug)]
pub(crate) struct BoxPool<T> {
    free: Vec<Box<T>>,
    max: usize,
}

impl<T> BoxPool<T> {
    /// An empty pool that keeps at most `max` boxes.
    pub(crate) fn new(max: usize) -> Self {
        Self { free: Vec::new(), max }
    }

    /// `x` in a box: a returned one if there is one, else a new one.
    #[inline]
    pub(crate) fn boxed(&mut self, x: T) -> Box<T> {
        match self.free.pop() {
            Some(mut b) => {
                *b = x;
                b
            }
            None => Box::new(x),
        }
    }

    /// Give `b` back for reuse (its value stays until it is overwritten or the pool drops).
    #[inline]
    pub(crate) fn recycle(&mut self, b: Box<T>) {
        if self.free.len() < self.max {
            self.free.push(b);
        }
    }

    /// Boxes held for reuse.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_returned_boxes_up_to_its_limit() {
        let mut pool = BoxPool::new(2);
        let a = pool.boxed(1u64);
        let b = pool.boxed(2u64);
        let c = pool.boxed(3u64);
        assert_eq!((*a, *b, *c), (1, 2, 3));
        let (pa, pb) = (&*a as *const u64, &*b as *const u64);
        pool.recycle(a);
        pool.recycle(b);
        pool.recycle(c); // beyond the limit: dropped
        assert_eq!(pool.held(), 2);
        // Last in, first out, with the new value in the old allocation.
        let d = pool.boxed(4);
        assert_eq!((*d, &*d as *const u64), (4, pb));
        let e = pool.boxed(5);
        assert_eq!((*e, &*e as *const u64), (5, pa));
        assert_eq!(pool.held(), 0);
        let f = pool.boxed(6);
        assert_eq!(*f, 6);
        // Values with drop glue: the old value is dropped when the box is reused.
        let mut strings = BoxPool::new(1);
        let s = strings.boxed(String::from("old"));
        strings.recycle(s);
        assert_eq!(*strings.boxed(String::from("new")), "new");
    }
}
