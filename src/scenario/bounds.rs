//! Protocol fault bounds: a scenario may crash or corrupt more members than a protocol
//! tolerates — that is a legitimate experiment — but it gets a warning, printed before the
//! run and recorded in `summary.json`, so nobody mistakes the outcome for the protocol's
//! guaranteed behaviour.
//!
//! The count is the largest number of a system's members that are faulty *at the same
//! time*: crashed (a `crash` fault active) or Byzantine (a `byzantine` fault active), over
//! the faults that apply to that system and start within the run.

use super::{FaultKind, Scenario, SystemKind, ValidationIssue};
use crate::engine::SimTime;
use std::collections::BTreeSet;

/// The worst moment of a system: how many members are faulty at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultyAtOnce {
    /// Members crashed or Byzantine at that moment (each counted once).
    pub faulty: usize,
    /// Of which Byzantine.
    pub byzantine: usize,
    /// When (simulated time), the start of the fault that made it worst.
    pub at: SimTime,
}

/// The largest number of `system`'s members faulty at once over the run (a moment with
/// more faulty members wins; on a tie, the one with more Byzantine members).
pub fn faulty_at_once(scenario: &Scenario, system: usize) -> FaultyAtOnce {
    let members: BTreeSet<u32> = scenario.systems[system].replica_nodes().into_iter().collect();
    let relevant: Vec<_> = scenario
        .faults
        .iter()
        .filter(|f| f.systems.contains(&system) && f.at < scenario.duration)
        .filter(|f| matches!(f.kind, FaultKind::Crash | FaultKind::Byzantine(_)))
        .collect();
    let mut worst = FaultyAtOnce::default();
    // The faulty set only grows at a fault's start, so those are the moments to inspect.
    for start in &relevant {
        let t = start.at;
        let mut faulty = BTreeSet::new();
        let mut byzantine = BTreeSet::new();
        for f in relevant.iter().filter(|f| f.at <= t && f.until.is_none_or(|u| u > t)) {
            for id in f.target.iter().filter(|id| members.contains(id)) {
                faulty.insert(*id);
                if matches!(f.kind, FaultKind::Byzantine(_)) {
                    byzantine.insert(*id);
                }
            }
        }
        let here = FaultyAtOnce {
            faulty: faulty.len(),
            byzantine: byzantine.len(),
            at: t,
        };
        if (here.faulty, here.byzantine) > (worst.faulty, worst.byzantine) {
            worst = here;
        }
    }
    worst
}

/// One warning per system whose faulty members exceed what its protocol tolerates:
/// PBFT and HotStuff tolerate f = ⌊(n − 1)/3⌋ crashed or Byzantine members; Raft and
/// proof-of-authority ⌊(n − 1)/2⌋ crashed members (Raft no Byzantine member at all); the
/// centralized operator none; proof-of-work's bound is a share of hash power, so it is
/// warned about when half or more of the miners are Byzantine.
pub fn protocol_warnings(scenario: &Scenario) -> Vec<ValidationIssue> {
    let mut warnings = Vec::new();
    for (si, sys) in scenario.systems.iter().enumerate() {
        let worst = faulty_at_once(scenario, si);
        if worst.faulty == 0 {
            continue;
        }
        let n = sys.replica_nodes().len();
        let tolerated = sys.kind.faults_tolerated(n);
        let when = crate::engine::to_s(worst.at);
        let counts = format!(
            "{} of its {n} members are faulty at once from t = {when} s ({} crashed, {} Byzantine)",
            worst.faulty,
            worst.faulty - worst.byzantine,
            worst.byzantine
        );
        let reason = match &sys.kind {
            SystemKind::Pbft(_) | SystemKind::HotStuff(_) if worst.faulty > tolerated => Some(format!(
                "{counts}, but {} tolerates f = {tolerated} (n = 3f + 1): safety or liveness is no longer guaranteed",
                sys.kind.label()
            )),
            SystemKind::Raft(_) if worst.byzantine > 0 => Some(format!(
                "{counts}, but Raft tolerates no Byzantine member: its guarantees assume crash faults only"
            )),
            SystemKind::Raft(_) | SystemKind::Poa(_) if worst.faulty > tolerated => Some(format!(
                "{counts}, but {} tolerates {tolerated} (a majority must stay up): it may stop committing",
                sys.kind.label()
            )),
            SystemKind::Centralized(c)
                if scenario.faults.iter().any(|f| {
                    f.systems.contains(&si)
                        && f.at < scenario.duration
                        && matches!(f.kind, FaultKind::Crash | FaultKind::Byzantine(_))
                        && f.target.contains(&c.operator)
                }) =>
            {
                Some(format!(
                    "the operator `{}` is crashed or Byzantine during the run, and the centralized system tolerates no faulty operator",
                    scenario.topology.nodes[c.operator as usize].name
                ))
            }
            SystemKind::Pow(_) if 2 * worst.byzantine >= n => Some(format!(
                "{counts}: with half or more of the miners Byzantine (and equal hash power) the longest chain is theirs"
            )),
            _ => None,
        };
        if let Some(message) = reason {
            warnings.push(ValidationIssue {
                path: format!("system[{si}]"),
                message: format!("`{}`: {message} (allowed as an experiment)", sys.name),
            });
        }
    }
    warnings
}
