//! Ledger state: one account per institution, transactions applied in commit order, money
//! conserved, and digests that let replicas be compared.
//!
//! Two digests: the *chain digest* folds every applied transaction in order (so two replicas
//! agree on it at a height exactly when they applied the same transactions in the same order),
//! and the *state digest* hashes the balances with the chain digest and height.

use crate::engine::rng::splitmix64;
use crate::scenario::NodeId;
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

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

/// Balances stored sparsely (over a uniform opening balance) while at most this many
/// accounts differ from it; beyond, the ledger switches to one `i64` per account.
pub const SPARSE_MAX: usize = 64;

/// Digests remembered per shared genesis (see [`Ledger::new_shared`]).
const MEMO_ENTRIES: usize = 8;

/// Remembered state digests: `(seed, changed balances, digest)`, newest last.
type DigestMemo = Vec<(u64, Vec<(u32, i64)>, u64)>;

/// The uniform opening state shared by the sparse ledgers of one deployment, with a small
/// memo of state digests (identical states of many replicas are hashed once).
#[derive(Debug)]
struct Genesis {
    accounts: usize,
    opening: i64,
    /// `(seed, sparse balances, digest)` of recently digested states, newest last.
    memo: Mutex<DigestMemo>,
}

/// How the balances are held.
#[derive(Debug, Clone)]
enum Balances {
    /// One `i64` per account. Apply O(1), digest O(accounts).
    Dense(Vec<i64>),
    /// The shared opening balance plus the accounts that differ from it, sorted by account
    /// (at most [`SPARSE_MAX`]). Apply O(log d + d) for d differing accounts, total O(d),
    /// digest O(accounts) the first time a state is seen by any ledger of the genesis, O(d)
    /// (memo lookup) after.
    Sparse {
        genesis: Arc<Genesis>,
        changed: Vec<(u32, i64)>,
    },
}

/// Balances of one replica. Memory: one `i64` per account ([`Ledger::new`]), or a few
/// bytes plus the changed accounts for ledgers created by [`Ledger::new_shared`] and
/// cloned (6,000 PoW replicas × 6,000 accounts would otherwise hold 288 MB of identical
/// balances).
#[derive(Debug, Clone)]
pub struct Ledger {
    balances: Balances,
    height: u64,
    applied: u64,
    chain: u64,
}

impl Ledger {
    /// A ledger with `accounts` accounts each holding `opening` minor units (dense: one
    /// `i64` per account).
    pub fn new(accounts: usize, opening: i64) -> Self {
        Self::with(Balances::Dense(vec![opening; accounts]))
    }

    /// Like [`Ledger::new`], but stored sparsely: clones share the opening state and a memo
    /// of state digests, and each holds only the accounts that differ from the opening
    /// balance (switching to dense storage past [`SPARSE_MAX`] of them). Digests, totals
    /// and balances are exactly those of [`Ledger::new`] after the same transactions.
    pub fn new_shared(accounts: usize, opening: i64) -> Self {
        Self::with(Balances::Sparse {
            genesis: Arc::new(Genesis {
                accounts,
                opening,
                memo: Mutex::new(Vec::new()),
            }),
            changed: Vec::new(),
        })
    }

    fn with(balances: Balances) -> Self {
        Self {
            balances,
            height: 0,
            applied: 0,
            chain: 0,
        }
    }

    /// Replace the balance `b` of `account` by `f(b)`.
    #[inline]
    fn update(&mut self, account: u32, f: impl Fn(i64) -> i64) {
        match &mut self.balances {
            Balances::Dense(b) => b[account as usize] = f(b[account as usize]),
            Balances::Sparse { genesis, changed } => {
                assert!((account as usize) < genesis.accounts, "account out of range");
                match changed.binary_search_by_key(&account, |e| e.0) {
                    Ok(i) => changed[i].1 = f(changed[i].1),
                    Err(i) if changed.len() < SPARSE_MAX => changed.insert(i, (account, f(genesis.opening))),
                    Err(_) => {
                        let mut dense = vec![genesis.opening; genesis.accounts];
                        for &(a, v) in changed.iter() {
                            dense[a as usize] = v;
                        }
                        dense[account as usize] = f(dense[account as usize]);
                        self.balances = Balances::Dense(dense);
                    }
                }
            }
        }
    }

    /// Apply one transaction (debit payer, credit payee). Balances may go negative: they
    /// are net positions, overdraft is not modelled.
    #[inline]
    pub fn apply(&mut self, tx: &TxEntry) {
        let amount = tx.amount_minor;
        self.update(tx.from, |b| b - amount);
        self.update(tx.to, |b| b + amount);
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

    /// Exactly the same state as `other`: same storage (dense, or sparse over the same
    /// genesis), balances, height, transaction count and chain digest. Applying the same
    /// block to two ledgers in the same state gives the same state again.
    pub fn same_state(&self, other: &Ledger) -> bool {
        self.height == other.height
            && self.applied == other.applied
            && self.chain == other.chain
            && match (&self.balances, &other.balances) {
                (Balances::Dense(a), Balances::Dense(b)) => a == b,
                (Balances::Sparse { genesis: g, changed: c }, Balances::Sparse { genesis: h, changed: d }) => {
                    Arc::ptr_eq(g, h) && c == d
                }
                _ => false,
            }
    }

    /// Become a copy of `other` (what `*self = other.clone()` gives), reusing this ledger's
    /// balance vector when both are dense.
    pub fn copy_from(&mut self, other: &Ledger) {
        match (&mut self.balances, &other.balances) {
            (Balances::Dense(a), Balances::Dense(b)) => a.clone_from(b),
            (a, b) => *a = b.clone(),
        }
        self.height = other.height;
        self.applied = other.applied;
        self.chain = other.chain;
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

    /// Number of accounts.
    pub fn accounts(&self) -> usize {
        match &self.balances {
            Balances::Dense(b) => b.len(),
            Balances::Sparse { genesis, .. } => genesis.accounts,
        }
    }

    /// Balance of `account` (panics if out of range).
    pub fn balance(&self, account: usize) -> i64 {
        match &self.balances {
            Balances::Dense(b) => b[account],
            Balances::Sparse { genesis, changed } => {
                assert!(account < genesis.accounts, "account out of range");
                match changed.binary_search_by_key(&(account as u32), |e| e.0) {
                    Ok(i) => changed[i].1,
                    Err(_) => genesis.opening,
                }
            }
        }
    }

    /// Sum of all balances (conserved by every transfer). O(accounts) dense, O(changed)
    /// sparse.
    pub fn total(&self) -> i128 {
        match &self.balances {
            Balances::Dense(b) => b.iter().map(|&b| i128::from(b)).sum(),
            Balances::Sparse { genesis, changed } => {
                let untouched = (genesis.accounts - changed.len()) as i128;
                untouched * i128::from(genesis.opening) + changed.iter().map(|&(_, b)| i128::from(b)).sum::<i128>()
            }
        }
    }

    /// Balances by account (borrowed when dense; built, O(accounts), when sparse).
    pub fn balances(&self) -> Cow<'_, [i64]> {
        match &self.balances {
            Balances::Dense(b) => Cow::Borrowed(b),
            Balances::Sparse { genesis, changed } => {
                let mut v = vec![genesis.opening; genesis.accounts];
                for &(a, b) in changed {
                    v[a as usize] = b;
                }
                Cow::Owned(v)
            }
        }
    }

    /// Digest of the full state (balances, height, history).
    pub fn state_digest(&self) -> u64 {
        let seed = splitmix64(self.chain ^ self.height.rotate_left(17) ^ self.applied);
        match &self.balances {
            Balances::Dense(b) => b.iter().fold(seed, |h, &b| splitmix64(h ^ b as u64)),
            Balances::Sparse { genesis, changed } => {
                let memo = |m: &DigestMemo| m.iter().find(|(s, c, _)| *s == seed && c == changed).map(|e| e.2);
                if let Some(d) = memo(&genesis.memo.lock().expect("memo lock")) {
                    return d;
                }
                let mut h = seed;
                let mut next = changed.iter().peekable();
                for i in 0..genesis.accounts {
                    let b = match next.peek() {
                        Some(&&(a, b)) if a as usize == i => {
                            next.next();
                            b
                        }
                        _ => genesis.opening,
                    };
                    h = splitmix64(h ^ b as u64);
                }
                let mut m = genesis.memo.lock().expect("memo lock");
                if m.len() >= MEMO_ENTRIES {
                    m.remove(0);
                }
                m.push((seed, changed.clone(), h));
                h
            }
        }
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

    #[test]
    fn same_state_and_copy_from() {
        for base in [Ledger::new(4, 100), Ledger::new_shared(4, 100)] {
            let mut a = base.clone();
            let mut b = base.clone();
            assert!(a.same_state(&b));
            a.apply_block(&[tx(1, 0, 1, 5)]);
            assert!(!a.same_state(&b), "other balances, height, history");
            b.apply_block(&[tx(2, 0, 1, 5)]);
            assert!(!a.same_state(&b), "same balances and height, other history");
            b.copy_from(&a);
            assert!(a.same_state(&b));
            assert_eq!(b.state_digest(), a.state_digest());
            assert_eq!((b.height(), b.applied(), b.total()), (1, 1, 400));
        }
        let (dense, sparse) = (Ledger::new(4, 100), Ledger::new_shared(4, 100));
        assert_eq!(dense.state_digest(), sparse.state_digest());
        assert!(!dense.same_state(&sparse), "different storage is not the same state");
        assert!(!sparse.same_state(&Ledger::new_shared(4, 100)), "nor another genesis");
        let mut d = dense.clone();
        d.copy_from(&sparse);
        assert!(d.same_state(&sparse));
    }

    #[test]
    fn shared_ledgers_match_dense_ones_through_the_switch_to_dense() {
        let accounts = 2 * SPARSE_MAX + 7;
        let mut dense = Ledger::new(accounts, 500);
        let genesis = Ledger::new_shared(accounts, 500);
        let (mut sparse, mut twin) = (genesis.clone(), genesis.clone());
        assert_eq!(genesis.state_digest(), dense.state_digest());
        for round in 0..(SPARSE_MAX as u64 + 3) {
            let t = tx(
                round,
                (round * 7 % accounts as u64) as u32,
                (round * 13 % accounts as u64) as u32,
                11 + round as i64,
            );
            for l in [&mut dense, &mut sparse, &mut twin] {
                l.apply_block(&[t]);
            }
            assert_eq!(sparse.total(), dense.total());
            assert_eq!(sparse.balances(), dense.balances());
            assert_eq!(sparse.accounts(), accounts);
            assert_eq!(sparse.balance(7), dense.balance(7));
            // The twin's digest comes from the memo (after the first one), the others are computed.
            assert_eq!(sparse.state_digest(), dense.state_digest());
            assert_eq!(twin.state_digest(), dense.state_digest());
        }
        assert!(matches!(sparse.balances, Balances::Dense(_)), "switched to dense");
        assert_eq!(genesis.state_digest(), Ledger::new(accounts, 500).state_digest());
        assert_eq!(genesis.total(), 500 * accounts as i128);
    }
}
