//! Chained HotStuff: exact latency with a uniform delay, linear message growth, the latency
//! slope versus the delay, and safety plus liveness under crash, silent, equivocating and
//! partitioned validators; determinism across threads with faults on.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::sim::{RunResult, run_system};

/// A one-region scenario with one-way delay `delta_ms`, zero CPU, unlimited bandwidth.
/// `n` provinces validate; two banks are clients (entry: the first validator).
fn scenario(delta_ms: f64, n: usize, flows: &str, system_extra: &str, faults: &str, duration: &str) -> String {
    format!(
        r#"
name = "hotstuff"
seed = 11
duration = "{duration}"
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

{net}
[workload]
{flows}

[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "province-1"
db_service = {{ dist = "constant", mean = "0" }}

[[system]]
name = "hotstuff"
consensus = "hotstuff"
settlement = "on-ledger"
validators = {{ roles = ["province"] }}
batch_max_tx = 1
batch_timeout = "0"
{system_extra}
{faults}
"#,
        net = crate::common::ideal_network(2.0 * delta_ms, crate::common::NO_JITTER)
    )
}

fn flow(arrival: &str) -> String {
    format!(
        r#"
[[workload.flow]]
name = "pay"
from = "bank"
to = "province"
arrival = {arrival}
size_bytes = 500
amount = {{ dist = "constant", value = 100.0 }}
"#
    )
}

fn load(text: &str) -> Scenario {
    Scenario::from_toml_str(text, "hotstuff").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn kind(r: &RunResult, name: &str) -> u64 {
    r.message_kinds
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no message kind {name}"))
}

use crate::common::close;

const SLOW: &str = r#"{ process = "constant", rate = 2.0 }"#;

#[test]
fn isolated_transactions_take_exactly_ten_delta() {
    for delta in [5.0, 10.0] {
        let sc = load(&scenario(delta, 4, &flow(SLOW), "", "", "20s"));
        let r = run_system(&sc, 1, 0);
        assert!(r.committed >= 39, "{}", r.committed);
        assert!(
            close(r.latency.mean, 10.0 * delta),
            "δ={delta}: mean {} ms",
            r.latency.mean
        );
        assert!(close(r.latency.p99, 10.0 * delta) || (r.latency.p99 - 10.0 * delta).abs() < 10.0 * delta / 64.0);
        assert_eq!(r.safety_violations, 0);
        assert_eq!(r.view_changes, 0, "no timeouts when idle");
    }
}

#[test]
fn latency_doubles_exactly_when_the_delay_doubles() {
    let at = |delta| {
        let sc = load(&scenario(delta, 4, &flow(SLOW), "", "", "10s"));
        run_system(&sc, 1, 0).latency.mean
    };
    let (five, ten) = (at(5.0), at(10.0));
    assert!(close(ten, 2.0 * five), "5 ms: {five} ms, 10 ms: {ten} ms");
}

#[test]
fn proposal_and_vote_messages_grow_linearly_with_n() {
    // Isolated requests every 0.5 s; the last (at 4.5 s) commits 0.1 s later, inside the
    // run. Every block but the last three (which carry the QCs that commit the last payload
    // block) is committed.
    let mut per_decision = Vec::new();
    for n in [4u64, 16, 64] {
        let sc = load(&scenario(10.0, n as usize, &flow(SLOW), "", "", "5s"));
        let r = run_system(&sc, 1, 0);
        let h = r.heights.1;
        assert_eq!(r.heights.0, h);
        assert_eq!(r.committed, 9);
        // One payload block and three empty ones per request; the last three stay uncommitted.
        assert_eq!(h + 3, 4 * r.committed, "n={n}");
        assert_eq!(kind(&r, "proposal"), (h + 3) * (n - 1), "n={n}");
        assert_eq!(kind(&r, "vote"), (h + 3) * (n - 1), "n={n}");
        assert_eq!(kind(&r, "forward"), r.committed * (n - 1), "n={n}");
        assert_eq!(kind(&r, "new-view"), 0);
        // Per block: exactly 2(n − 1) (the next leader's own vote is local).
        let m = (kind(&r, "proposal") + kind(&r, "vote")) as f64 / (h + 3) as f64;
        assert!(close(m, 2.0 * (n - 1) as f64), "n={n}: {m}");
        let band = m / n as f64;
        assert!((1.4..2.0).contains(&band), "n={n}: {m} messages per block");
        per_decision.push(m);
        assert!(r.replicas_consistent && r.money_conserved && r.safety_violations == 0);
    }
    // Linear: ×16 validators gives ×63/3 = ×21 messages (PBFT's quadratic count: ×≈300),
    // and per-decision messages divided by n barely move (×1.31, far below 16).
    let ratio = per_decision[2] / per_decision[0];
    assert!(close(ratio, 21.0), "64 vs 4 validators: ×{ratio}");
    let normalized = (per_decision[2] / 64.0) / (per_decision[0] / 4.0);
    assert!(normalized < 1.5, "{normalized}");
}

const STEADY: &str = r#"{ process = "poisson", rate = 40.0 }"#;

fn fault(kind: &str, target: &str, at: &str, until: Option<&str>, extra: &str) -> String {
    let until = until.map(|u| format!("until = \"{u}\"\n")).unwrap_or_default();
    format!(
        r#"
[[fault]]
kind = "{kind}"
system = "hotstuff"
target = {{ nodes = [{target}] }}
at = "{at}"
{until}{extra}
"#
    )
}

/// Safety and agreement on the final state.
fn assert_safe(r: &RunResult, what: &str) {
    assert_eq!(r.safety_violations, 0, "{what}: {:?}", r.violation_notes);
    assert!(r.replicas_consistent, "{what}: replicas differ");
    assert!(r.money_conserved, "{what}");
}

/// δ = 5 ms, Poisson 40 tx/s, view timeout 100 ms, blocks of up to 100 requests (so the
/// rounds lost to a faulty leader do not overload the pipeline).
fn run_faulty(n: usize, faults: &str, duration: &str) -> RunResult {
    let text = scenario(5.0, n, &flow(STEADY), "view_timeout = \"100ms\"", faults, duration)
        .replace("batch_max_tx = 1\n", "batch_max_tx = 100\n");
    run_system(&load(&text), 1, 0)
}

#[test]
fn a_crashed_leader_causes_view_changes_and_liveness_returns() {
    // n = 7: a crashed validator leaves runs of six correct leaders, so commits continue.
    let r = run_faulty(7, &fault("crash", "\"province-3\"", "2s", Some("5s"), ""), "8s");
    assert_safe(&r, "crash n=7");
    assert!(r.view_changes > 0, "timeouts in the crashed leader's views");
    assert!(r.forks > 0 || r.view_changes > 0);
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 200.0,
        "{:?}",
        r.recovery_ms
    );
    assert!(
        r.max_commit_gap_ms < 1000.0,
        "commits continue during the crash: {}",
        r.max_commit_gap_ms
    );
    assert!(
        r.committed as f64 > 0.97 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
    assert_eq!(r.heights.0, r.heights.1, "the recovered validator caught up");
    assert!(kind(&r, "fetch") > 0, "caught up by block sync");
    // n = 4: the three-chain needs four consecutive correct leaders, so commits wait for the
    // recovery, then resume.
    let r = run_faulty(4, &fault("crash", "\"province-2\"", "2s", Some("4s"), ""), "7s");
    assert_safe(&r, "crash n=4");
    assert!(r.view_changes > 0);
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 1000.0,
        "{:?}",
        r.recovery_ms
    );
    assert_eq!(r.heights.0, r.heights.1);
    assert!(
        r.committed as f64 > 0.97 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn a_silent_leader_is_skipped() {
    let r = run_faulty(
        7,
        &fault("byzantine", "\"province-5\"", "1s", None, "behaviour = \"silent\""),
        "6s",
    );
    assert_safe(&r, "silent");
    assert!(r.view_changes > 0);
    assert!(r.max_commit_gap_ms < 1000.0, "{}", r.max_commit_gap_ms);
    assert!(
        r.committed as f64 > 0.97 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn an_equivocating_leader_within_f_breaks_nothing() {
    // n = 7, the first validator: neither version reaches 2f + 1 votes, its views time out.
    let r = run_faulty(
        7,
        &fault("byzantine", "\"province-1\"", "1s", None, "behaviour = \"equivocate\""),
        "6s",
    );
    assert_safe(&r, "equivocate n=7");
    assert!(r.view_changes > 0, "its views fail");
    assert!(
        r.committed as f64 > 0.97 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
    // n = 4, the last validator: one version gets 2f + 1 votes; the replica that saw the other
    // fetches the certified block when the next proposal extends it.
    let r = run_faulty(
        4,
        &fault("byzantine", "\"province-4\"", "1s", None, "behaviour = \"equivocate\""),
        "6s",
    );
    assert_safe(&r, "equivocate n=4");
    assert!(r.forks > 0, "the losing version is abandoned");
    assert!(kind(&r, "fetch") > 0);
    assert!(
        r.committed as f64 > 0.97 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn a_partitioned_minority_catches_up_after_the_heal() {
    let r = run_faulty(
        7,
        &fault("partition", "\"province-3\", \"province-4\"", "2s", Some("4s"), ""),
        "7s",
    );
    assert_safe(&r, "partition n=7");
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 200.0,
        "{:?}",
        r.recovery_ms
    );
    assert!(
        r.max_commit_gap_ms < 1000.0,
        "the majority kept committing: {}",
        r.max_commit_gap_ms
    );
    assert_eq!(r.heights.0, r.heights.1, "the minority caught up");
    assert!(kind(&r, "fetch-reply") > 0);
    let r = run_faulty(4, &fault("partition", "\"province-1\"", "2s", Some("4s"), ""), "7s");
    assert_safe(&r, "partition n=4");
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 1000.0,
        "{:?}",
        r.recovery_ms
    );
    assert_eq!(r.heights.0, r.heights.1);
}

#[test]
fn results_do_not_depend_on_threads_with_faults_on() {
    let faults = [
        fault("crash", "\"province-2\"", "1s", Some("2s"), ""),
        fault(
            "byzantine",
            "\"province-6\"",
            "2500ms",
            None,
            "behaviour = \"equivocate\"",
        ),
        fault("partition", "\"province-4\"", "3s", Some("3500ms"), ""),
    ]
    .concat();
    let text = scenario(5.0, 7, &flow(STEADY), "view_timeout = \"100ms\"", &faults, "4s")
        .replace("replications = 1", "replications = 2");
    let sc = load(&text);
    let one = run_experiment(&sc, 1, &|| {}).unwrap();
    let two = run_experiment(&sc, 2, &|| {}).unwrap();
    let a = ledgersim::report::summary_json(&sc, &one).unwrap();
    let b = ledgersim::report::summary_json(&sc, &two).unwrap();
    assert_eq!(a, b);
}

#[test]
fn the_bundled_leader_crash_scenario_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/faults/hotstuff-leader-crash.toml"
    );
    let text = std::fs::read_to_string(path).expect("scenario file");
    let sc = Scenario::from_toml_str(&text, path).unwrap_or_else(|e| panic!("{e}"));
    assert!(sc.systems.iter().any(|s| s.kind.label() == "hotstuff"));
    assert!(!sc.faults.is_empty());
}
