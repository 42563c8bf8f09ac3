//! Raft with `execution = "execute-order-validate"` (Hyperledger Fabric's transaction flow):
//! exact latency under a uniform one-way δ (with zero CPU and with distinct CPU costs),
//! pipelining of ordering and validation, safety and money conservation (also across a
//! leader crash), determinism across thread counts, the default left unchanged, and the
//! errors of the new fields.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::sim::{RunResult, run_system};

const DELTA_MS: f64 = 10.0;

/// Three orderers (role "province"; the fund is orderer 0 when `fund_orders`), the fund and
/// two banks as peers otherwise; uniform one-way δ = 10 ms, unlimited bandwidth, CPU costs
/// `cpu` (a `[cpu]` table body), `cores` per node. `extra` goes into the Raft system table.
fn scenario(fund_orders: bool, flows: &str, cpu: &str, cores: u32, extra: &str, head: &str) -> Scenario {
    let roles = if fund_orders {
        "\"fund\", \"province\""
    } else {
        "\"province\""
    };
    let text = format!(
        r#"
name = "fabric-test"
seed = 18
start_time = "00:00"
{head}
[topology]
regions = ["r"]
[[topology.group]]
role = "fund"
names = ["NSSF"]
region = "r"
cores = {cores}
[[topology.group]]
role = "province"
count = 3
region = "r"
cores = {cores}
[[topology.group]]
role = "bank"
count = 2
region = "r"
cores = {cores}

[network]
intra_region_rtt = "{rtt}ms"
bandwidth = "unlimited"
jitter = {{ dist = "none" }}
loss = 0.0

[cpu]
{cpu}

[workload]
{flows}

[[system]]
name = "fabric"
consensus = "raft"
baseline = true
settlement = "on-ledger"
validators = {{ roles = [{roles}] }}
election_timeout = ["150ms", "300ms"]
heartbeat = "50ms"
{extra}
"#,
        rtt = 2.0 * DELTA_MS
    );
    Scenario::from_toml_str(&text, "fabric-test").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn flow(from: &str, to: &str, arrival: &str, size: u32) -> String {
    format!(
        r#"
[[workload.flow]]
name = "{from}-{to}"
from = "{from}"
to = "{to}"
arrival = {arrival}
size_bytes = {size}
amount = {{ dist = "constant", value = 100.0 }}
"#
    )
}

const ZERO_CPU: &str = "sign = \"0\"\nverify = \"0\"\nhash_per_kb = \"0\"\nexecute_tx = \"0\"\ndb_commit = \"0\"";
const EOV: &str = "execution = \"execute-order-validate\"";
const UNBATCHED: &str = "batch_max_tx = 1\nbatch_timeout = \"0\"\npipeline = 100000";
const SHORT: &str = "duration = \"20s\"\nwarmup = \"1s\"\nreplications = 1";
const SLOW: &str = r#"{ process = "constant", rate = 2.0 }"#;

use crate::common::assert_safe_and_caught_up as assert_safe;

use crate::common::close;

#[test]
fn eov_latency_is_four_delta_from_a_peer_and_two_at_the_leader() {
    // A bank (a peer) endorses locally, forwards to the leader δ, AppendEntries δ, ack δ
    // (commit), Deliver δ to the bank, which validates and tells its own client: 4δ.
    let extra = format!("{EOV}\n{UNBATCHED}");
    let sc = scenario(false, &flow("bank", "province", SLOW, 500), ZERO_CPU, 8, &extra, SHORT);
    let r = run_system(&sc, 0, 0);
    assert!(r.committed > 30, "{}", r.committed);
    assert!(
        close(r.latency.mean, 4.0 * DELTA_MS),
        "peer client: {} ms",
        r.latency.mean
    );
    assert!(
        close(r.latency.p50, 4.0 * DELTA_MS),
        "peer client p50: {} ms",
        r.latency.p50
    );
    assert_safe(&r, "peer client");
    // A client at the leader's node (the fund is orderer 0): local request, 2δ, local reply.
    let sc = scenario(true, &flow("fund", "bank", SLOW, 500), ZERO_CPU, 8, &extra, SHORT);
    let r = run_system(&sc, 0, 0);
    assert!(r.committed > 30);
    assert!(
        close(r.latency.mean, 2.0 * DELTA_MS),
        "leader client: {} ms",
        r.latency.mean
    );
    assert_safe(&r, "leader client");
}

#[test]
fn eov_latency_adds_exactly_the_cpu_charges_on_the_path() {
    // sign 1 ms, verify 2 ms, execute_tx 3 ms, db_commit 5 ms, no hashing, 2 endorsements.
    // Path of a bank's transaction (one per block, no queueing at 2 tx/s):
    //   client signs 1; its peer endorses: verify 2 + execute 3 + sign 1 = 6; δ;
    //   leader: verify 2 + block sign 1 = 3; δ; follower: verify 2; δ; leader applies 0
    //   (orderers do not execute); δ; the peer validates: block verify 2 + 2 endorsements
    //   × verify 2 + db_commit 5 = 11; local reply.  Total 23 ms + 4δ.
    let cpu = "sign = \"1ms\"\nverify = \"2ms\"\nhash_per_kb = \"0\"\nexecute_tx = \"3ms\"\ndb_commit = \"5ms\"";
    let extra = format!("{EOV}\nendorsements = 2\n{UNBATCHED}");
    let sc = scenario(false, &flow("bank", "province", SLOW, 500), cpu, 8, &extra, SHORT);
    let r = run_system(&sc, 0, 0);
    assert!(r.committed > 30, "{}", r.committed);
    let expect = 23.0 + 4.0 * DELTA_MS;
    assert!(
        close(r.latency.mean, expect),
        "{} ms, expected {expect}",
        r.latency.mean
    );
    assert_safe(&r, "cpu path");
    // The default (order-execute) charges the execution at the orderers instead: the same
    // scenario without the option is a different, slower path.
    let sc = scenario(false, &flow("bank", "province", SLOW, 500), cpu, 8, UNBATCHED, SHORT);
    let base = run_system(&sc, 0, 0);
    assert!(!close(base.latency.mean, expect), "{}", base.latency.mean);
}

/// Saturated throughput in tx/s with blocks of 10 transactions of 1,000 bytes; the leader
/// hashes each block (10 ms) and each peer hashes and commits it (10 + `db_commit` ms).
fn saturated_throughput(extra: &str, db_commit_ms: u32) -> RunResult {
    let cpu = format!(
        "sign = \"0\"\nverify = \"0\"\nhash_per_kb = \"1ms\"\nexecute_tx = \"0\"\ndb_commit = \"{db_commit_ms}ms\""
    );
    let arrival = r#"{ process = "poisson", rate = 1000.0 }"#;
    let head = "duration = \"8s\"\nwarmup = \"2s\"\nreplications = 1";
    let batch = format!("{extra}\nbatch_max_tx = 10\nbatch_timeout = \"1s\"\npipeline = 100000");
    let sc = scenario(false, &flow("bank", "province", arrival, 1000), &cpu, 1, &batch, head);
    run_system(&sc, 0, 0)
}

#[test]
fn eov_pipelines_ordering_and_validation() {
    // Per block of 10 tx: ordering O = 10 ms at the leader (one core), validation
    // V = 10 ms hash + 10 ms db_commit = 20 ms at each peer (one core). Pipelined, the
    // throughput is 1 / max(V, O) = 50 blocks/s = 500 tx/s; done one after the other it
    // would be 1 / (V + O) = 33.3 blocks/s = 333 tx/s.
    let r = saturated_throughput(EOV, 10);
    assert!(
        (r.throughput_tps - 500.0).abs() < 0.02 * 500.0,
        "pipelined throughput {} tx/s, expected 500 = 10 tx / max(20 ms, 10 ms)",
        r.throughput_tps
    );
    assert_safe(&r, "pipelined");
    // The validation stage is the bottleneck: halving db_commit to 5 ms (V = 15 ms) raises
    // the throughput to 10 tx / 15 ms = 667 tx/s.
    let r = saturated_throughput(EOV, 5);
    assert!(
        (r.throughput_tps - 10_000.0 / 15.0).abs() < 0.02 * 667.0,
        "{} tx/s, expected 667",
        r.throughput_tps
    );
    assert_safe(&r, "pipelined, faster validation");
}

#[test]
fn eov_survives_a_leader_crash_with_safety_and_money_conserved() {
    let arrival = r#"{ process = "poisson", rate = 200.0 }"#;
    let cpu = "sign = \"50us\"\nverify = \"100us\"\nhash_per_kb = \"2us\"\nexecute_tx = \"200us\"\ndb_commit = \"2ms\"";
    // province-1 is the first orderer, hence the initial leader; it is down from 4 s to 6 s.
    let extra = format!(
        "{EOV}\nbatch_max_tx = 20\nbatch_timeout = \"20ms\"\npipeline = 4\n\
         [[fault]]\nkind = \"crash\"\nsystem = \"fabric\"\nat = \"4s\"\nuntil = \"6s\"\n\
         target = {{ nodes = [\"province-1\"] }}"
    );
    let head = "duration = \"12s\"\nwarmup = \"1s\"\nreplications = 1";
    let flows = flow("bank", "province", arrival, 500) + &flow("province", "bank", arrival, 500);
    let sc = scenario(false, &flows, cpu, 4, &extra, head);
    let r = run_system(&sc, 0, 0);
    assert!(r.elections >= 2, "an election after the crash: {}", r.elections);
    assert!(r.committed > 1_000, "{}", r.committed);
    assert_safe(&r, "leader crash");
}

#[test]
fn eov_is_deterministic_across_threads() {
    let arrival = r#"{ process = "poisson", rate = 300.0 }"#;
    let cpu = "sign = \"50us\"\nverify = \"100us\"\nhash_per_kb = \"2us\"\nexecute_tx = \"200us\"\ndb_commit = \"2ms\"";
    let extra = format!("{EOV}\nendorsements = 3\nbatch_max_tx = 25\nbatch_timeout = \"30ms\"\npipeline = 8");
    let head = "duration = \"6s\"\nwarmup = \"1s\"\nreplications = 2";
    let flows = flow("bank", "province", arrival, 700) + &flow("province", "bank", arrival, 700);
    let sc = scenario(false, &flows, cpu, 2, &extra, head);
    let one = run_experiment(&sc, 1, &|| {}).unwrap();
    let two = run_experiment(&sc, 2, &|| {}).unwrap();
    let a = ledgersim::report::summary_json(&sc, &one).unwrap();
    let b = ledgersim::report::summary_json(&sc, &two).unwrap();
    assert!(a == b, "summary.json differs between 1 and 2 threads");
}

#[test]
fn order_execute_is_the_default() {
    let arrival = r#"{ process = "poisson", rate = 100.0 }"#;
    let cpu = "sign = \"50us\"\nverify = \"100us\"\nhash_per_kb = \"2us\"\nexecute_tx = \"200us\"\ndb_commit = \"2ms\"";
    let head = "duration = \"4s\"\nwarmup = \"1s\"\nreplications = 1";
    let flows = flow("bank", "province", arrival, 500);
    let plain = scenario(false, &flows, cpu, 2, "batch_max_tx = 20", head);
    let explicit = scenario(
        false,
        &flows,
        cpu,
        2,
        "batch_max_tx = 20\nexecution = \"order-execute\"",
        head,
    );
    let a = ledgersim::report::summary_json(&plain, &run_experiment(&plain, 1, &|| {}).unwrap()).unwrap();
    let b = ledgersim::report::summary_json(&explicit, &run_experiment(&explicit, 1, &|| {}).unwrap()).unwrap();
    assert!(
        a == b,
        "an explicit `execution = \"order-execute\"` changed the results"
    );
}

#[test]
fn eov_fields_are_checked() {
    let text = |extra: &str, roles: &str| {
        format!(
            r#"
name = "x"
seed = 1
duration = "1s"
[topology]
regions = ["r"]
[[topology.group]]
role = "province"
count = 3
region = "r"
[[topology.group]]
role = "bank"
count = 1
region = "r"
[network]
intra_region_rtt = "1ms"
[[workload.flow]]
name = "f"
from = "bank"
to = "province"
arrival = {{ process = "constant", rate = 1.0 }}
size_bytes = 100
amount = {{ dist = "constant", value = 1.0 }}
[[system]]
name = "raft"
consensus = "raft"
baseline = true
settlement = "on-ledger"
validators = {{ roles = [{roles}] }}
{extra}
"#
        )
    };
    let err = |extra: &str, roles: &str| {
        Scenario::from_toml_str(&text(extra, roles), "x")
            .err()
            .unwrap_or_else(|| panic!("accepted: {extra}"))
            .to_string()
    };
    let e = err("execution = \"execute-order-validat\"", "\"province\"");
    assert!(e.contains("system[0].execution"), "{e}");
    assert!(e.contains("execute-order-validate"), "did you mean: {e}");
    let e = err("endorsements = 2", "\"province\"");
    assert!(e.contains("system[0].endorsements") && e.contains("only with"), "{e}");
    let e = err(&format!("{EOV}\nendorsements = 0"), "\"province\"");
    assert!(e.contains("system[0].endorsements") && e.contains("1–64"), "{e}");
    let e = err(EOV, "\"province\", \"bank\"");
    assert!(e.contains("at least one peer"), "{e}");
    assert!(Scenario::from_toml_str(&text(&format!("{EOV}\nendorsements = 5"), "\"province\""), "x").is_ok());
}

/// `scenarios/validation/fabric-latency.toml` at its point 1 (3,500 tx/s offered, 2 MB blocks
/// of 571 transactions), with `overrides` (`path=value`, as `--set`), replication 0.
fn fabric_latency_at_3500(overrides: &[&str]) -> (Scenario, RunResult) {
    let path = crate::common::repo_root().join("scenarios/validation/fabric-latency.toml");
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let sc = ledgersim::scenario::validate::load_file(&path, &overrides).unwrap_or_else(|e| panic!("{e}"));
    let point = sc.points[1].scenario.clone();
    let r = run_system(&point, 0, 0);
    (point, r)
}

#[test]
fn fabric_latency_is_half_a_fill_plus_ordering_plus_one_validation() {
    // The reason the fabric-latency check fails (below the paper's 371 ms), as a property:
    // the mean latency is half a block fill + one block validation V(B) + a few ms of
    // endorsement, ordering and delivery; no queueing. V(B) < one fill time B/λ is what
    // sustaining λ requires, so the latency stays below ≈ 1.5 fills + ordering whatever the
    // validation costs.
    let (sc, r) = fabric_latency_at_3500(&[]);
    let (txs, size, rate) = (571u64, 3500u64, 3500.0);
    let cpu = &sc.cpu;
    let validation_ms = (cpu.verify * (1 + txs) + cpu.hash(txs * size) + cpu.db_commit) as f64 / 1e6;
    let half_fill_ms = (txs - 1) as f64 / (2.0 * rate) * 1e3;
    let fill_ms = txs as f64 / rate * 1e3;
    assert!((149.0..150.0).contains(&validation_ms), "V(571) = {validation_ms} ms");
    assert!(
        validation_ms < fill_ms,
        "V(571) = {validation_ms} ms ≥ one fill {fill_ms} ms"
    );
    let rest = r.latency.mean - half_fill_ms - validation_ms;
    assert!(
        (5.0..25.0).contains(&rest),
        "mean {} ms = half a fill {half_fill_ms} + V {validation_ms} + {rest} ms",
        r.latency.mean
    );

    // Another split of the same V(571) between the per-transaction and the per-block cost
    // (verify 200 µs, db_commit 31.16 ms instead of 230 µs and 14 ms) gives the same latency:
    // only V(B) matters, so splitting validation into a parallel signature stage and a
    // sequential commit stage, calibrated to the same plateau, cannot move it either.
    let (sc2, r2) = fabric_latency_at_3500(&["cpu.verify=\"200us\"", "cpu.db_commit=\"31160us\""]);
    let cpu2 = &sc2.cpu;
    assert_eq!(
        cpu2.verify * (1 + txs) + cpu2.db_commit,
        cpu.verify * (1 + txs) + cpu.db_commit
    );
    assert!(
        (r2.latency.mean - r.latency.mean).abs() < 1.0,
        "{} vs {}",
        r2.latency.mean,
        r.latency.mean
    );
}
