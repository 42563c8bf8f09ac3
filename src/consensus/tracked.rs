//! Requests a PBFT replica keeps until they execute ("tracked" requests), with a count per
//! submitter so that executing a block only looks at the block's submitters that have
//! tracked requests.
//!
//! A replica normally tracks only the requests of its own clients (and, after a view change,
//! those forwarded to it), while every replica executes every block. Removing every
//! transaction of every block from the map cost a `BTreeMap` search per transaction per
//! replica; [`Tracked::remove_executed`] walks only the block's `by_client` ranges of
//! submitters with a non-zero count.
//!
//! **Invariant relied on:** a transaction id names one transaction (ids are run-unique and
//! a `TxEntry` is never altered on its way), so a tracked entry with id `x` has the same
//! submitter as any batch transaction with id `x`. Under it, [`Tracked`] holds exactly what
//! the plain map `id → TxEntry` would after the same operations.

use super::Batch;
use crate::ledger::TxEntry;
use crate::scenario::NodeId;
use std::collections::BTreeMap;

/// Tracked requests by id, with the number of entries per submitter.
#[derive(Debug, Default)]
pub struct Tracked {
    by_id: BTreeMap<u64, TxEntry>,
    /// `(submitter, entries)` for every submitter tracked since the last
    /// [`Tracked::take_all`], sorted; an entry stays when its count drops to zero (a
    /// replica keeps tracking the same few clients: no vector insert and remove per request).
    counts: Vec<(NodeId, u32)>,
}

impl Tracked {
    /// No tracked request.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of tracked requests.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Track `tx` (replacing an entry with its id). Not inlined: it runs once per tracked
    /// request, off the per-message path.
    #[inline(never)]
    pub fn insert(&mut self, tx: TxEntry) {
        if let Some(old) = self.by_id.insert(tx.id, tx) {
            self.dec(old.submitter);
        }
        match self.counts.binary_search_by_key(&tx.submitter, |e| e.0) {
            Ok(i) => self.counts[i].1 += 1,
            Err(i) => self.counts.insert(i, (tx.submitter, 1)),
        }
    }

    fn dec(&mut self, submitter: NodeId) {
        let i = self
            .counts
            .binary_search_by_key(&submitter, |e| e.0)
            .expect("a tracked entry's submitter is counted");
        self.counts[i].1 -= 1;
    }

    /// Stop tracking the transactions of an executed `batch`: only the ranges of submitters
    /// with tracked entries are looked at.
    pub fn remove_executed(&mut self, batch: &Batch) {
        for &(client, start, end) in batch.by_client.iter() {
            match self.counts.binary_search_by_key(&client, |e| e.0) {
                Ok(i) if self.counts[i].1 > 0 => {}
                _ => continue,
            }
            for tx in &batch.txs[start as usize..end as usize] {
                if let Some(old) = self.by_id.remove(&tx.id) {
                    self.dec(old.submitter);
                }
            }
            if self.by_id.is_empty() {
                return;
            }
        }
    }

    /// The tracked requests in id order.
    pub fn values(&self) -> impl Iterator<Item = &TxEntry> {
        self.by_id.values()
    }

    /// Take every tracked request (in id order), leaving none.
    pub fn take_all(&mut self) -> Vec<TxEntry> {
        self.counts.clear();
        std::mem::take(&mut self.by_id).into_values().collect()
    }

    /// The non-zero counts.
    #[cfg(test)]
    fn nonzero(&self) -> Vec<(NodeId, u32)> {
        self.counts.iter().copied().filter(|e| e.1 > 0).collect()
    }

    /// The count per submitter, recomputed from the entries (for tests).
    #[cfg(test)]
    fn recount(&self) -> Vec<(NodeId, u32)> {
        let mut m: BTreeMap<NodeId, u32> = BTreeMap::new();
        for tx in self.by_id.values() {
            *m.entry(tx.submitter).or_default() += 1;
        }
        m.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Transaction `id`; its submitter is a function of the id (one id, one transaction).
    fn tx(id: u64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: id,
            amount_minor: id as i64,
            from: (id % 3) as NodeId,
            to: 5,
            submitter: (id * 7 % 5) as NodeId,
            size: 10,
            flow: 0,
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Execute(Vec<u64>),
        TakeAll,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u64..40).prop_map(Op::Insert),
            3 => proptest::collection::vec(0u64..40, 0..12).prop_map(Op::Execute),
            1 => Just(Op::TakeAll),
        ]
    }

    proptest! {
        /// Every operation leaves the same entries as the plain map, with exact counts.
        #[test]
        fn behaves_like_the_plain_map(ops in proptest::collection::vec(op(), 0..200)) {
            let mut t = Tracked::default();
            let mut plain: BTreeMap<u64, TxEntry> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(id) => {
                        t.insert(tx(id));
                        plain.insert(id, tx(id));
                    }
                    Op::Execute(ids) => {
                        let batch = Batch::new(1, ids.iter().map(|&i| tx(i)).collect::<Vec<_>>());
                        t.remove_executed(&batch);
                        for tx in batch.txs.iter() {
                            plain.remove(&tx.id);
                        }
                    }
                    Op::TakeAll => {
                        let got = t.take_all();
                        let want: Vec<TxEntry> = std::mem::take(&mut plain).into_values().collect();
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert!(t.values().eq(plain.values()));
                prop_assert_eq!(t.len(), plain.len());
                prop_assert_eq!(t.is_empty(), plain.is_empty());
                prop_assert_eq!(t.nonzero(), t.recount());
            }
        }
    }

    #[test]
    fn executing_skips_submitters_without_tracked_entries() {
        let mut t = Tracked::default();
        t.insert(tx(1)); // submitter 2
        t.insert(tx(1)); // the same request again: still one entry
        assert_eq!(t.nonzero(), vec![(2, 1)]);
        // A batch with ids 0..10: only submitter 2's range (ids 1 and 6) is walked.
        t.insert(tx(6));
        t.insert(tx(3)); // submitter 1
        assert_eq!(t.nonzero(), vec![(1, 1), (2, 2)]);
        t.remove_executed(&Batch::new(1, (0..10).filter(|&i| i != 3).map(tx).collect::<Vec<_>>()));
        assert_eq!(t.values().map(|x| x.id).collect::<Vec<_>>(), vec![3]);
        assert_eq!(t.counts, vec![(1, 1), (2, 0)], "a zero count stays");
        assert_eq!(t.take_all(), vec![tx(3)]);
        assert!(t.is_empty() && t.counts.is_empty());
    }
}
