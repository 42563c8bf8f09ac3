//! Raft: analytic latency and message counts with a uniform one-way delay δ, and safety and
//! liveness under a leader crash, a minority partition and a majority crash; determinism.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::sim::{RunResult, run_system};

const DELTA_MS: f64 = 10.0;

/// `n` orderers (role "province"; the fund is orderer 0 when `fund_orders`), two banks as
/// peers, uniform one-way δ, zero CPU. `extra` is appended to the system table, `faults`
/// after everything.
fn scenario(n: usize, fund_orders: bool, flows: &str, extra: &str, head: &str, faults: &str) -> Scenario {
    let roles = if fund_orders {
        "\"fund\", \"province\""
    } else {
        "\"province\""
    };
    let text = format!(
        r#"
name = "raft-test"
seed = 11
start_time = "00:00"
{head}
[topology]
regions = ["r"]
[[topology.group]]
role = "fund"
names = ["NSSF"]
region = "r"
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
operator = "NSSF"
db_service = {{ dist = "constant", mean = "0" }}

[[system]]
name = "raft"
consensus = "raft"
settlement = "on-ledger"
validators = {{ roles = [{roles}] }}
election_timeout = ["150ms", "300ms"]
heartbeat = "50ms"
{extra}
{faults}
"#,
        net = crate::common::ideal_network(2.0 * DELTA_MS, crate::common::NO_JITTER)
    );
    Scenario::from_toml_str(&text, "raft-test").unwrap_or_else(|e| panic!("{e}\n{text}"))
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

const UNBATCHED: &str = "batch_max_tx = 1\nbatch_timeout = \"0\"\npipeline = 100000";
const SHORT: &str = "duration = \"20s\"\nwarmup = \"1s\"\nreplications = 1";

fn kind(r: &RunResult, name: &str) -> u64 {
    r.message_kinds
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no message kind {name}"))
}

use crate::common::assert_safe_and_caught_up as assert_safe;

use crate::common::close;

#[test]
fn raft_latency_is_four_delta_from_a_peer_and_two_at_the_leader() {
    let slow = r#"{ process = "constant", rate = 2.0 }"#;
    // Bank client (a peer) → first orderer = leader δ, AppendEntries δ, ack δ (commit at the
    // leader, 2δ after it received the transaction), reply δ.
    let sc = scenario(5, false, &flow("bank", "province", slow), UNBATCHED, SHORT, "");
    let r = run_system(&sc, 1, 0);
    assert!(r.committed > 30, "{}", r.committed);
    assert!(
        close(r.latency.mean, 4.0 * DELTA_MS),
        "peer client: {} ms",
        r.latency.mean
    );
    assert!(close(r.latency.p99, 4.0 * DELTA_MS) || (r.latency.p99 - 40.0).abs() < 40.0 / 64.0);
    assert_safe(&r, "peer client");
    // The leader's own node as client (the fund is orderer 0): local request, 2δ, local reply.
    let sc = scenario(4, true, &flow("fund", "bank", slow), UNBATCHED, SHORT, "");
    let r = run_system(&sc, 1, 0);
    assert!(r.committed > 30);
    assert!(
        close(r.latency.mean, 2.0 * DELTA_MS),
        "leader client: {} ms",
        r.latency.mean
    );
    assert_eq!(r.elections, 1, "one election at start-up");
    assert_eq!(r.view_changes, 0, "the first leader is not a change");
    assert_safe(&r, "leader client");
}

#[test]
fn raft_sends_two_n_minus_one_messages_per_entry() {
    // Arrivals from 2 s to 10 s of a 20 s run with a 1 s warm-up: the start-up election and
    // no-op are outside the window and every entry completes inside it.
    let burst = r#"{ process = "profile", points = [["00:00", 0.0], ["00:00:02", 5.0], ["00:00:10", 0.0]] }"#;
    for n in [3usize, 5, 7] {
        let sc = scenario(n, false, &flow("bank", "province", burst), UNBATCHED, SHORT, "");
        let r = run_system(&sc, 1, 0);
        let h = r.heights.1;
        assert!(h > 20, "n={n}: {h}");
        assert_eq!(h, r.committed, "batch size one: one entry per transaction");
        let n = n as u64;
        assert_eq!(kind(&r, "append") + kind(&r, "append-ack"), 2 * (n - 1) * h, "n={n}");
        assert_eq!(kind(&r, "append"), (n - 1) * h, "n={n}");
        assert_eq!(
            kind(&r, "deliver"),
            3 * h,
            "n={n}: one delivery per peer (fund + 2 banks)"
        );
        assert_eq!(kind(&r, "forward") + kind(&r, "probe") + kind(&r, "request-vote"), 0);
        assert_eq!(kind(&r, "client (requests + replies)"), 2 * h, "one request, one reply");
        assert!(kind(&r, "heartbeat") > 0, "heartbeats are counted separately");
        assert_safe(&r, "messages");
    }
}

const FLOWS: &str = r#"
[[workload.flow]]
name = "payouts"
from = "province"
to = "bank"
arrival = { process = "poisson", rate = 40.0 }
size_bytes = 500
amount = { dist = "lognormal", median = 3000.0, sigma = 0.5 }
[[workload.flow]]
name = "contributions"
from = "bank"
to = "province"
arrival = { process = "poisson", rate = 20.0 }
size_bytes = 500
amount = { dist = "lognormal", median = 1500.0, sigma = 0.6 }
"#;

const BATCHED: &str = "batch_max_tx = 50\nbatch_timeout = \"20ms\"\npipeline = 4";
const FAULT_RUN: &str = "duration = \"12s\"\nwarmup = \"1s\"\nreplications = 2";

fn fault(kind: &str, target: &str, at: &str, until: &str) -> String {
    format!(
        "[[fault]]\nkind = \"{kind}\"\nsystem = \"raft\"\nat = \"{at}\"\nuntil = \"{until}\"\ntarget = {{ nodes = [{target}] }}\n"
    )
}

#[test]
fn raft_leader_crash_triggers_an_election_and_commits_resume() {
    // province-1 is the first orderer, hence the initial leader.
    let f = fault("crash", "\"province-1\"", "5s", "8s");
    let sc = scenario(5, false, FLOWS, BATCHED, FAULT_RUN, &f);
    let r = run_system(&sc, 1, 0);
    assert!(
        r.elections >= 2,
        "start-up election and at least one more: {}",
        r.elections
    );
    assert!(r.view_changes >= 1, "{}", r.view_changes);
    // Orderer clients are served by the new leader within a few election timeouts.
    assert!(r.max_commit_gap_ms < 3.0 * 300.0, "gap {} ms", r.max_commit_gap_ms);
    let rec = r.recovery_ms[0];
    assert!(rec.is_finite() && rec < 3.0 * 300.0, "recovery {rec} ms");
    assert_safe(&r, "leader crash");
    // Without the crash there is no leader change at all.
    let calm = run_system(&scenario(5, false, FLOWS, BATCHED, FAULT_RUN, ""), 1, 0);
    assert_eq!((calm.elections, calm.view_changes), (1, 0));
    assert!(
        calm.committed > r.committed,
        "the crash cost the bank clients' requests"
    );
}

#[test]
fn raft_minority_partition_keeps_committing_and_the_minority_catches_up() {
    let f = fault("partition", "\"province-4\", \"province-5\"", "3s", "8s");
    let sc = scenario(5, false, FLOWS, BATCHED, FAULT_RUN, &f);
    let r = run_system(&sc, 1, 0);
    assert!(
        r.max_commit_gap_ms < 300.0,
        "the majority kept committing: gap {} ms",
        r.max_commit_gap_ms
    );
    assert!(r.recovery_ms[0].is_finite());
    assert_safe(&r, "minority partition");
    // The minority's own clients were only delayed: their requests were re-forwarded.
    assert!(
        r.committed as f64 > 0.97 * r.submitted as f64,
        "{} of {}",
        r.committed,
        r.submitted
    );
}

#[test]
fn raft_majority_crash_stops_commits_until_recovery() {
    let f = fault("crash", "\"province-1\", \"province-2\", \"province-3\"", "4s", "7s");
    let sc = scenario(5, false, FLOWS, BATCHED, FAULT_RUN, &f);
    let r = run_system(&sc, 1, 0);
    assert!(
        r.max_commit_gap_ms >= 2900.0,
        "no commit while a majority is down: gap {} ms",
        r.max_commit_gap_ms
    );
    let rec = r.recovery_ms[0];
    assert!(
        rec.is_finite() && rec < 2000.0,
        "commits resume after recovery: {rec} ms"
    );
    assert_safe(&r, "majority crash");
}

#[test]
fn raft_is_deterministic_across_threads_with_faults() {
    let f = fault("crash", "\"province-1\"", "4s", "6s") + &fault("crash", "\"province-3\"", "7s", "9s");
    let sc = scenario(5, false, FLOWS, BATCHED, FAULT_RUN, &f);
    let one = run_experiment(&sc, 1, &|| {}).unwrap();
    let two = run_experiment(&sc, 2, &|| {}).unwrap();
    let a = ledgersim::report::summary_json(&sc, &one).unwrap();
    let b = ledgersim::report::summary_json(&sc, &two).unwrap();
    assert!(a == b, "summary.json differs between 1 and 2 threads");
    let text = String::from_utf8(a).unwrap();
    assert!(text.contains("\"consensus\": \"raft\""));
}
