//! Analytic checks: with a uniform one-way delay δ, no jitter, unlimited bandwidth and zero
//! CPU cost, latencies and message counts are known exactly; the centralized operator with
//! Poisson arrivals and exponential service is an M/M/1 (or M/M/c) queue.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::sim::{RunResult, run_system};

pub(crate) const DELTA_MS: f64 = 10.0;

/// A one-region network with RTT 2δ and everything else free.
pub(crate) fn uniform_net(systems: &str, groups: &str, flows: &str, extra: &str) -> String {
    format!(
        r#"
name = "analytic"
seed = 7
duration = "20s"
warmup = "0"
replications = 1
start_time = "00:00"
{extra}
[topology]
regions = ["r"]
{groups}
{net}
[workload]
{flows}
{systems}
"#,
        net = crate::common::ideal_network(2.0 * DELTA_MS, crate::common::NO_JITTER)
    )
}

pub(crate) fn load(text: &str) -> Scenario {
    Scenario::from_toml_str(text, "analytic").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

use crate::common::close;

pub(crate) const CENTRAL_GROUPS: &str = r#"
[[topology.group]]
role = "fund"
names = ["NSSF", "Standby"]
region = "r"
[[topology.group]]
role = "bank"
count = 3
region = "r"
"#;

const ONE_FLOW: &str = r#"
[[workload.flow]]
name = "f"
from = "bank"
to = "fund"
arrival = { process = "constant", rate = 5.0 }
size_bytes = 500
amount = { dist = "constant", value = 100.0 }
"#;

pub(crate) fn centralized(standby: bool) -> String {
    format!(
        r#"
[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "NSSF"
{}
db_servers = 1
db_service = {{ dist = "constant", mean = "0" }}
"#,
        if standby { "standby = \"Standby\"" } else { "" }
    )
}

#[test]
fn centralized_is_two_delta_and_four_with_a_standby() {
    for (standby, hops) in [(false, 2.0), (true, 4.0)] {
        let sc = load(&uniform_net(&centralized(standby), CENTRAL_GROUPS, ONE_FLOW, ""));
        let r = run_system(&sc, 0, 0);
        assert!(r.committed > 90, "{}", r.committed);
        assert!(
            close(r.latency.mean, hops * DELTA_MS),
            "standby={standby}: mean {} ms",
            r.latency.mean
        );
        assert!((r.latency.p99 - hops * DELTA_MS).abs() <= hops * DELTA_MS / 64.0);
        assert!(r.money_conserved && r.replicas_consistent && r.safety_violations == 0);
        assert_eq!(r.heights.0, r.heights.1, "standby caught up after the drain");
    }
}

/// n validators of role "province" (the fund, if `fund_validates`, is node 0 and primary).
pub(crate) fn pbft_groups(n: usize) -> String {
    format!(
        r#"
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
"#
    )
}

pub(crate) fn pbft_system(validator_roles: &str) -> String {
    format!(
        r#"
[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "NSSF"
db_service = {{ dist = "constant", mean = "0" }}

[[system]]
name = "pbft"
consensus = "pbft"
settlement = "on-ledger"
validators = {{ roles = [{validator_roles}] }}
batch_max_tx = 1
batch_timeout = "0"
pipeline = 100000
"#
    )
}

pub(crate) fn flow(from: &str, to: &str, arrival: &str) -> String {
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

#[test]
fn pbft_client_latency_is_five_delta_or_four_at_the_primary() {
    let slow = r#"{ process = "constant", rate = 2.0 }"#;
    // Non-validator client (a bank): request δ + pre-prepare δ + prepare δ + commit δ + reply δ.
    let sc = load(&uniform_net(
        &pbft_system("\"province\""),
        &pbft_groups(4),
        &flow("bank", "province", slow),
        "",
    ));
    let r = run_system(&sc, 1, 0);
    assert!(r.committed > 30);
    assert!(
        close(r.latency.mean, 5.0 * DELTA_MS),
        "bank client: {} ms",
        r.latency.mean
    );
    // Validator (not primary: the fund is) client: local request, forward δ, 3δ, reply δ.
    let sc = load(&uniform_net(
        &pbft_system("\"fund\", \"province\""),
        &pbft_groups(4),
        &flow("province", "bank", slow),
        "",
    ));
    let r = run_system(&sc, 1, 0);
    assert!(
        close(r.latency.mean, 5.0 * DELTA_MS),
        "validator client: {} ms",
        r.latency.mean
    );
    // The primary as client: replicas commit 3δ after its pre-prepare, the f others' replies take δ.
    let sc = load(&uniform_net(
        &pbft_system("\"fund\", \"province\""),
        &pbft_groups(4),
        &flow("fund", "bank", slow),
        "",
    ));
    let r = run_system(&sc, 1, 0);
    assert!(
        close(r.latency.mean, 4.0 * DELTA_MS),
        "primary client: {} ms",
        r.latency.mean
    );
    assert_eq!(r.safety_violations, 0);
}

fn kind(r: &RunResult, name: &str) -> u64 {
    r.message_kinds
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
        .unwrap()
}

#[test]
fn pbft_messages_per_instance_match_the_formula() {
    // Arrivals only in the first 10 s of a 20 s run, so every instance completes inside it.
    let burst = r#"{ process = "profile", points = [["00:00", 5.0], ["00:00:10", 0.0]] }"#;
    for n in [4usize, 7, 10] {
        let sc = load(&uniform_net(
            &pbft_system("\"province\""),
            &pbft_groups(n),
            &flow("bank", "province", burst),
            "",
        ));
        let r = run_system(&sc, 1, 0);
        let h = r.heights.1;
        assert_eq!(r.heights.0, h);
        assert_eq!(h, r.committed, "batch size one: one instance per transaction");
        let n = n as u64;
        assert_eq!(kind(&r, "pre-prepare"), h * (n - 1), "n={n}");
        assert_eq!(kind(&r, "prepare"), h * (n - 1) * (n - 1), "n={n}");
        assert_eq!(kind(&r, "commit"), h * n * (n - 1), "n={n}");
        assert_eq!(kind(&r, "forward"), 0, "bank clients send straight to the primary");
        // One request per tx plus one reply per replica per tx.
        assert_eq!(kind(&r, "client (requests + replies)"), h * (1 + n));
        assert!(r.replicas_consistent && r.money_conserved);
    }
}

/// Mean sojourn time of an M/M/c queue (Erlang C), in ms.
fn mmc_sojourn_ms(lambda: f64, mu: f64, c: u32) -> f64 {
    let a = lambda / mu;
    let rho = a / c as f64;
    let mut sum = 0.0;
    let mut term = 1.0;
    for k in 0..c {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let last = term * a / c as f64 / (1.0 - rho);
    let p_wait = last / (sum + last);
    let wq = p_wait / (c as f64 * mu - lambda);
    (wq + 1.0 / mu) * 1e3
}

fn queue_scenario(lambda: f64, servers: u32, reps: u32) -> Scenario {
    let flows = flow("bank", "fund", &format!("{{ process = \"poisson\", rate = {lambda} }}"));
    let system = format!(
        r#"
[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "NSSF"
db_servers = {servers}
db_service = {{ dist = "exponential", mean = "1ms" }}
"#
    );
    let text = uniform_net(&system, CENTRAL_GROUPS, &flows, "")
        .replace("intra_region_rtt = \"20ms\"", "intra_region_rtt = \"0\"")
        .replace("duration = \"20s\"", "duration = \"120s\"")
        .replace("warmup = \"0\"", "warmup = \"10s\"")
        .replace("replications = 1", &format!("replications = {reps}"));
    load(&text)
}

#[test]
fn centralized_operator_is_an_mm1_and_mmc_queue() {
    let mu = 1000.0;
    for (lambda, c) in [(500.0, 1), (800.0, 1), (950.0, 1), (1600.0, 2)] {
        let sc = queue_scenario(lambda, c, 10);
        let res = run_experiment(&sc, 2, &|| {}).unwrap();
        let s = &res.systems[0].latency_ms.mean;
        let expect = mmc_sojourn_ms(lambda, mu, c);
        assert!(
            s.contains(expect),
            "λ={lambda} c={c}: simulated {:?} vs analytic W = {expect:.4} ms",
            s
        );
        // And the CI is tight enough for the check to mean something (≤ 10 % of W).
        assert!(s.half_width() < 0.1 * expect, "λ={lambda}: CI too wide {:?}", s);
    }
    assert!(
        (mmc_sojourn_ms(800.0, 1000.0, 1) - 5.0).abs() < 1e-9,
        "M/M/1: W = 1/(μ−λ)"
    );
}

#[test]
fn a_saturated_operator_caps_throughput_at_its_service_rate() {
    // Offered 2,000 tx/s to one server of 1 ms: throughput is the capacity, latency grows.
    let sc = queue_scenario(2000.0, 1, 1);
    let r = run_system(&sc, 0, 0);
    assert!(
        r.throughput_tps > 950.0 && r.throughput_tps < 1010.0,
        "{}",
        r.throughput_tps
    );
    assert!(r.latency.p99 > 1000.0, "queue builds up: p99 {} ms", r.latency.p99);
    assert!(r.cpu_util_max > 0.95, "{}", r.cpu_util_max);
}

#[test]
fn replicas_agree_and_money_is_conserved_under_jitter_and_loss() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.toml")).unwrap();
    let lossy = text.replacen("loss = 0.0 ", "loss = 0.01 ", 1);
    assert_ne!(lossy, text, "the quickstart's loss line moved; update this test");
    let text = lossy.replacen(
        "jitter = { dist = \"none\" }",
        "jitter = { dist = \"uniform\", pct = 20 }",
        1,
    );
    let sc = Scenario::from_toml_str(&text, "quickstart").unwrap();
    for s in 0..sc.systems.len() {
        let r = run_system(&sc, s, 0);
        assert!(r.committed > 0);
        assert_eq!(r.safety_violations, 0, "{}", sc.systems[s].name);
        assert!(r.money_conserved, "{}", sc.systems[s].name);
        assert_eq!(
            r.heights.0, r.heights.1,
            "{}: every replica reached the same height",
            sc.systems[s].name
        );
        assert!(r.replicas_consistent, "{}", sc.systems[s].name);
    }
}
