//! The performance yardstick models: the SimPy PBFT reference scenario (exact message count
//! per request, `limit`, `cpu.per_message`), SimBlock relay timing, and the no-op delivery
//! skipping, which must change nothing but the event count.

use ledgersim::Scenario;
use ledgersim::scenario::validate::load_str;
use ledgersim::sim::{RunResult, run_system};

fn bundled(rel: &str, overrides: &[&str]) -> Result<Scenario, String> {
    let path = crate::common::repo_root().join(rel);
    let text = std::fs::read_to_string(&path).expect("bundled scenario");
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    load_str(&text, rel, &overrides).map_err(|e| e.to_string())
}

#[test]
fn pbft_reference_sends_two_n_squared_minus_n_plus_one_messages_per_request() {
    for (n, req) in [(4u64, 60u64), (7, 30)] {
        let sc = bundled(
            "scenarios/bench/pbft-reference.toml",
            &[
                &format!("topology.group[0].count={n}"),
                &format!("workload.flow[0].limit={req}"),
                "duration=2s",
            ],
        )
        .expect("valid");
        let r = run_system(&sc, 0, 0);
        assert_eq!(r.submitted, req, "the flow stops after `limit` requests");
        assert_eq!(r.committed, req, "every request commits");
        // request + pre-prepare (n−1) + prepare (n−1)² + commit n(n−1) + reply n.
        assert_eq!(r.messages, req * (2 * n * n - n + 1), "n = {n}");
        // Five lognormal hops of mean 20 ms, plus 50 µs per received message: the client
        // needs f + 1 replies, each after ≥ 4 hops; far from 0 and from a timeout.
        assert!((70.0..140.0).contains(&r.latency.p50), "p50 {} ms", r.latency.p50);
        // 50 µs per received message: the primary receives 1 request + (n−1) prepares +
        // (n−1) commits per request, `req` requests in the 2 s window.
        let expected_busy = (1 + 2 * (n - 1)) as f64 * 50e-6 * req as f64 / 2.0;
        assert!(
            (r.cpu_util_max - expected_busy).abs() < 0.25 * expected_busy,
            "busiest CPU {} vs {expected_busy}",
            r.cpu_util_max
        );
    }
}

/// `reply = "on-commit"` (the SimPy reference's rule) only moves the replies earlier: the same
/// requests commit, with the same messages, one block each, consistent replicas (execution
/// stays in sequence order), and earlier on average at n = 4, where a request often commits
/// before its predecessor. (The ledgers' digests differ: replies leave at other times, so the
/// network's later draws, and with them the order in which requests reach the primary, do.)
#[test]
fn replying_on_commit_changes_only_when_clients_learn_of_it() {
    let run = |reply: &str| {
        let sc = bundled(
            "scenarios/bench/pbft-reference.toml",
            &[
                "topology.group[0].count=4",
                "workload.flow[0].limit=1500",
                "duration=16s",
                &format!("system[0].reply=\"{reply}\""),
            ],
        )
        .expect("valid");
        run_system(&sc, 0, 0)
    };
    let (early, late) = (run("on-commit"), run("after-execution"));
    for r in [&early, &late] {
        assert_eq!(r.committed, 1500);
        assert_eq!(r.messages, 1500 * 29, "request + 3 + 9 + 12 + 4 replies");
        assert!(r.replicas_consistent && r.money_conserved && r.safety_violations == 0);
    }
    assert_eq!(early.heights, (1500, 1500), "one block per request on every replica");
    assert_eq!(late.heights, (1500, 1500));
    assert!(
        early.latency.mean < late.latency.mean - 1.0,
        "on-commit {} ms vs after-execution {} ms",
        early.latency.mean,
        late.latency.mean
    );
    assert!(early.latency.p50 <= late.latency.p50);
}

#[test]
fn new_fields_are_validated() {
    let bad = [
        ("workload.flow[0].limit=0", "limit"),
        ("cpu.per_message=\"fast\"", "cpu.per_message"),
        ("system[0].reply=\"on-comit\"", "system[0].reply"),
        ("system[0].reply=\"early\"", "allowed: after-execution, on-commit"),
    ];
    for (set, path) in bad {
        let err = bundled("scenarios/bench/pbft-reference.toml", &[set]).expect_err(set);
        assert!(err.contains(path), "{set}: {err}");
    }
    let pow_bad = [
        ("system[0].relay_timing=\"fast\"", "allowed: egress, simblock"),
        ("system[0].churn_share=1.5", "churn_share"),
        ("system[0].compact_refill.weight=[1]", "same length"),
        (
            "system[0].compact_refill_stable.fraction=[1.5]",
            "compact_refill_stable.fraction[0]",
        ),
    ];
    for (set, needle) in pow_bad {
        let err = bundled("scenarios/bitcoin-simblock-2019.toml", &[set]).expect_err(set);
        assert!(err.contains(needle), "{set}: {err}");
    }
}

/// 300 SimBlock nodes (regional shares of 6,000 / 20) for ~5 blocks.
fn simblock_small(extra: &[&str]) -> RunResult {
    let mut o = vec![
        "topology.group[0].count=99",
        "topology.group[1].count=150",
        "topology.group[2].count=3",
        "topology.group[3].count=35",
        "topology.group[4].count=7",
        "topology.group[5].count=6",
        "duration=50m",
    ];
    o.extend_from_slice(extra);
    let sc = bundled("scenarios/bitcoin-simblock-2019.toml", &o).expect("valid");
    run_system(&sc, 0, 0)
}

#[test]
fn skipping_no_op_deliveries_changes_only_the_event_count() {
    let fast = simblock_small(&[]);
    // A slow-CPU fault with factor 1 changes nothing, but any fault turns the skipping off.
    let sc_text = std::fs::read_to_string(crate::common::repo_root().join("scenarios/bitcoin-simblock-2019.toml"))
        .expect("scenario");
    // Appended at the end: the `[[fault]]` header closes the system's last sub-table.
    let with_fault = format!(
        "{sc_text}\n[[fault]]\nkind = \"slow_cpu\"\ntarget = {{ nodes = [\"na-1\"] }}\nat = \"0s\"\nfactor = 1.0\n"
    );
    let overrides: Vec<String> = [
        "topology.group[0].count=99",
        "topology.group[1].count=150",
        "topology.group[2].count=3",
        "topology.group[3].count=35",
        "topology.group[4].count=7",
        "topology.group[5].count=6",
        "duration=50m",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let sc = load_str(&with_fault, "simblock+fault", &overrides).expect("valid");
    assert_eq!(sc.faults.len(), 1);
    let slow = run_system(&sc, 0, 0);
    let (a, b) = (fast.chain.expect("chain"), slow.chain.expect("chain"));
    assert!(a.propagated >= 2, "{a:?}");
    // Debug text, so that a NaN stale rate (no final block yet) compares equal to itself.
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "block propagation identical");
    assert_eq!(fast.messages, slow.messages);
    assert_eq!(fast.bytes, slow.bytes);
    assert_eq!(fast.message_kinds, slow.message_kinds);
    assert_eq!(fast.state_digest, slow.state_digest);
    assert_eq!(fast.heights, slow.heights);
    assert!(
        fast.events * 3 < slow.events * 2,
        "INV deliveries are skipped (at least a third of the events): {} vs {} events",
        fast.events,
        slow.events
    );
}

#[test]
fn simblock_relay_timing_is_slower_than_egress_timing() {
    // SimBlock's stop-and-wait uploads and +10 ms control messages make propagation slower
    // than the egress FIFO model on the same network.
    let simblock = simblock_small(&[]).chain.expect("chain");
    let egress = simblock_small(&["system[0].relay_timing=\"egress\""])
        .chain
        .expect("chain");
    assert!(
        simblock.propagation_p50_ms > 1.2 * egress.propagation_p50_ms,
        "simblock {simblock:?} egress {egress:?}"
    );
}
