//! Every bundled fault scenario runs; safety holds in each except the one that puts more
//! equivocators than PBFT tolerates, where the checker must report violations.

use crate::common;
use ledgersim::experiment::run_experiment;
use ledgersim::scenario::validate::load_file;

fn run(file: &str, overrides: &[&str]) -> ledgersim::ExperimentResult {
    let path = common::repo_root().join("scenarios/faults").join(file);
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let sc = load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"));
    run_experiment(&sc, 2, &|| {}).unwrap()
}

#[test]
fn tolerated_fault_scenarios_are_safe_and_live() {
    for file in [
        "hotstuff-leader-crash.toml",
        "pbft-equivocation-within-f.toml",
        "pbft-primary-crash.toml",
        "poa-offline-authority.toml",
        "raft-leader-crash.toml",
    ] {
        let res = run(file, &[]);
        for s in &res.systems {
            assert_eq!(s.safety_violations, 0, "{file}: {}", s.name);
            assert!(s.replicas_consistent && s.money_conserved, "{file}: {}", s.name);
            assert!(s.committed.mean > 0.0, "{file}: {}", s.name);
            for r in &s.recovery_ms {
                assert!(
                    r.recovery_ms.n > 0,
                    "{file}: {} never recovered from {}",
                    s.name,
                    r.fault
                );
            }
        }
    }
}

#[test]
fn equivocation_beyond_f_is_reported() {
    let res = run("pbft-equivocation-beyond-f.toml", &[]);
    let pbft = res.systems.iter().find(|s| s.consensus == "pbft").unwrap();
    assert!(pbft.safety_violations > 0);
    assert!(!pbft.safety_violation_notes.is_empty());
}

#[test]
fn the_northwest_partition_heals_everywhere() {
    // The bundled 16-minute run, shortened: cut from 1 min to 3 min of a 5-minute run.
    let res = run(
        "northwest-partition.toml",
        &[
            "duration=\"5m\"",
            "warmup=\"30s\"",
            "replications=1",
            "fault[0].at=\"1m\"",
            "fault[0].until=\"3m\"",
        ],
    );
    for s in &res.systems {
        assert_eq!(s.safety_violations, 0, "{}", s.name);
        assert!(s.replicas_consistent && s.money_conserved, "{}", s.name);
        assert_eq!(s.recovery_ms.len(), 1);
        assert_eq!(
            s.recovery_ms[0].recovery_ms.n, 1,
            "{}: no commit after the heal",
            s.name
        );
    }
}
