//! Proof-of-authority (Aura/Clique style): exact latency with uniform δ, messages per block,
//! and safety plus liveness under an offline authority, a majority/minority partition and an
//! equivocating authority; determinism across thread counts with faults on.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::sim::{RunResult, run_system};

const DELTA_MS: f64 = 10.0;

/// `n` authorities (provinces, nodes 0..n) and two banks (full nodes, clients); one region
/// with RTT `rtt_ms`, unlimited bandwidth, zero CPU; PoA with `period_ms`.
fn scenario(n: usize, period_ms: u64, rtt_ms: f64, jitter: &str, flows: &str, extra: &str) -> Scenario {
    let net = crate::common::ideal_network(rtt_ms, jitter);
    let text = format!(
        r#"
name = "poa"
seed = 11
duration = "20s"
warmup = "0"
replications = 2
start_time = "00:00"
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

{net}
[workload]
{flows}

[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "bank-1"
db_service = {{ dist = "constant", mean = "0" }}

[[system]]
name = "poa"
consensus = "poa"
settlement = "on-ledger"
validators = {{ roles = ["province"] }}
period = "{period_ms}ms"
batch_max_tx = 100
{extra}
"#
    );
    Scenario::from_toml_str(&text, "poa-test").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn flow(from: &str, to: &str, arrival: &str) -> String {
    format!(
        r#"
[[workload.flow]]
name = "{from}-{to}"
from = "{from}"
to = "{to}"
arrival = {arrival}
size_bytes = 500
amount = {{ dist = "constant", value = 100.0 }}
"#
    )
}

const NO_JITTER: &str = r#"{ dist = "none" }"#;
const JITTER: &str = r#"{ dist = "uniform", pct = 10 }"#;
/// Arrivals at 0.5 s, 1.0 s, …: exactly on the slot grid of a 100 ms or 250 ms period.
const ALIGNED: &str = r#"{ process = "constant", rate = 2.0 }"#;

use crate::common::close;

fn kind(r: &RunResult, name: &str) -> u64 {
    r.message_kinds
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .unwrap()
}

use crate::common::assert_safe_and_caught_up as assert_safe;

/// Commits the clients learned of in `[from_s, to_s)` (time-series windows of 1 s).
fn commits_between(r: &RunResult, from_s: usize, to_s: usize) -> u64 {
    r.timeseries.windows[from_s..to_s].iter().map(|w| w.committed).sum()
}

#[test]
fn latency_is_exactly_floor_half_n_plus_one_periods_plus_two_delta() {
    // A bank submits exactly at a slot boundary: request δ to its entry authority, gossip δ
    // to the others (2δ < P), sealed at the next slot start (P after submission); final when
    // ⌊n/2⌋ more blocks are sealed (⌊n/2⌋·P); the finalizing block's broadcast δ and the
    // replies δ (a majority of authorities replies at the same instant, the sealer's own
    // reply a δ earlier): latency = (⌊n/2⌋ + 1)·P + 2δ.
    for (n, period) in [(3usize, 100u64), (4, 100), (5, 100), (5, 250), (7, 100)] {
        let sc = scenario(
            n,
            period,
            2.0 * DELTA_MS,
            NO_JITTER,
            &flow("bank", "province", ALIGNED),
            "",
        );
        let r = run_system(&sc, 1, 0);
        assert!(r.committed >= 38, "n={n}: {}", r.committed);
        let expect = ((n / 2 + 1) as u64 * period) as f64 + 2.0 * DELTA_MS;
        assert!(
            close(r.latency.mean, expect),
            "n={n} P={period}ms: mean {} ms, expected {expect} ms",
            r.latency.mean
        );
        assert!(close(r.latency.p99, r.latency.mean) || (r.latency.p99 - expect).abs() < expect / 64.0);
        assert_safe(&r, "analytic");
        assert_eq!(r.view_changes, 0, "no out-of-turn block without faults");
        assert_eq!(r.forks, 0);
    }
}

#[test]
fn messages_per_block_are_n_minus_one_broadcasts_plus_gossip_and_replies() {
    for n in [3usize, 5, 7] {
        let sc = scenario(
            n,
            100,
            2.0 * DELTA_MS,
            NO_JITTER,
            &flow("bank", "province", ALIGNED),
            "",
        );
        let r = run_system(&sc, 1, 0);
        let nodes = n as u64 + 2;
        let q = n as u64 / 2 + 1;
        let txs = r.committed;
        assert_eq!(txs, 39, "arrivals at 0.5 s … 19.5 s, all final inside the window");
        // Every tx is alone in its block, which is followed by q − 1 empty blocks that
        // finalize it; the chain then idles. The last q − 1 blocks stay non-final.
        let final_blocks = r.heights.1;
        assert_eq!(final_blocks, txs * q - (q - 1), "n={n}");
        let sealed = final_blocks + (q - 1);
        assert_eq!(
            kind(&r, "block"),
            sealed * (nodes - 1),
            "n={n}: one broadcast to every other node per block"
        );
        assert_eq!(
            kind(&r, "gossip"),
            txs * (n as u64 - 1),
            "n={n}: the entry authority gossips to the others"
        );
        assert_eq!(kind(&r, "fetch"), 0);
        assert_eq!(kind(&r, "blocks"), 0);
        // One request per tx, one reply per authority per tx.
        assert_eq!(kind(&r, "client (requests + replies)"), txs * (1 + n as u64), "n={n}");
        assert_safe(&r, "messages");
    }
}

/// Banks pay provinces and provinces pay banks, Poisson, with 10 % jitter.
fn busy_flows() -> String {
    flow("bank", "province", r#"{ process = "poisson", rate = 20.0 }"#)
        + &flow("province", "bank", r#"{ process = "poisson", rate = 20.0 }"#)
}

fn crash_fault(target: &str, until: Option<&str>) -> String {
    format!(
        r#"
[[fault]]
kind = "crash"
at = "4s"
{}
system = "poa"
target = {{ nodes = ["{target}"] }}
"#,
        until.map(|u| format!("until = \"{u}\"")).unwrap_or_default()
    )
}

/// Five authorities, 100 ms period, δ = 5 ms with 10 % jitter, busy flows, plus `faults`
/// (appended after the PoA system; `[[fault]]` tables are top-level).
fn with_faults(faults: &str) -> Scenario {
    scenario(5, 100, 10.0, JITTER, &busy_flows(), faults)
}

#[test]
fn an_offline_authority_is_skipped_and_catches_up_after_recovery() {
    // province-4 (node 3) is no bank's entry authority (banks use provinces 1 and 2), so
    // only its own submissions are lost while it is down.
    let sc = with_faults(&crash_fault("province-4", Some("9s")));
    let r = run_system(&sc, 1, 0);
    assert_safe(&r, "crash");
    // Its 10 slots per second… one in five: ≈ 5 s × 2 slots/s = 10 out-of-turn blocks.
    assert!(
        (8..=14).contains(&r.view_changes),
        "out-of-turn seals while one authority of five is down: {}",
        r.view_changes
    );
    assert!(
        commits_between(&r, 5, 9) > 100,
        "finality continues with 4 of 5 authorities"
    );
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 1_000.0,
        "{:?}",
        r.recovery_ms
    );
    assert!(
        r.committed as f64 > 0.85 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
    assert_eq!(
        kind(&r, "fetch"),
        kind(&r, "blocks").max(1),
        "the recovered node fetched"
    );
    // Had it not recovered, its slots would be sealed out of turn until the end: the
    // recovered node resumed its own slots.
    let never = run_system(&with_faults(&crash_fault("province-4", None)), 1, 0);
    assert_eq!(never.safety_violations, 0);
    assert!(never.replicas_consistent && never.money_conserved);
    assert!(never.heights.0 < never.heights.1, "the crashed replica stays behind");
    assert!(
        never.view_changes > r.view_changes + 15,
        "{} vs {}",
        never.view_changes,
        r.view_changes
    );
}

#[test]
fn only_the_majority_side_of_a_partition_finalizes() {
    // Authorities 4 and 5 (a minority of 5) are cut off with their own clients; they keep
    // sealing their slots but cannot finalize; any block they finalized alone would conflict
    // with the majority's at that height and be reported by the safety checker.
    let fault = r#"
[[fault]]
kind = "partition"
at = "4s"
until = "10s"
system = "poa"
target = { nodes = ["province-4", "province-5"] }
"#;
    let sc = with_faults(fault);
    let r = run_system(&sc, 1, 0);
    assert_safe(&r, "partition");
    assert!(
        r.forks > 0,
        "the minority's blocks were reorganised away after the heal"
    );
    assert!(commits_between(&r, 5, 10) > 100, "the majority side keeps finalizing");
    assert!(
        r.recovery_ms[0].is_finite() && r.recovery_ms[0] < 1_000.0,
        "{:?}",
        r.recovery_ms
    );
    // The minority's own submissions during the partition are committed after the heal:
    // nearly everything submitted commits.
    assert!(
        r.committed as f64 > 0.9 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn an_equivocating_authority_causes_no_finalized_conflict() {
    let fault = r#"
[[fault]]
kind = "byzantine"
behaviour = "equivocate"
at = "2s"
until = "12s"
system = "poa"
target = { nodes = ["province-1"] }
"#;
    let sc = with_faults(fault);
    let r = run_system(&sc, 1, 0);
    assert_safe(&r, "equivocation");
    assert!(r.forks > 0, "half the nodes followed the other version first");
    assert!(kind(&r, "fetch") > 0, "nodes fetched the version they had not seen");
    assert!(
        r.committed as f64 > 0.9 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn results_are_identical_across_thread_counts_with_faults() {
    let faults = crash_fault("province-2", Some("7s"))
        + r#"
[[fault]]
kind = "partition"
at = "10s"
until = "13s"
system = "poa"
target = { nodes = ["province-5"] }
"#;
    let sc = with_faults(&faults);
    let a = run_experiment(&sc, 1, &|| {}).unwrap();
    let b = run_experiment(&sc, 2, &|| {}).unwrap();
    let ja = ledgersim::report::summary_json(&sc, &a).unwrap();
    let jb = ledgersim::report::summary_json(&sc, &b).unwrap();
    assert_eq!(ja, jb);
    for r in a.runs.iter().filter(|r| r.system == 1) {
        assert_safe(r, "determinism run");
        assert!(r.view_changes > 0);
    }
    assert_ne!(a.runs[2].state_digest, a.runs[3].state_digest, "replications differ");
}
