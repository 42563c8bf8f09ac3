//! The peer graph and node bandwidths of the Gervais et al. 2016 cases, as ledgersim builds
//! them, summarized the way `scripts/gervais_topology_study.py` summarizes its port of
//! ledgersim's generator (and of GT's), so the two can be compared line by line
//! (docs/protocols/pow.md, "GT's topology vs ledgersim's (session 6)"). Ignored: it builds
//! 20 networks of 6,000 nodes (≈ 10 s in release).
//!
//! `cargo test --release --test it pow_gervais_topology -- --ignored --nocapture`

use ledgersim::consensus::pow;
use ledgersim::engine::rng::{StreamLabel, stream_rng};
use ledgersim::net::Network;
use ledgersim::scenario::{Scenario, SystemKind};

/// Upper edges (inclusive) of the degree bins printed for the non-pool nodes.
const DEGREE_BINS: [usize; 7] = [3, 7, 11, 15, 24, 49, 124];

/// Per-network summary of one replication's graph and upload draws.
struct NetworkSummary {
    degree_bins: [usize; 7],
    pool_neighbours: [usize; 4],
    hubs: usize,
    slow_hubs: usize,
    slow_early_hubs: usize,
    pool_degree_mean: f64,
}

/// One replication's peer graph (`adj`), which nodes are pools, and the network with its
/// bandwidths drawn, as `ledgersim run` builds them; asserts the generator's properties
/// (symmetric links, pool degrees and pool mesh, GT's largest cap) whatever the draws.
fn build(sc: &Scenario, spec: &ledgersim::scenario::PowSpec, replication: u32) -> (Vec<Vec<u32>>, Vec<bool>, Network) {
    let n = sc.topology.nodes.len();
    let dep = pow::deploy(sc, spec, replication);
    let adj: Vec<Vec<u32>> = dep.replicas.iter().map(|(_, r)| r.neighbours().to_vec()).collect();
    let mut is_pool = vec![false; n];
    for &m in &spec.miners {
        is_pool[m as usize] = true;
    }
    let mut net = Network::new(
        &sc.topology,
        &sc.network,
        stream_rng(sc.seed, replication, StreamLabel("network"), 0),
    );
    net.draw_bandwidths(&sc.topology, sc.seed, replication);
    // Real properties of the generator, whatever the draws.
    for (i, a) in adj.iter().enumerate() {
        for &j in a {
            assert!(adj[j as usize].contains(&(i as u32)), "link {i}–{j} is not symmetric");
        }
        if is_pool[i] {
            assert!((700..=800).contains(&a.len()), "pool {i} has {} links", a.len());
            assert_eq!(
                a.iter().filter(|&&j| is_pool[j as usize]).count(),
                spec.miners.len() - 1
            );
        } else {
            assert!(a.len() <= 124, "node {i} has {} links, above GT's largest cap", a.len());
        }
    }
    (adj, is_pool, net)
}

fn summarize(sc: &Scenario, spec: &ledgersim::scenario::PowSpec, replication: u32) -> NetworkSummary {
    let (adj, is_pool, net) = build(sc, spec, replication);
    let mut s = NetworkSummary {
        degree_bins: [0; 7],
        pool_neighbours: [0; 4],
        hubs: 0,
        slow_hubs: 0,
        slow_early_hubs: 0,
        pool_degree_mean: 0.0,
    };
    for (i, a) in adj.iter().enumerate() {
        if is_pool[i] {
            s.pool_degree_mean += a.len() as f64 / spec.miners.len() as f64;
            continue;
        }
        let bin = DEGREE_BINS.iter().position(|&hi| a.len() <= hi).unwrap_or(6);
        s.degree_bins[bin] += 1;
        let pools = a.iter().filter(|&&j| is_pool[j as usize]).count();
        s.pool_neighbours[pools.min(3)] += 1;
        let upload_bps = net.node_bandwidth(i as u32).0.unwrap_or(u64::MAX);
        if a.len() >= 50 {
            s.hubs += 1;
            if upload_bps <= 300_000 {
                s.slow_hubs += 1;
                if pools >= 2 {
                    s.slow_early_hubs += 1;
                }
            }
        }
    }
    s
}

/// The 2.5 min Gervais case with a network drawn per replication by GT's rules (the
/// checked-in cases run on GT's one network instead): written by `python3
/// scripts/gen-gervais-2016.py … sourced=1 network=drawn` into a temporary directory.
fn drawn_case() -> (crate::common::TempDir, std::path::PathBuf) {
    let dir = crate::common::TempDir::new("gervais-drawn");
    let script = crate::common::repo_root().join("scripts").join("gen-gervais-2016.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args([
            "10min=16h40m",
            "2.5min=4h10m",
            "1min=1h40m",
            "10s=4h",
            "1s=10m",
            "sourced=1",
            "network=drawn",
        ])
        .arg(format!("out={}", dir.path().display()))
        .output()
        .expect("run python3 scripts/gen-gervais-2016.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let path = dir.join("pow-gervais-2016-2.5min.toml");
    (dir, path)
}

#[test]
fn gts_network_files_hold_gts_network() {
    // The checked-in cases read GT's one network from scenarios/validation/data: 6,000 nodes,
    // 38,644 links (scripts/gervais_topology_study.py, gt_network()), the 16 pools linked with
    // each other and within [700, 800] links each, every other node within GT's largest cap
    // (118 + 6), none isolated; the same graph in every replication; speeds fixed.
    let path = crate::common::repo_root().join("scenarios/validation/pow-gervais-2016-2.5min.toml");
    let sc = ledgersim::scenario::validate::load_file(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    let spec = match &sc.systems[0].kind {
        SystemKind::Pow(p) => p.clone(),
        _ => unreachable!("the Gervais case is a PoW system"),
    };
    assert_eq!(sc.topology.nodes.len(), 6000);
    assert_eq!(sc.inputs.len(), 2, "{:?}", sc.inputs);
    let (adj, is_pool, net) = build(&sc, &spec, 0);
    assert_eq!(adj.iter().map(Vec::len).sum::<usize>(), 2 * 38_644);
    assert!(adj.iter().all(|a| !a.is_empty()));
    assert_eq!(is_pool.iter().filter(|&&p| p).count(), 16);
    let names: Vec<&str> = spec
        .miners
        .iter()
        .map(|&m| sc.topology.nodes[m as usize].name.as_str())
        .collect();
    assert_eq!(names[..3], ["468", "524", "790"]);
    let (adj1, _, net1) = build(&sc, &spec, 1);
    assert_eq!(adj, adj1, "the graph is read, not drawn");
    for i in 0..sc.topology.nodes.len() {
        assert_eq!(
            net.node_bandwidth(i as u32),
            net1.node_bandwidth(i as u32),
            "fixed speeds"
        );
    }
    // GT node 0 (the first table row): EU, 346,237 bit/s up, 28,293,044 down.
    let n0 = &sc.topology.nodes[16];
    assert_eq!(
        (n0.name.as_str(), n0.bandwidth_bps, n0.download_bps),
        ("0", Some(346_237), Some(28_293_044))
    );
    assert_eq!(sc.topology.regions[n0.region as usize], "EU");
}

#[test]
#[ignore = "builds 20 networks of 6,000 nodes; prints the summary compared in pow.md"]
fn gervais_peer_graph_summary_for_the_study() {
    let (_dir, path) = drawn_case();
    let sc = ledgersim::scenario::validate::load_file(&path, &[]).expect("the case loads");
    let spec = match &sc.systems[0].kind {
        SystemKind::Pow(p) => p.clone(),
        _ => unreachable!("the Gervais case is a PoW system"),
    };
    let reps = 20u32;
    let non_pool = (sc.topology.nodes.len() - spec.miners.len()) as f64;
    let mut bins = [0.0f64; 7];
    let mut pools = [0.0f64; 4];
    let (mut hubs, mut slow, mut slow_early, mut with_slow_early, mut pool_deg) = (0.0, 0.0, 0.0, 0, 0.0);
    for r in 0..reps {
        let s = summarize(&sc, &spec, r);
        for (share, &count) in bins.iter_mut().zip(&s.degree_bins) {
            *share += count as f64 / non_pool / f64::from(reps);
        }
        for (share, &count) in pools.iter_mut().zip(&s.pool_neighbours) {
            *share += count as f64 / non_pool / f64::from(reps);
        }
        hubs += s.hubs as f64 / f64::from(reps);
        slow += s.slow_hubs as f64 / f64::from(reps);
        slow_early += s.slow_early_hubs as f64 / f64::from(reps);
        with_slow_early += usize::from(s.slow_early_hubs > 0);
        pool_deg += s.pool_degree_mean / f64::from(reps);
    }
    let pct = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{:.2}", 100.0 * x))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("ledgersim (Rust), seed {}, replications 0..{reps}:", sc.seed);
    println!(
        "  degree bins <=3 <=7 <=11 <=15 <=24 <=49 <=124 (% of non-pool): {}",
        pct(&bins)
    );
    println!("  pool neighbours 0 1 2 >=3 (% of non-pool): {}", pct(&pools));
    println!("  pool degree mean {pool_deg:.1}");
    println!(
        "  per network: hubs (>=50 links) {hubs:.2}, slow hubs (<=0.3 Mbit/s up) {slow:.2}, \
         slow early hubs (+ >=2 pool neighbours) {slow_early:.2}; networks with one: {with_slow_early} of {reps}"
    );
    // The degree distribution is GT's minimum-connection distribution shifted up by the
    // links others open: fewer than 10 % of the non-pool nodes can sit in the lowest bin.
    assert!(bins[0] < 0.10, "{bins:?}");
    assert!(
        hubs >= 20.0,
        "GT's [25, 119) bin (1 %) alone gives ≈ 5,984 × 1 % × 69/94 ≈ 44 nodes with ≥ 50 links: {hubs}"
    );
}

/// Writes the graph and bandwidths of the 2.5 min case for the seeds in
/// `GERVAIS_GRAPH_SEEDS` (comma-separated, replication 0, as `--set seed=N`) to
/// `GERVAIS_GRAPH_DUMP` (default `/tmp/gervais-graphs.txt`), one line per node: `seed id
/// region pool(0/1) up_mbps down_mbps neighbour…`. `scripts/gervais_topology_study.py
/// --graphs FILE` computes its load proxy on these exact networks (to check the proxy
/// against the traced runs).
#[test]
#[ignore = "writes a file; for scripts/gervais_topology_study.py --graphs"]
fn gervais_peer_graph_dump() {
    let (_dir, path) = drawn_case();
    let seeds = std::env::var("GERVAIS_GRAPH_SEEDS").unwrap_or_else(|_| "2016,1,2,3,4,5,6,7,8,9,10,11".into());
    let out = std::env::var("GERVAIS_GRAPH_DUMP").unwrap_or_else(|_| "/tmp/gervais-graphs.txt".into());
    let mut text = String::new();
    for seed in seeds.split(',') {
        let sc = ledgersim::scenario::validate::load_file(&path, &[format!("seed={seed}")]).expect("the case loads");
        let spec = match &sc.systems[0].kind {
            SystemKind::Pow(p) => p.clone(),
            _ => unreachable!("the Gervais case is a PoW system"),
        };
        let (adj, is_pool, net) = build(&sc, &spec, 0);
        for (i, a) in adj.iter().enumerate() {
            let (up, down) = net.node_bandwidth(i as u32);
            let pool = u8::from(is_pool[i]);
            let mbps = |b: Option<u64>| b.map_or(f64::INFINITY, |b| b as f64 / 1e6);
            let nbrs: Vec<String> = a.iter().map(u32::to_string).collect();
            text += &format!(
                "{} {i} {} {pool} {} {} {}\n",
                sc.seed,
                sc.topology.nodes[i].region,
                mbps(up),
                mbps(down),
                nbrs.join(" ")
            );
        }
    }
    std::fs::write(&out, text).expect("the dump is written");
}
