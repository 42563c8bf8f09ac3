//! Block execution shared by the replicas of one deployment.
//!
//! Correct PBFT replicas apply the same blocks in the same order from the same state, so
//! all of them compute the same balances and digests: at the national day's payout peak,
//! 43 replicas each applied every block of up to 500 transactions. [`SharedApply`] remembers the
//! last few executions as `(batch, state before, state after)`; a replica whose ledger is
//! in exactly the remembered state before (compared in full: [`Ledger::same_state`]) and
//! that executes the same batch (the same `Rc` allocation, held by the entry so it cannot
//! be reused) copies the state after instead of recomputing it. Anything else — a twin
//! batch of an equivocating primary, a replica that adopted a snapshot or diverged in any
//! other way, an entry that was overwritten — misses and computes the block itself, so the
//! result is always the ledger's own `apply_block`.
//!
//! Small batches are applied directly: below [`SharedApply::MIN_TXS`] transactions the
//! lookup and the two copies cost about as much as applying the block.

use super::Batch;
use crate::ledger::Ledger;
use std::cell::RefCell;
use std::rc::Rc;

/// One remembered execution.
struct Entry {
    batch: Rc<Batch>,
    before: Ledger,
    after: Ledger,
}

/// The last [`SharedApply::ENTRIES`] block executions of a deployment (a ring).
#[derive(Default)]
pub struct SharedApply {
    entries: Vec<Entry>,
    /// Slot of the next entry to write once the ring is full.
    next: usize,
    /// Blocks copied from an entry (for tests and profiling).
    hits: u64,
}

impl SharedApply {
    /// Executions remembered: replicas a few blocks apart still find theirs.
    pub const ENTRIES: usize = 8;
    /// Batches with fewer transactions are applied directly.
    pub const MIN_TXS: usize = 4;

    /// Apply `batch` to `ledger` as [`Ledger::apply_block`] does, taking the result of an
    /// identical earlier execution remembered in `shared` when there is one (and remembering
    /// this one otherwise); returns the chain digest.
    #[inline]
    pub fn apply(shared: &RefCell<SharedApply>, ledger: &mut Ledger, batch: &Rc<Batch>) -> u64 {
        if batch.txs.len() < Self::MIN_TXS {
            return ledger.apply_block(&batch.txs);
        }
        shared.borrow_mut().apply_large(ledger, batch)
    }

    fn apply_large(&mut self, ledger: &mut Ledger, batch: &Rc<Batch>) -> u64 {
        let n = self.entries.len();
        for k in 1..=n {
            let e = &self.entries[(self.next + n - k) % n];
            if Rc::ptr_eq(&e.batch, batch) && e.before.same_state(ledger) {
                ledger.copy_from(&e.after);
                self.hits += 1;
                return ledger.chain_digest();
            }
        }
        if n < Self::ENTRIES {
            let before = ledger.clone();
            let digest = ledger.apply_block(&batch.txs);
            self.entries.push(Entry {
                batch: batch.clone(),
                before,
                after: ledger.clone(),
            });
            self.next = self.entries.len() % Self::ENTRIES;
            return digest;
        }
        let e = &mut self.entries[self.next];
        e.before.copy_from(ledger);
        let digest = ledger.apply_block(&batch.txs);
        e.after.copy_from(ledger);
        e.batch = batch.clone();
        self.next = (self.next + 1) % Self::ENTRIES;
        digest
    }

    /// Blocks taken from an earlier execution so far.
    pub fn hits(&self) -> u64 {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::TxEntry;
    use proptest::prelude::*;

    fn tx(id: u64, from: u32, to: u32) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: 10 + id as i64,
            from,
            to,
            submitter: from,
            size: 100,
            flow: 0,
        }
    }

    fn batch(seq: u64, ids: std::ops::Range<u64>) -> Rc<Batch> {
        Rc::new(Batch::new(
            seq,
            ids.map(|i| tx(i, (i % 5) as u32, (i * 3 % 5) as u32))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn replicas_in_the_same_state_share_and_a_divergent_one_computes() {
        let cache = RefCell::new(SharedApply::default());
        let genesis = Ledger::new(5, 1_000);
        let (mut a, mut b, mut divergent) = (genesis.clone(), genesis.clone(), genesis.clone());
        // The divergent replica applied a different first block (same height afterwards).
        let (b1, other) = (batch(1, 0..8), batch(1, 100..108));
        SharedApply::apply(&cache, &mut a, &b1);
        SharedApply::apply(&cache, &mut b, &b1);
        divergent.apply_block(&other.txs);
        assert_eq!(cache.borrow().hits(), 1, "b took a's result");
        let b2 = batch(2, 8..20);
        let mut want = divergent.clone();
        want.apply_block(&b2.txs);
        SharedApply::apply(&cache, &mut a, &b2);
        let hits = cache.borrow().hits();
        SharedApply::apply(&cache, &mut divergent, &b2);
        assert_eq!(cache.borrow().hits(), hits, "a different state before: no sharing");
        assert!(
            divergent.same_state(&want),
            "the divergent replica computed its own block"
        );
        assert!(!divergent.same_state(&a));
        SharedApply::apply(&cache, &mut b, &b2);
        assert!(b.same_state(&a));
        // A twin batch (other allocation, same contents) is not taken from the cache either.
        let twin = batch(3, 20..30);
        let copy = Rc::new(Batch::new(3, twin.txs.to_vec()));
        SharedApply::apply(&cache, &mut a, &twin);
        let hits = cache.borrow().hits();
        SharedApply::apply(&cache, &mut b, &copy);
        assert_eq!(cache.borrow().hits(), hits);
        assert!(b.same_state(&a), "computed, and the same result");
    }

    proptest! {
        /// Replicas applying blocks (some of them diverging, some lagging) through one cache
        /// end in exactly the states direct application gives.
        #[test]
        fn shared_application_equals_direct_application(
            steps in proptest::collection::vec((0usize..4, 0usize..3, 1u64..12), 1..120),
        ) {
            // Three candidate blocks per height: replicas choosing different ones diverge.
            let cache = RefCell::new(SharedApply::default());
            let genesis = Ledger::new(5, 1_000);
            let mut shared = vec![genesis.clone(); 4];
            let mut direct = vec![genesis; 4];
            let mut blocks: Vec<Vec<Rc<Batch>>> = Vec::new();
            for (replica, choice, len) in steps {
                let h = shared[replica].height() as usize;
                while blocks.len() <= h {
                    let s = blocks.len() as u64;
                    blocks.push((0..3).map(|c| batch(s + 1, 1000 * s + 100 * c..1000 * s + 100 * c + len)).collect());
                }
                let b = &blocks[h][choice];
                let d = SharedApply::apply(&cache, &mut shared[replica], b);
                let want = direct[replica].apply_block(&b.txs);
                prop_assert_eq!(d, want);
                prop_assert!(shared[replica].same_state(&direct[replica]));
            }
        }
    }
}
