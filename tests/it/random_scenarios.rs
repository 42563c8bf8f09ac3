//! Property test (issue #8): small random *valid* scenarios — few nodes, a few seconds of
//! simulated time, any consensus, optional jitter, loss and a crash — must validate, run
//! without a panic, and be deterministic: the same scenario and seed give byte-identical
//! summary.json and runs.csv on one thread and on two.

use ledgersim::report;
use proptest::prelude::*;

/// The parts of a random scenario.
#[derive(Debug, Clone)]
struct Spec {
    seed: u64,
    duration_s: u32,
    regions: usize,
    provinces: usize,
    banks: usize,
    rate: f64,
    jitter_pct: u32,
    loss: f64,
    consensus: &'static str,
    batch_max_tx: u32,
    crash: bool,
    replications: u32,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        0u64..=i64::MAX as u64,
        2u32..=4,
        1usize..=2,
        2usize..=4,
        1usize..=3,
        1.0f64..40.0,
        0u32..=20,
        prop_oneof![Just(0.0), 0.0f64..0.05],
        prop_oneof![Just("pbft"), Just("raft"), Just("hotstuff"), Just("poa"), Just("pow")],
        1u32..=50,
        any::<bool>(),
        1u32..=2,
    )
        .prop_map(
            |(
                seed,
                duration_s,
                regions,
                provinces,
                banks,
                rate,
                jitter_pct,
                loss,
                consensus,
                batch_max_tx,
                crash,
                replications,
            )| Spec {
                seed,
                duration_s,
                regions,
                provinces,
                banks,
                rate,
                jitter_pct,
                loss,
                consensus,
                batch_max_tx,
                crash,
                replications,
            },
        )
}

/// The scenario text for a spec.
fn scenario_text(s: &Spec) -> String {
    let region_names: Vec<String> = (0..s.regions).map(|i| format!("\"r{i}\"")).collect();
    let region_of = |i: usize| format!("\"r{}\"", i % s.regions);
    let list = |prefix: &str, n: usize| -> (String, String) {
        let names: Vec<String> = (0..n).map(|i| format!("\"{prefix}{i}\"")).collect();
        let regions: Vec<String> = (0..n).map(region_of).collect();
        (names.join(", "), regions.join(", "))
    };
    let (prov, prov_regions) = list("P", s.provinces);
    let (banks, bank_regions) = list("B", s.banks);
    let rtt = if s.regions == 2 {
        "[[network.rtt]]\nbetween = [\"r0\", \"r1\"]\nrtt = \"20ms\"\n"
    } else {
        ""
    };
    let ledger = match s.consensus {
        "pow" => "block_interval = \"500ms\"\nconfirmations = 1\npeers = 2\n".to_string(),
        "poa" => format!("batch_max_tx = {}\nperiod = \"300ms\"\n", s.batch_max_tx),
        _ => format!("batch_max_tx = {}\nbatch_timeout = \"100ms\"\n", s.batch_max_tx),
    };
    let fault = if s.crash {
        format!(
            "[[fault]]\nkind = \"crash\"\nat = \"1s\"\nuntil = \"{}s\"\ntarget = {{ nodes = [\"P0\"] }}\n",
            s.duration_s
        )
    } else {
        String::new()
    };
    format!(
        r#"name = "random"
seed = {seed}
duration = "{duration}s"
warmup = "500ms"
replications = {reps}
timeseries_window = "1s"

[topology]
regions = [{regions}]

[[topology.group]]
role = "province"
names = [{prov}]
regions = [{prov_regions}]

[[topology.group]]
role = "bank"
names = [{banks}]
regions = [{bank_regions}]

[[topology.group]]
role = "fund"
names = ["F"]
region = "r0"

[network]
intra_region_rtt = "1ms"
jitter = {{ dist = "uniform", pct = {jitter} }}
loss = {loss}
{rtt}
[[workload.flow]]
name = "payouts"
from = "province"
to = "bank"
arrival = {{ process = "poisson", rate = {rate} }}
size_bytes = 400
amount = {{ dist = "lognormal", median = 2000.0, sigma = 0.5 }}

[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "F"

[[system]]
name = "ledger"
consensus = "{consensus}"
settlement = "on-ledger"
{ledger}
{fault}"#,
        seed = s.seed,
        duration = s.duration_s,
        reps = s.replications,
        regions = region_names.join(", "),
        jitter = s.jitter_pct,
        loss = s.loss,
        rate = s.rate,
        consensus = s.consensus,
    )
}

proptest! {
    // A dozen small scenarios: a few seconds in all with --release.
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_scenarios_run_without_panic_and_deterministically(s in spec()) {
        let text = scenario_text(&s);
        let sc = ledgersim::Scenario::from_toml_str(&text, "random.toml")
            .map_err(|e| TestCaseError::fail(format!("generated scenario invalid: {e}\n{text}")))?;
        let one = ledgersim::run_experiment(&sc, 1, &|| {})
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let two = ledgersim::run_experiment(&sc, 2, &|| {})
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(one.runs.len(), 2 * s.replications as usize);
        let a = report::deterministic_outputs(&sc, &one).unwrap();
        let b = report::deterministic_outputs(&sc, &two).unwrap();
        for ((name, x), (_, y)) in a.files.iter().zip(&b.files) {
            prop_assert!(x == y, "{} differs between 1 and 2 threads for\n{}", name, text);
        }
        for r in &one.runs {
            prop_assert!(r.money_conserved, "money not conserved in\n{}", text);
        }
    }
}
