//! The expected stale rate (`stale_rate_expected`, a Rao–Blackwell estimator built from the
//! miners' exposure windows, docs/protocols/pow.md): exact on a full mesh with known delay,
//! and in agreement with the directly counted stale rate on small networks where thousands
//! of blocks make the count precise. A heavier agreement check over more networks is
//! `#[ignore]`d.

use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::metrics::Stat;
use ledgersim::sim::run_system;

/// A one-region PoW network of `n` nodes (all miners unless `system` says otherwise), round
/// trip `rtt_ms`, `jitter` (a TOML inline table), unlimited bandwidth, zero CPU, block interval
/// `interval`; `system` adds fields to the pow system.
fn net(n: usize, rtt_ms: f64, jitter: &str, interval: &str, duration: &str, reps: u32, system: &str) -> Scenario {
    let net = crate::common::ideal_network(rtt_ms, jitter);
    let text = format!(
        r#"
name = "pow-stale-estimate"
seed = 29
duration = "{duration}"
warmup = "0"
replications = {reps}
start_time = "00:00"
timeseries_window = "600s"

[topology]
regions = ["r"]
[[topology.group]]
role = "node"
count = {n}
region = "r"

{net}
{tail}"#,
        tail = crate::common::pow_workload_and_system(
            "node",
            "node",
            r#"{ process = "poisson", rate = 0.01 }"#,
            &format!("block_interval = \"{interval}\"\nconfirmations = 6\n{system}")
        )
    );
    Scenario::from_toml_str(&text, "pow-stale-estimate").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const NO_JITTER: &str = r#"{ dist = "none" }"#;

/// (expected stale rate, its CI half-width over blocks, blocks) of one run.
fn expected_of(sc: &Scenario) -> (f64, f64, u64, ledgersim::consensus::ChainMetrics) {
    let r = run_system(sc, 0, 0);
    let c = r.chain.expect("chain metrics");
    let s = Stat::from_moments(
        c.stale_expected_blocks as usize,
        c.stale_expected_sum,
        c.stale_expected_sum_sq,
    );
    (s.mean, s.half_width(), c.stale_expected_blocks, c)
}

#[test]
fn expected_stale_rate_is_exactly_one_minus_exp_of_the_others_exposure_on_a_full_mesh() {
    // Full mesh of 10 equal miners, δ = 50 ms: every other miner adopts a block exactly
    // d = 3δ = 150 ms after it is found, so every block not itself in a race has
    // p_b = 1 − e^(−(1 − 1/n)·d/T). T = 100 s makes races rare (≈ 0.13 %), so the mean over
    // blocks is that value up to ≈ 0.13 % of it. A block_processing delay does not move it:
    // a miner stops mining on the old tip when its handler adopts the block (before the
    // validation delay), so only the relay of the next hops is slower — on a full mesh none.
    let p = -(-(0.9f64 * 0.150 / 100.0)).exp_m1();
    for processing in ["0", "300ms"] {
        let sc = net(
            10,
            100.0,
            NO_JITTER,
            "100s",
            "50000s",
            1,
            &format!("peers = 9\nblock_processing = \"{processing}\""),
        );
        let (est, hw, blocks, c) = expected_of(&sc);
        eprintln!("processing {processing}: expected stale rate {est} ± {hw} over {blocks} blocks vs {p}; {c:?}");
        assert!(blocks > 400, "{c:?}");
        assert!((est - p).abs() < 0.005 * p, "{est} vs 1 − e^(−0.9 d/T) = {p}");
    }
}

#[test]
fn expected_stale_rate_weights_the_other_miners_by_their_share() {
    // Full mesh of 2 miners with shares 0.75 / 0.25 (plus 2 relay-only nodes), d = 3δ =
    // 150 ms, T = 20 s. A block of the big miner is raced only by the small one (exposure
    // 0.25·d) and vice versa: p = 1 − e^(−0.25 d/T) or 1 − e^(−0.75 d/T); blocks come from the
    // big miner with probability 0.75, so the mean is 0.75·p(0.25) + 0.25·p(0.75) up to the
    // sampling of who found each block (±4 standard errors here) and second-order races.
    let sc = net(
        4,
        100.0,
        NO_JITTER,
        "20s",
        "40000s",
        1,
        "peers = 3\nblock_processing = \"0\"\nvalidators = { names = [\"node-1\", \"node-2\"] }\n\
         hash_power = { dist = \"shares\", values = [0.75, 0.25] }",
    );
    let (est, hw, blocks, c) = expected_of(&sc);
    let x = 0.150 / 20.0;
    let (p_big, p_small) = (-(-0.25f64 * x).exp_m1(), -(-0.75f64 * x).exp_m1());
    let mean = 0.75 * p_big + 0.25 * p_small;
    // Standard error of the mix: √(0.75·0.25/blocks)·(p_small − p_big).
    let se = (0.75f64 * 0.25 / blocks as f64).sqrt() * (p_small - p_big);
    eprintln!("expected stale rate {est} ± {hw} ({blocks} blocks) vs {mean} ± {se}; {c:?}");
    assert!(blocks > 1_800, "{c:?}");
    assert!(est > p_big && est < p_small, "{est} outside [{p_big}, {p_small}]");
    assert!(
        (est - mean).abs() < 4.0 * se + 0.003 * mean,
        "{est} vs {mean} (se {se})"
    );
}

/// A small fast network where thousands of blocks make the counted stale rate precise:
/// returns (expected, counted, binomial standard error of the count).
fn compare(
    n: usize,
    peers: u32,
    rtt_ms: f64,
    jitter: &str,
    interval: &str,
    duration: &str,
    processing: &str,
) -> (f64, f64, f64) {
    let sc = net(
        n,
        rtt_ms,
        jitter,
        interval,
        duration,
        1,
        &format!("peers = {peers}\nblock_processing = \"{processing}\""),
    );
    let (est, hw, blocks, c) = expected_of(&sc);
    let mined = c.stale as f64 / c.stale_rate;
    let se = (c.stale_rate * (1.0 - c.stale_rate) / mined).sqrt();
    eprintln!(
        "n {n} peers {peers} rtt {rtt_ms} ms T {interval} processing {processing}: expected {est:.5} ± {hw:.5} \
         ({blocks} blocks), counted {:.5} ± {se:.5} ({mined} blocks)",
        c.stale_rate
    );
    assert!(mined > 2_000.0 && blocks as f64 > 0.95 * mined, "{c:?}");
    (est, c.stale_rate, se)
}

#[test]
fn expected_stale_rate_agrees_with_the_counted_rate_on_small_random_networks() {
    // Random peer graphs (multi-hop relay, log-normal jitter), ≈ 3,000
    // blocks each: the count's binomial standard error is ≈ 0.4 %-points; the estimate must
    // be within 3 of them (plus 4 % of the rate for the second-order terms).
    // The third network is a full mesh (d = 3δ = 150 ms) whose miners validate each block
    // for 500 ms: a miner stops racing a block when its handler adopts it, before the
    // validation delay, so the estimate stays ≈ 1 − e^(−0.9 × 0.15 / 4) = 3.3 %; were the
    // window to end after validation, the rate would be 1 − e^(−0.9 × 0.65 / 4) = 13.6 %.
    let lognormal = r#"{ dist = "lognormal", sigma = 0.5 }"#;
    for (n, peers, rtt, jitter, interval, duration, processing) in [
        (20, 3, 200.0, lognormal, "5s", "15000s", "0"),
        (30, 4, 100.0, lognormal, "4s", "12000s", "200ms"),
        (10, 9, 100.0, NO_JITTER, "4s", "20000s", "500ms"),
    ] {
        let (est, counted, se) = compare(n, peers, rtt, jitter, interval, duration, processing);
        assert!(
            (est - counted).abs() < 3.0 * se + 0.04 * counted,
            "expected {est} vs counted {counted} (se {se})"
        );
    }
}

#[test]
#[ignore = "≈ 1 min: the agreement over more networks and rates, 10,000+ blocks each"]
fn expected_stale_rate_agrees_with_the_counted_rate_over_many_networks() {
    // Rates from ≈ 2 % to ≈ 30 %: agreement within 3 standard errors + 4 % of the rate is
    // asserted only below 10 %; above, the first-order approximation is printed (it
    // overestimates: the estimator counts every race, the count only stale blocks on heights
    // every node settled, and races overlap).
    let jitter = r#"{ dist = "lognormal", sigma = 0.5 }"#;
    for (n, peers, rtt, interval, duration, processing) in [
        (50, 4, 100.0, "20s", "200000s", "0"),
        (50, 4, 100.0, "10s", "100000s", "100ms"),
        (40, 3, 200.0, "5s", "50000s", "0"),
        (40, 3, 200.0, "2s", "20000s", "0"),
        (40, 3, 200.0, "1s", "10000s", "0"),
    ] {
        let (est, counted, se) = compare(n, peers, rtt, jitter, interval, duration, processing);
        if counted < 0.10 {
            assert!(
                (est - counted).abs() < 3.0 * se + 0.04 * counted,
                "expected {est} vs counted {counted} (se {se})"
            );
        }
    }
    // Replications pool into one statistic over blocks.
    let sc = net(
        10,
        100.0,
        NO_JITTER,
        "2s",
        "2000s",
        2,
        "peers = 9\nblock_processing = \"0\"",
    );
    let res = run_experiment(&sc, 1, &|| {}).expect("runs");
    let s = res.systems[0].stale_rate_expected.expect("pow reports it");
    let blocks: u64 = res.runs.iter().map(|r| r.chain.unwrap().stale_expected_blocks).sum();
    assert_eq!(s.n as u64, blocks);
}
