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

[network]
intra_region_rtt = "{rtt}ms"
bandwidth = "unlimited"
jitter = {{ dist = "none" }}
loss = 0.0

[cpu]
sign = "0"
verify = "0"
hash_per_kb = "0"
execute_tx = "0"
db_commit = "0"

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
        rtt = 2.0 * delta_ms
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

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

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
