//! Ledger state: one account per institution, transactions applied in commit order, money
//! conserved, and digests that let replicas be compared.
//!
//! Two digests: the *chain digest* folds every applied transaction in order (so two replicas
//! agree on it at a height exactly when they applied the same transactions in the same order),
//! and the *state digest* hashes the balances with the chain digest and height.

use crate::engine::rng::splitmix64;
use crate::scenario::NodeId;

/// A transaction as carried through the system (36–48 bytes, `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxEntry {
    /// Run-unique id, identical across systems for the same workload draw.
    pub id: u64,
    /// Simulated time of submission.
    pub submitted_at: u64,
    /// Amount in minor units (fen / cents).
    pub amount_minor: i64,
    /// Paying institution.
    pub from: NodeId,
    /// Receiving institution.
    pub to: NodeId,
    /// Node that submitted it (the payer, or a custodian bank for `via` flows).
    pub submitter: NodeId,
    /// Bytes on the wire.
    pub size: u32,
    /// Flow index.
    pub flow: u16,
}

/// Order-sensitive fold of a transaction into a running digest.
#[inline]
pub fn fold_tx(digest: u64, tx: &TxEntry) -> u64 {
    let mut h = splitmix64(digest ^ tx.id);
    h = splitmix64(h ^ (u64::from(tx.from) << 32 | u64::from(tx.to)));
    splitmix64(h ^ tx.amount_minor as u64)
}

/// Balances of one replica. Memory: one `i64` per account.
#[derive(Debug, Clone)]
pub struct Ledger {
    balances: Vec<i64>,
    height: u64,
    applied: u64,
    chain: u64,
}

impl Ledger {
    /// A ledger with `accounts` accounts each holding `opening` minor units.
    pub fn new(accounts: usize, opening: i64) -> Self {
        Self {
            balances: vec![opening; accounts],
            height: 0,
            applied: 0,
            chain: 0,
        }
    }

    /// Apply one transaction (debit payer, credit payee). Balances may go negative: they
    /// are net positions, overdraft is not modelled.
    #[inline]
    pub fn apply(&mut self, tx: &TxEntry) {
        self.balances[tx.from as usize] -= tx.amount_minor;
        self.balances[tx.to as usize] += tx.amount_minor;
        self.chain = fold_tx(self.chain, tx);
        self.applied += 1;
    }

    /// Apply a block of transactions in order and advance the height by one.
    pub fn apply_block(&mut self, txs: &[TxEntry]) -> u64 {
        for tx in txs {
            self.apply(tx);
        }
        self.height += 1;
        self.chain = splitmix64(self.chain ^ self.height);
        self.chain
    }

    /// Blocks applied.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Transactions applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Digest of the applied history.
    pub fn chain_digest(&self) -> u64 {
        self.chain
    }

    /// Sum of all balances (conserved by every transfer).
    pub fn total(&self) -> i128 {
        self.balances.iter().map(|&b| i128::from(b)).sum()
    }

    /// Balances by account.
    pub fn balances(&self) -> &[i64] {
        &self.balances
    }

    /// Digest of the full state (balances, height, history).
    pub fn state_digest(&self) -> u64 {
        let mut h = splitmix64(self.chain ^ self.height.rotate_left(17) ^ self.applied);
        for &b in &self.balances {
            h = splitmix64(h ^ b as u64);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(id: u64, from: u32, to: u32, amount: i64) -> TxEntry {
        TxEntry {
            id,
            submitted_at: 0,
            amount_minor: amount,
            from,
            to,
            submitter: from,
            size: 100,
            flow: 0,
        }
    }

    #[test]
    fn conservation_and_order_sensitivity() {
        let mut a = Ledger::new(3, 1000);
        let mut b = Ledger::new(3, 1000);
        let (t1, t2) = (tx(1, 0, 1, 300), tx(2, 1, 2, 50));
        a.apply_block(&[t1, t2]);
        b.apply_block(&[t2, t1]);
        assert_eq!(a.total(), 3000);
        assert_eq!(b.total(), 3000);
        assert_eq!(a.balances(), b.balances(), "transfers commute on balances");
        assert_ne!(
            a.chain_digest(),
            b.chain_digest(),
            "but the history digest sees the order"
        );
        let mut c = Ledger::new(3, 1000);
        c.apply_block(&[t1, t2]);
        assert_eq!(a.state_digest(), c.state_digest());
    }
}
