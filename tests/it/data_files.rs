//! Data files named by a scenario: a node table (`[[topology.group]] nodes_file`) and an
//! explicit PoW peer graph (`peer_graph`). The graph is really used (a path graph: exact
//! per-node propagation times 3hδ and INV counts 2E − (n − 1) per block), the table's
//! regions and speeds reach the nodes, every kind of bad input is a clear error with file,
//! line and column and exit code 2, and the manifest records each file's SHA-256 so that
//! `reproduce` and `merge` refuse a changed file.

use crate::common::{self, TempDir};
use ledgersim::Scenario;
use ledgersim::scenario::SystemKind;
use ledgersim::sim::run_system;

/// A PoW scenario over two regions; `group` is the node group (its `nodes_file` relative to
/// the scenario file), `system` extra fields of the pow system. One-way delay 10 ms in
/// every region pair, unlimited bandwidth unless the table says otherwise, zero CPU.
fn scenario(group: &str, system: &str) -> String {
    format!(
        r#"
name = "data-files"
seed = 5
duration = "300s"
warmup = "0"
replications = 1
timeseries_window = "60s"

[topology]
regions = ["EU", "NA"]
{group}

{net}
[[network.rtt]]
between = ["EU", "NA"]
rtt = "20ms"

{tail}"#,
        net = common::ideal_network(20, common::NO_JITTER),
        tail = common::pow_workload_and_system(
            "node",
            "node",
            r#"{ process = "poisson", rate = 0.05 }"#,
            &format!(
                "block_processing = \"0\"\nblock_interval = \"10s\"\nconfirmations = 2\nvalidators = {{ names = [\"n1\"] }}\n{system}"
            ),
        )
    )
}

const TABLE_GROUP: &str = "[[topology.group]]\nrole = \"node\"\nnodes_file = \"nodes.csv\"\ncores = 1";

/// Five nodes n1…n5; n1 (the only miner) is EU, the others alternate.
const NODES: &str = "# five nodes\nname,region,bandwidth,download_bandwidth\n\
n1,EU,unlimited,unlimited\nn2,NA,unlimited,unlimited\nn3,EU,unlimited,unlimited\nn4,NA,unlimited,unlimited\nn5 , EU,unlimited,unlimited\n";

/// The path n1 – n2 – n3 – n4 – n5, listed once per link, partly from either end.
const PATH: &str = "# a path\nn1 n2\nn3 n2 n4\nn5 n4\n";

fn write_case(dir: &TempDir, nodes: &str, graph: &str, group: &str, system: &str) -> std::path::PathBuf {
    dir.write("nodes.csv", nodes);
    dir.write("g.adj", graph);
    dir.write("case.toml", scenario(group, system))
}

fn load(path: &std::path::Path) -> Scenario {
    Scenario::load(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_explicit_path_graph_gives_exact_hop_delays_and_message_counts() {
    let dir = TempDir::new("data-files-path");
    let case = write_case(&dir, NODES, PATH, TABLE_GROUP, "peer_graph = \"g.adj\"");
    let sc = load(&case);
    // The table's regions and speeds reach the nodes.
    let nodes = &sc.topology.nodes;
    assert_eq!(nodes.len(), 5);
    assert_eq!(nodes.iter().map(|n| n.region).collect::<Vec<_>>(), vec![0, 1, 0, 1, 0]);
    assert!(
        nodes
            .iter()
            .all(|n| n.bandwidth_bps.is_none() && n.download_bps.is_none())
    );
    assert!(nodes.iter().all(|n| n.cores == 1));
    let spec = match &sc.systems[0].kind {
        SystemKind::Pow(p) => p.clone(),
        _ => unreachable!(),
    };
    let dep = ledgersim::consensus::pow::deploy(&sc, &spec, 0);
    let adj: Vec<Vec<u32>> = dep.replicas.iter().map(|(_, r)| r.neighbours().to_vec()).collect();
    assert_eq!(adj, vec![vec![1], vec![0, 2], vec![1, 3], vec![2, 4], vec![3]]);
    // Node n(h+1) is h hops from the miner: it has every block 3hδ = 30h ms after it was
    // found. Per-node means 30, 60, 90, 120 ms: median (element 2) 90, p90 (element 3) 120,
    // mean 75.
    let r = run_system(&sc, 0, 0);
    let c = r.chain.expect("pow reports chain metrics");
    assert!(c.propagated >= 20, "{c:?}");
    assert_eq!(c.node_mean_p50_ms, 90.0, "{c:?}");
    assert_eq!(c.node_mean_p90_ms, 120.0, "{c:?}");
    assert!(common::close(c.node_mean_mean_ms, 75.0), "{c:?}");
    // Per block: Σ degree − (n − 1) = 8 − 4 INVs, 4 GETDATAs, 4 BLOCKs.
    let kind = |name: &str| r.message_kinds.iter().find(|(k, _)| *k == name).map_or(0, |(_, c)| *c);
    let blocks = kind("getdata") / 4;
    assert!(blocks >= 20 && kind("getdata") % 4 == 0, "{:?}", r.message_kinds);
    assert_eq!(kind("inv"), 4 * blocks, "{:?}", r.message_kinds);
    assert_eq!(kind("block"), 4 * blocks, "{:?}", r.message_kinds);
    assert_eq!(r.forks, 0);
}

#[test]
fn a_table_and_groups_combine_and_the_graph_names_nodes_of_both() {
    // Two nodes from an inline group (named by prefix) plus a one-node table with a fixed
    // speed; the graph links all three, listed at both ends (union).
    let dir = TempDir::new("data-files-mixed");
    let group = "[[topology.group]]\nrole = \"pool\"\nname_prefix = \"n\"\ncount = 2\nregion = \"EU\"\n\
                 [[topology.group]]\nrole = \"node\"\nnodes_file = \"nodes.csv\"\nregion = \"NA\"\nbandwidth = \"5Mbps\"";
    let case = write_case(
        &dir,
        "name,download_bandwidth\nx,2.5Mbps\n",
        "n-1 n-2 x\nn-2 n-1\nx n-1\n",
        group,
        "peer_graph = \"g.adj\"",
    );
    let text = std::fs::read_to_string(&case)
        .unwrap()
        .replace("names = [\"n1\"]", "names = [\"n-1\"]")
        .replace("to = \"node\"", "to = \"pool\"");
    std::fs::write(&case, text).unwrap();
    let sc = load(&case);
    let x = &sc.topology.nodes[2];
    assert_eq!(
        (x.name.as_str(), x.region, x.bandwidth_bps, x.download_bps),
        ("x", 1, Some(5_000_000), Some(2_500_000))
    );
    let spec = match &sc.systems[0].kind {
        SystemKind::Pow(p) => p.clone(),
        _ => unreachable!(),
    };
    assert_eq!(spec.peer_graph.as_deref(), Some(&vec![vec![1, 2], vec![0], vec![0]]));
}

/// `ledgersim check` on the case; returns (exit code, stderr).
fn check(case: &std::path::Path) -> (i32, String) {
    let (code, _, err) = common::run(["check", case.to_str().unwrap()]);
    (code, err)
}

#[test]
fn every_bad_data_file_is_a_clear_error_with_exit_code_2() {
    let graph_cases: [(&str, &str, &str); 4] = [
        (
            "n1 n2\nn2 n3\nn3 nx\n",
            "g.adj:3:4: unknown node `nx`",
            "every name must be a node of the topology (5 nodes",
        ),
        (
            "n1 n2\nn3 n3\n",
            "g.adj:2:4: self-loop: node `n3` lists itself",
            "a link joins two different nodes",
        ),
        (
            "n1 n2 n3\n\nn1 n2\n",
            "g.adj:3:4: duplicate link `n1`–`n2`",
            "already listed as a neighbour of `n1` on line 1",
        ),
        ("n1 n2\n", "system[0].peer_graph", "3 node(s) have no link"),
    ];
    for (graph, want, allowed) in graph_cases {
        let dir = TempDir::new("data-files-graph");
        let case = write_case(&dir, NODES, graph, TABLE_GROUP, "peer_graph = \"g.adj\"");
        let (code, err) = check(&case);
        if allowed.contains("no link") {
            // Isolated nodes are allowed (a warning), not an error.
            assert_eq!(code, 0, "{err}");
            let (_, out, _) = common::run(["check", case.to_str().unwrap()]);
            assert!(format!("{out}{err}").contains(allowed), "{out}{err}");
            continue;
        }
        assert_eq!(code, 2, "{graph:?}: {err}");
        assert!(err.contains(want) && err.contains(allowed), "{graph:?}: {err}");
        assert!(err.contains("system[0].peer_graph"), "{err}");
    }
    let table_cases: [(&str, &str, &str); 6] = [
        (
            "name,region\nn1,EU\nn2,XX\n",
            "nodes.csv:3:4: unknown region `XX`",
            "known (topology.regions): EU, NA",
        ),
        (
            "name,region,bandwidth_mbps\nn1,EU,1.5\nn2,EU,fast\n",
            "nodes.csv:3:7: `fast` is not a number",
            "bare numbers",
        ),
        (
            "name,region,bandwidth_mbps\nn1,EU,0\n",
            "nodes.csv:2:7: `0`: a bandwidth must be",
            "at least 1 bps",
        ),
        (
            "name,region,bandwidth\nn1,EU,-3Mbps\n",
            "nodes.csv:2:7: `-3Mbps` is not a bandwidth",
            "100Mbps",
        ),
        (
            "name,region\nn1,EU\nn1,NA\n",
            "nodes.csv:3:1: node `n1` is listed twice",
            "first on line 2",
        ),
        (
            "name,region,colour\nn1,EU,red\n",
            "nodes.csv:1:13: unknown column `colour`",
            "allowed: name, region",
        ),
    ];
    for (table, want, allowed) in table_cases {
        let dir = TempDir::new("data-files-table");
        let case = write_case(&dir, table, "n1 n1x\n", TABLE_GROUP, "");
        let (code, err) = check(&case);
        assert_eq!(code, 2, "{table:?}: {err}");
        assert!(err.contains(want) && err.contains(allowed), "{table:?}: {err}");
        assert!(err.contains("topology.group[0].nodes_file"), "{err}");
    }
    // Node count mismatch, a missing file, fields that conflict with the files.
    let dir = TempDir::new("data-files-misc");
    let case = write_case(
        &dir,
        NODES,
        PATH,
        &format!("{TABLE_GROUP}\ncount = 6"),
        "peer_graph = \"g.adj\"",
    );
    let (code, err) = check(&case);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("topology.group[0].count: node count mismatch: count = 6 but `nodes.csv` lists 5 nodes"),
        "{err}"
    );
    let case = write_case(
        &dir,
        NODES,
        PATH,
        TABLE_GROUP,
        "peer_graph = \"missing.adj\"\npeers = 3",
    );
    let (code, err) = check(&case);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("system[0].peer_graph: cannot read"), "{err}");
    assert!(
        err.contains("missing.adj") && err.contains("relative to the scenario file's directory"),
        "{err}"
    );
    assert!(
        err.contains("system[0].peers: does not apply with `peer_graph`"),
        "{err}"
    );
    let case = write_case(
        &dir,
        NODES,
        PATH,
        &format!("{TABLE_GROUP}\nregion = \"EU\"\nbandwidth = \"1Mbps\""),
        "",
    );
    let (code, err) = check(&case);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("topology.group[0].region: the node table has a `region` column"),
        "{err}"
    );
    assert!(
        err.contains("topology.group[0].bandwidth: the node table has a `bandwidth` column"),
        "{err}"
    );
}

#[test]
fn the_manifest_records_each_file_and_reproduce_refuses_a_changed_one() {
    let dir = TempDir::new("data-files-manifest");
    let case = write_case(&dir, NODES, PATH, TABLE_GROUP, "peer_graph = \"g.adj\"");
    let out1 = dir.join("out1");
    let out2 = dir.join("out2");
    let run = |out: &std::path::Path, threads: &str, cwd: Option<&std::path::Path>| {
        let args = [
            "run",
            case.to_str().unwrap(),
            "--threads",
            threads,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        let (code, _, err) = common::run_in(cwd, args);
        assert_eq!(code, 0, "{err}");
    };
    run(&out1, "1", None);
    // Run from another working directory: the files are found relative to the scenario.
    run(&out2, "2", Some(std::path::Path::new("/")));
    let manifest = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("manifest.json")).unwrap()).unwrap()
    };
    let (m1, m2) = (manifest(&out1), manifest(&out2));
    assert_eq!(
        m1["digests_sha256"], m2["digests_sha256"],
        "same files + seed ⇒ identical outputs"
    );
    let files = m1["input_files"].as_array().expect("input_files");
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[0]["field"], "topology.group[0].nodes_file");
    assert_eq!(files[0]["sha256"], common::sha256_hex(NODES.as_bytes()));
    assert_eq!(files[1]["field"], "system[0].peer_graph");
    assert_eq!(files[1]["path"], "g.adj");
    assert_eq!(files[1]["sha256"], common::sha256_hex(PATH.as_bytes()));
    let (code, out, err) = common::run(["reproduce", out1.to_str().unwrap(), "--threads", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    // `check` lists the files it read with their digests.
    let (code, out, err) = common::run(["check", case.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "data file g.adj (system[0].peer_graph): sha256 {}",
            common::sha256_hex(PATH.as_bytes())
        )),
        "{out}"
    );
    // The same graph written at both ends is another file: reproduce says which changed.
    dir.write("g.adj", "n1 n2\nn2 n1 n3\nn3 n2 n4\nn4 n3 n5\nn5 n4\n");
    let (code, _, err) = common::run(["reproduce", out1.to_str().unwrap(), "--threads", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("data file `g.adj` (system[0].peer_graph) changed since the run"),
        "{err}"
    );
}

/// `merge` checks the data files like `reproduce`: shards of a run merge while the files are
/// unchanged and are refused (exit 2, nothing written) once one changed.
#[test]
fn merge_refuses_shards_whose_data_file_changed() {
    let dir = TempDir::new("data-files-merge");
    let case = write_case(&dir, NODES, PATH, TABLE_GROUP, "peer_graph = \"g.adj\"");
    let case = case.to_str().unwrap();
    let shard = |k: usize| {
        let out = dir.join(format!("shard-{k}"));
        let spec = format!("{k}/2");
        let args = [
            "run",
            case,
            "--quiet",
            "--threads",
            "1",
            "--set",
            "replications=2",
            "--shard",
            spec.as_str(),
            "--out",
            out.to_str().unwrap(),
        ];
        let (code, _, err) = common::run(args);
        assert_eq!(code, 0, "{err}");
        out.to_str().unwrap().to_string()
    };
    let shards = [shard(0), shard(1)];
    let merge = |name: &str| {
        let out = dir.join(name);
        let (code, stdout, err) = common::run(["merge", "--out", out.to_str().unwrap(), &shards[0], &shards[1]]);
        (code, format!("{stdout}{err}"), out)
    };
    let (code, said, _) = merge("merged");
    assert_eq!(code, 0, "{said}");
    dir.write("g.adj", "n1 n2\nn2 n1 n3\nn3 n2 n4\nn4 n3 n5\nn5 n4\n");
    let (code, said, out) = merge("merged-after-change");
    assert_eq!(code, 2, "{said}");
    assert!(
        said.contains("data file `g.adj` (system[0].peer_graph) changed since the run"),
        "{said}"
    );
    assert!(
        !out.join("summary.json").exists(),
        "nothing is merged from a changed file"
    );
}

/// A star read from data files: miner n1 – hub h – leaves a, b, c; the hub uploads at
/// 288 kbit/s (a 36-byte INV or GETDATA takes 1 ms, a 1,000-byte block 250/9 ms), every
/// other speed unlimited; one-way delay 10 ms; no message header; Gervais relay timing;
/// `control` the `control_lane`.
fn star_run(dir: &TempDir, control: &str) -> ledgersim::consensus::ChainMetrics {
    dir.write(
        "star.csv",
        "name,region,bandwidth,download_bandwidth\nn1,EU,unlimited,unlimited\nh,EU,288kbps,unlimited\n\
         a,EU,unlimited,unlimited\nb,EU,unlimited,unlimited\nc,EU,unlimited,unlimited\n",
    );
    dir.write("star.adj", "n1 h\nh a b c\n");
    let text = format!(
        r#"
name = "star"
seed = 5
duration = "600s"
warmup = "0"
replications = 1
timeseries_window = "60s"

[topology]
regions = ["EU"]
[[topology.group]]
role = "node"
nodes_file = "star.csv"
cores = 1

{net}
{tail}"#,
        net = common::ideal_network(20, common::NO_JITTER).replace("loss = 0.0\n", "loss = 0.0\nheader_bytes = 0\n"),
        tail = common::pow_workload_and_system(
            "node",
            "node",
            r#"{ process = "poisson", rate = 0.000001 }"#,
            &format!(
                "block_processing = \"0\"\nblock_interval = \"30s\"\nconfirmations = 2\nvalidators = {{ names = [\"n1\"] }}\n\
                 peer_graph = \"star.adj\"\nblock_bytes = 1000\nrelay_timing = \"gervais\"\ncontrol_lane = \"{control}\""
            ),
        )
    );
    let case = dir.write(&format!("star-{control}.toml"), &text);
    let r = run_system(&load(&case), 0, 0);
    assert_eq!(r.forks, 0);
    r.chain.expect("pow reports chain metrics")
}

#[test]
fn the_link_control_lane_sends_a_nodes_invs_in_parallel_at_the_slowest_ends_rate() {
    let dir = TempDir::new("data-files-star");
    // The hub's block upload: 8,000 bits at 288 kbit/s, rounded up to whole ns.
    let t = 27_777_778.0 / 1e6;
    let check = |c: ledgersim::consensus::ChainMetrics, hub: f64, first_leaf: f64| {
        assert!(c.propagated >= 10, "{c:?}");
        // The leaves' GETDATAs reach the hub together (or 1 ms apart): its uploads follow one
        // another, each block then downloaded at 288 kbit/s: leaves at first + t, + 2t, + 3t.
        let leaves = [first_leaf + t, first_leaf + 2.0 * t, first_leaf + 3.0 * t];
        assert!(common::close(c.node_mean_p50_ms, leaves[1]), "{c:?}");
        assert!(common::close(c.node_mean_p90_ms, leaves[2]), "{c:?}");
        let mean = (hub + leaves.iter().sum::<f64>()) / 4.0;
        assert!(common::close(c.node_mean_mean_ms, mean), "{c:?} {mean}");
    };
    // Egress FIFO: INV n1 → h 10 ms (unlimited ends), GETDATA h → n1 1 + 10 ms, BLOCK 10 ms:
    // the hub has it at 31 ms. Its INVs to a, b, c leave its FIFO at 32, 33, 34 ms and arrive
    // 10 ms later; the GETDATAs (unlimited) reach the hub at 52, 53, 54 ms; the first upload
    // starts at 52 ms and arrives at 62 ms.
    check(star_run(&dir, "egress"), 31.0, 62.0);
    // Link lane: every message on a link with the hub runs at 288 kbit/s (the hub's upload
    // bounds both directions): INV 1 + 10, GETDATA 1 + 10, BLOCK 10 ⇒ the hub at 32 ms; its
    // three INVs leave together and arrive at 43 ms, the GETDATAs at 54 ms; the first upload
    // arrives at 64 ms.
    check(star_run(&dir, "link"), 32.0, 64.0);
}
