//! Fault injection mechanics, independent of any one protocol's recovery logic: crashes stop
//! and restart nodes, partitions drop messages, degraded links add delay, slow CPUs stretch
//! service, censors drop transactions, and all of it stays deterministic.

use crate::analytic::{CENTRAL_GROUPS, DELTA_MS, centralized, flow, load, pbft_groups, pbft_system, uniform_net};
use ledgersim::experiment::run_experiment;
use ledgersim::report::summary_json;
use ledgersim::sim::run_system;

const STEADY: &str = r#"{ process = "constant", rate = 20.0 }"#;

fn central_with(faults: &str) -> ledgersim::Scenario {
    let flows = flow("bank", "fund", STEADY);
    load(&format!(
        "{}\n{faults}",
        uniform_net(&centralized(false), CENTRAL_GROUPS, &flows, "")
    ))
}

#[test]
fn a_crashed_operator_stops_commits_which_resume_after_recovery() {
    let sc = central_with(
        r#"
[[fault]]
kind = "crash"
at = "5s"
until = "10s"
target = { nodes = ["NSSF"] }
"#,
    );
    let r = run_system(&sc, 0, 0);
    // Nothing commits for the 5 s outage (plus the requests in flight when it began).
    assert!(r.max_commit_gap_ms >= 5_000.0, "gap {}", r.max_commit_gap_ms);
    // At most one arrival spacing (50 ms) plus a round trip more than the outage.
    assert!(
        r.max_commit_gap_ms <= 5_000.0 + 50.0 + 2.0 * DELTA_MS,
        "gap {}",
        r.max_commit_gap_ms
    );
    // The first request after recovery commits within 1/rate + 2δ.
    assert!(
        r.recovery_ms[0] <= 50.0 + 2.0 * DELTA_MS,
        "recovery {}",
        r.recovery_ms[0]
    );
    // Requests that reached the operator while it was down are lost.
    assert!(r.committed + 90 <= r.submitted, "{} of {}", r.committed, r.submitted);
    assert!(r.money_conserved && r.safety_violations == 0);
}

#[test]
fn a_degraded_link_adds_its_latency_both_ways() {
    let sc = central_with(
        r#"
[[fault]]
kind = "degrade"
at = "0s"
target = { nodes = ["NSSF"] }
extra_latency = "5ms"
"#,
    );
    let r = run_system(&sc, 0, 0);
    assert!(
        (r.latency.mean - (2.0 * DELTA_MS + 10.0)).abs() < 1e-9,
        "{}",
        r.latency.mean
    );
}

#[test]
fn a_partition_drops_messages_until_it_heals() {
    let sc = central_with(
        r#"
[[fault]]
kind = "partition"
at = "4s"
until = "6s"
target = { roles = ["bank"] }
peer = { nodes = ["NSSF"] }
"#,
    );
    let r = run_system(&sc, 0, 0);
    assert!(
        r.max_commit_gap_ms >= 2_000.0 - 2.0 * DELTA_MS,
        "gap {}",
        r.max_commit_gap_ms
    );
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 100.0,
        "{}",
        r.recovery_ms[0]
    );
}

#[test]
fn a_slow_cpu_stretches_service_time() {
    let flows = flow("bank", "fund", STEADY);
    let system = centralized(false).replace(r#"mean = "0""#, r#"mean = "1ms""#);
    let base = uniform_net(&system, CENTRAL_GROUPS, &flows, "");
    let slow = format!(
        "{base}\n[[fault]]\nkind = \"slow_cpu\"\nat = \"0s\"\ntarget = {{ nodes = [\"NSSF\"] }}\nfactor = 4.0\n"
    );
    let fast = run_system(&load(&base), 0, 0);
    let slowed = run_system(&load(&slow), 0, 0);
    assert!(
        (fast.latency.mean - (2.0 * DELTA_MS + 1.0)).abs() < 1e-9,
        "{}",
        fast.latency.mean
    );
    assert!(
        (slowed.latency.mean - (2.0 * DELTA_MS + 4.0)).abs() < 1e-9,
        "{}",
        slowed.latency.mean
    );
}

#[test]
fn a_censoring_operator_drops_only_the_chosen_origins() {
    let sc = central_with(
        r#"
[[fault]]
kind = "byzantine"
at = "0s"
target = { nodes = ["NSSF"] }
behaviour = "censor"
origins = { nodes = ["bank-1"] }
"#,
    );
    let honest = run_system(&central_with(""), 0, 0);
    let r = run_system(&sc, 0, 0);
    assert!(
        r.committed > 0 && r.committed < honest.committed,
        "{} vs {}",
        r.committed,
        honest.committed
    );
    // Constant arrivals with uniform endpoints: roughly a third of the payers is censored.
    let share = r.committed as f64 / honest.committed as f64;
    assert!((0.5..0.8).contains(&share), "kept {share}");
}

#[test]
fn pbft_tolerates_a_crashed_backup_and_it_catches_nothing_up_while_down() {
    let flows = flow("bank", "province", STEADY);
    let text = format!(
        "{}\n[[fault]]\nkind = \"crash\"\nat = \"2s\"\ntarget = {{ nodes = [\"province-4\"] }}\n",
        uniform_net(&pbft_system("\"province\""), &pbft_groups(4), &flows, "")
    );
    let sc = load(&text);
    let r = run_system(&sc, 1, 0);
    // f = 1 of n = 4: commits never stop.
    assert!(r.max_commit_gap_ms < 200.0, "gap {}", r.max_commit_gap_ms);
    assert_eq!(r.safety_violations, 0);
    assert!(r.replicas_consistent && r.money_conserved);
    assert!(r.heights.0 < r.heights.1, "the crashed backup stays behind");
}

#[test]
fn faults_are_deterministic_across_threads() {
    let flows = flow("bank", "province", r#"{ process = "poisson", rate = 40.0 }"#);
    let text = format!(
        "{}\n{}",
        uniform_net(&pbft_system("\"province\""), &pbft_groups(4), &flows, "")
            .replace(
                "jitter = { dist = \"none\" }",
                "jitter = { dist = \"uniform\", pct = 30 }"
            )
            .replace("replications = 1", "replications = 4"),
        r#"
[[fault]]
kind = "degrade"
at = "3s"
until = "9s"
target = { nodes = ["province-2"] }
extra_latency = "7ms"
loss = 0.2

[[fault]]
kind = "crash"
at = "5s"
until = "8s"
target = { roles = ["bank"] }
"#
    );
    let sc = load(&text);
    let one = run_experiment(&sc, 1, &|| {}).unwrap();
    let two = run_experiment(&sc, 2, &|| {}).unwrap();
    assert_eq!(summary_json(&sc, &one).unwrap(), summary_json(&sc, &two).unwrap());
}
