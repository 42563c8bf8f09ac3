//! Names shared across layers, defined once: the cost categories and each protocol's
//! message kinds. They live here, below every other module, because `scenario` (which
//! checks `[[expect]]` metric paths such as `cost_per_tx.breakdown.float` and
//! `message_kinds_per_tx.prepare,commit` at validation) sits below `cost` and `consensus`
//! (which produce those numbers) in the dependency order. `cost::CATEGORIES` and each
//! protocol's `Replica::msg_kind_names` are these lists.

/// Cost categories in report order (`summary.json` breakdown, `runs.csv` columns).
pub const COST_CATEGORIES: [&str; 7] = [
    "infrastructure",
    "network",
    "storage",
    "fees",
    "reconciliation",
    "float",
    "energy",
];

/// The message kind under which client requests and replies are counted, after a
/// protocol's own kinds.
pub const CLIENT_KIND: &str = "client (requests + replies)";

/// Message kinds of the centralized system, indexed by its `Replica::msg_kind`.
pub const CENTRALIZED_KINDS: &[&str] = &["replicate", "ack"];

/// Message kinds of PBFT, indexed by its `Replica::msg_kind`.
pub const PBFT_KINDS: &[&str] = &[
    "forward",
    "pre-prepare",
    "prepare",
    "commit",
    "checkpoint",
    "view-change",
    "new-view",
    "reforward",
    "state-transfer",
];

/// Message kinds of Raft, indexed by its `Replica::msg_kind`.
pub const RAFT_KINDS: &[&str] = &[
    "forward",
    "request-vote",
    "vote",
    "append",
    "append-ack",
    "probe",
    "probe-ack",
    "heartbeat",
    "heartbeat-ack",
    "deliver",
    "peer-beat",
    "pull",
    "snapshot",
];

/// Message kinds of HotStuff, indexed by its `Replica::msg_kind`.
pub const HOTSTUFF_KINDS: &[&str] = &["forward", "proposal", "vote", "new-view", "fetch", "fetch-reply"];

/// Message kinds of proof-of-authority, indexed by its `Replica::msg_kind`.
pub const POA_KINDS: &[&str] = &["gossip", "block", "fetch", "blocks"];

/// Message kinds of proof-of-work, indexed by its `Replica::msg_kind`.
pub const POW_KINDS: &[&str] = &["tx", "inv", "getdata", "block", "cmpct", "getblocktxn", "blocktxn"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are addressed in `[[expect]]` metric paths: `cost_per_tx.breakdown.<c>` and
    /// `message_kinds_per_tx.<kind>[,<kind>…]`, so each must be non-empty, unique in its
    /// list, free of the separators (`.` for categories, `,` for kinds) and of surrounding
    /// blanks.
    #[test]
    fn names_can_be_addressed_in_metric_paths() {
        fn check(list: &[&str], separator: char) {
            for (i, n) in list.iter().enumerate() {
                assert!(!n.is_empty() && n.trim() == *n && !n.contains(separator), "{n:?}");
                assert!(!list[..i].contains(n), "{n:?} twice in {list:?}");
            }
        }
        check(&COST_CATEGORIES, '.');
        for kinds in [
            CENTRALIZED_KINDS,
            PBFT_KINDS,
            RAFT_KINDS,
            HOTSTUFF_KINDS,
            POA_KINDS,
            POW_KINDS,
        ] {
            let mut all = kinds.to_vec();
            all.push(CLIENT_KIND);
            check(&all, ',');
        }
    }
}
