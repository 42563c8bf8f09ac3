//! PBFT under faults: view change after a primary crash or silence, equivocation within and
//! beyond f, partition and catch-up, bounded message growth, determinism.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::sim::{RunResult, run_system};

/// Four (or `n`) province validators in one region (0.4 ms RTT), a steady Poisson workload
/// between provinces (their clients enter at their own replica), `faults` appended.
fn scenario(n: usize, rate: f64, duration: &str, faults: &str) -> Scenario {
    let text = format!(
        r#"
name = "pbft-faults"
seed = 3
duration = "{duration}"
warmup = "1s"
replications = 2
start_time = "09:00"
timeseries_window = "1s"

[topology]
regions = ["r"]
[[topology.group]]
role = "province"
count = {n}
region = "r"
[[topology.group]]
role = "bank"
count = 2
region = "r"

[network]
intra_region_rtt = "2ms"
bandwidth = "1Gbps"
jitter = {{ dist = "uniform", pct = 20 }}
loss = 0.0

[[workload.flow]]
name = "transfers"
from = "province"
to = "province"
arrival = {{ process = "poisson", rate = {rate} }}
size_bytes = 500
amount = {{ dist = "constant", value = 100.0 }}

[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "bank-1"

[[system]]
name = "pbft"
consensus = "pbft"
settlement = "on-ledger"
validators = {{ roles = ["province"] }}
batch_max_tx = 20
batch_timeout = "20ms"
view_timeout = "500ms"
checkpoint_interval = 16
{faults}
"#
    );
    Scenario::from_toml_str(&text, "pbft-faults").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn fault(kind: &str, node: &str, at: &str, until: &str, extra: &str) -> String {
    format!(
        r#"
[[fault]]
kind = "{kind}"
system = "pbft"
target = {{ nodes = ["{node}"] }}
at = "{at}"
{until}
{extra}
"#,
        until = if until.is_empty() {
            String::new()
        } else {
            format!("until = \"{until}\"")
        }
    )
}

fn kind(r: &RunResult, name: &str) -> u64 {
    r.message_kinds
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no message kind {name}"))
}

use crate::common::assert_safe_and_caught_up;

#[test]
fn primary_crash_triggers_a_view_change_and_the_old_primary_catches_up() {
    let sc = scenario(4, 100.0, "8s", &fault("crash", "province-1", "3s", "5s", ""));
    let r = run_system(&sc, 1, 0);
    assert!(r.view_changes >= 1, "view changes {}", r.view_changes);
    assert!(kind(&r, "view-change") > 0 && kind(&r, "new-view") > 0);
    let rec = r.recovery_ms[0];
    assert!(rec.is_finite() && rec < 2000.0, "recovery {rec} ms");
    // Commits resumed long before the end: the stall is about one view timeout.
    assert!(r.max_commit_gap_ms < 1500.0, "gap {} ms", r.max_commit_gap_ms);
    assert!(
        r.committed as f64 > 0.6 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
    assert!(kind(&r, "state-transfer") > 0, "the old primary fetched what it missed");
    assert_safe_and_caught_up(&r, "primary crash");
}

#[test]
fn silent_primary_is_replaced() {
    let sc = scenario(
        4,
        100.0,
        "8s",
        &fault("byzantine", "province-1", "3s", "", "behaviour = \"silent\""),
    );
    let r = run_system(&sc, 1, 0);
    assert!(r.view_changes >= 1);
    assert!(r.max_commit_gap_ms < 1500.0, "gap {} ms", r.max_commit_gap_ms);
    assert!(
        r.committed as f64 > 0.6 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
    assert_safe_and_caught_up(&r, "silent primary");
}

#[test]
fn an_equivocating_primary_within_f_breaks_nothing() {
    let sc = scenario(
        4,
        100.0,
        "6s",
        &fault("byzantine", "province-1", "2s", "", "behaviour = \"equivocate\""),
    );
    let r = run_system(&sc, 1, 0);
    assert_safe_and_caught_up(&r, "equivocating primary");
    assert!(r.max_commit_gap_ms < 1500.0, "gap {} ms", r.max_commit_gap_ms);
    assert!(
        r.committed as f64 > 0.6 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn f_plus_one_equivocators_make_the_checker_report_a_fork() {
    // n = 4, f = 1: the primary and one backup equivocate. The first n − f members get the
    // original, the last one the twin: province-3 commits A, province-4 commits B.
    let faults = format!(
        "{}{}",
        fault("byzantine", "province-1", "2s", "", "behaviour = \"equivocate\""),
        fault("byzantine", "province-2", "2s", "", "behaviour = \"equivocate\"")
    );
    let sc = scenario(4, 100.0, "4s", &faults);
    let r = run_system(&sc, 1, 0);
    assert!(r.safety_violations > 0, "the checker must catch the fork");
    assert!(
        r.violation_notes.iter().any(|n| n.contains("committed block")),
        "{:?}",
        r.violation_notes
    );
    // The same pair, one equivocator only: no violation (the test can fail either way).
    let sc = scenario(
        4,
        100.0,
        "4s",
        &fault("byzantine", "province-2", "2s", "", "behaviour = \"equivocate\""),
    );
    assert_eq!(run_system(&sc, 1, 0).safety_violations, 0);
}

#[test]
fn a_partitioned_replica_heals_and_catches_up() {
    let part = r#"
[[fault]]
kind = "partition"
system = "pbft"
target = { nodes = ["province-4"] }
at = "2s"
until = "4s"
"#;
    let sc = scenario(4, 100.0, "7s", part);
    let r = run_system(&sc, 1, 0);
    assert_safe_and_caught_up(&r, "partition");
    assert!(r.recovery_ms[0].is_finite());
    assert!(kind(&r, "state-transfer") > 0, "the partitioned replica fetched blocks");
    // The partitioned primary: the others change view, it follows after the heal.
    let part_primary = part.replace("province-4", "province-1");
    let sc = scenario(4, 100.0, "7s", &part_primary);
    let r = run_system(&sc, 1, 0);
    assert!(r.view_changes >= 1);
    assert_safe_and_caught_up(&r, "partitioned primary");
}

#[test]
fn checkpoints_are_taken_in_a_long_run() {
    let sc = scenario(4, 200.0, "10s", "");
    let r = run_system(&sc, 1, 0);
    let h = r.heights.1;
    assert!(h > 100, "height {h}");
    // One checkpoint per 16 sequence numbers, broadcast by each of the 4 replicas.
    let cps = kind(&r, "checkpoint");
    assert!(cps >= (h / 16 - 8) * 12, "{cps} checkpoint messages for height {h}");
    assert_eq!(kind(&r, "view-change"), 0, "no view change without faults");
    assert_eq!(kind(&r, "state-transfer"), 0, "no fetch without faults");
    assert_safe_and_caught_up(&r, "long run");
}

#[test]
fn prepare_and_commit_counts_grow_as_n_squared() {
    for n in [16usize, 64] {
        let net = crate::common::ideal_network(2, crate::common::NO_JITTER);
        let text = format!(
            r#"
name = "n2"
seed = 1
duration = "3s"
warmup = "0"
replications = 1
start_time = "00:00"
[topology]
regions = ["r"]
[[topology.group]]
role = "province"
count = {n}
region = "r"
[[topology.group]]
role = "bank"
count = 2
region = "r"
{net}[[workload.flow]]
name = "f"
from = "bank"
to = "province"
arrival = {{ process = "profile", points = [["00:00", 5.0], ["00:00:01", 0.0]] }}
size_bytes = 500
amount = {{ dist = "constant", value = 1.0 }}
[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "bank-1"
[[system]]
name = "pbft"
consensus = "pbft"
settlement = "on-ledger"
validators = {{ roles = ["province"] }}
batch_max_tx = 1
batch_timeout = "0"
"#
        );
        let sc = Scenario::from_toml_str(&text, "n2").unwrap();
        let r = run_system(&sc, 1, 0);
        let h = r.heights.1;
        assert!(h >= 3 && h == r.heights.0, "n={n}: heights {:?}", r.heights);
        assert_eq!(h, r.committed);
        let n = n as u64;
        assert_eq!(
            kind(&r, "prepare") + kind(&r, "commit"),
            h * ((n - 1) * (n - 1) + n * (n - 1)),
            "n={n}"
        );
        assert_eq!(kind(&r, "pre-prepare"), h * (n - 1));
    }
}

#[test]
fn runs_with_faults_are_identical_across_thread_counts() {
    let faults = format!(
        "{}{}",
        fault("crash", "province-1", "2s", "3s", ""),
        fault("byzantine", "province-3", "1s", "", "behaviour = \"equivocate\"")
    );
    let sc = scenario(4, 80.0, "5s", &faults);
    let r = run_system(&sc, 1, 0);
    assert!(r.view_changes >= 1, "the faults are active");
    let a = run_experiment(&sc, 1, &|| {}).unwrap();
    let b = run_experiment(&sc, 2, &|| {}).unwrap();
    let ja = ledgersim::report::summary_json(&sc, &a).unwrap();
    let jb = ledgersim::report::summary_json(&sc, &b).unwrap();
    assert_eq!(ja, jb);
}
