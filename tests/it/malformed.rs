//! Malformed scenarios: each is an edit of the (shortened) quickstart. Every one must make both
//! `check` and `run` exit 2, name the offending field (or the line and column of a TOML error),
//! and leave no output directory behind.

use crate::common::{self, TempDir, quickstart, replace_once};
use std::ffi::OsString;

/// One edit of the valid scenario.
enum Edit {
    /// Replace the single occurrence of the first string by the second.
    Replace(&'static str, &'static str),
    /// Delete the single line starting with this text.
    DeleteLine(&'static str),
    /// Append text at the end of the file.
    Append(&'static str),
    /// Pass `--set` with this argument.
    Set(&'static str),
}
use Edit::*;

/// What stderr must show.
enum Expect {
    /// A validation issue: the line `  - <path>: …`.
    Issue(&'static str),
    /// A TOML error at `<file>:<line>:` where line is the one containing `marker` in the
    /// edited text, and the column if given.
    At { marker: &'static str, col: Option<usize> },
    /// Any substring.
    Says(&'static str),
}
use Expect::*;

struct Case {
    name: &'static str,
    edits: Vec<Edit>,
    expect: Vec<Expect>,
}

fn case(name: &'static str, edits: Vec<Edit>, expect: Vec<Expect>) -> Case {
    Case { name, edits, expect }
}

/// The [[network.rtt]] entry of the quickstart (its trailing comment stays behind as a comment).
const RTT_BLOCK: &str = "[[network.rtt]]\nbetween = [\"Beijing\", \"Shanghai\"]\nrtt = \"28.6ms\"";

fn cases() -> Vec<Case> {
    vec![
        // ---- TOML syntax and schema (reported by the parser with line:column)
        case(
            "syntax: unterminated string",
            vec![Replace("duration = \"6s\"", "duration = \"6s")],
            vec![
                At {
                    marker: "duration = \"6s ",
                    col: None,
                },
                Says("(field `duration`)"),
            ],
        ),
        case(
            "syntax: missing comma in an array",
            vec![Replace(
                "[\"Beijing\", \"Shanghai\"]   # every",
                "[\"Beijing\" \"Shanghai\"]   # every",
            )],
            vec![At {
                marker: "[\"Beijing\" \"Shanghai\"]",
                col: None,
            }],
        ),
        case(
            "syntax: unclosed table header",
            vec![Replace("[cpu]\n", "[cpu\n")],
            vec![At {
                marker: "[cpu",
                col: Some(5),
            }],
        ),
        case(
            "syntax: duplicate key",
            vec![Replace("seed = 1 ", "seed = 1\nseed = 2 ")],
            vec![
                At {
                    marker: "seed = 2",
                    col: Some(1),
                },
                Says("duplicate key"),
                Says("(field `seed`)"),
            ],
        ),
        case(
            "unknown top-level field",
            vec![Replace(
                "name = \"quickstart\"",
                "bogus_field = 1\nname = \"quickstart\"",
            )],
            vec![
                At {
                    marker: "bogus_field = 1",
                    col: Some(1),
                },
                Says("unknown field `bogus_field`"),
                Says("(field `bogus_field`)"),
            ],
        ),
        case(
            "unknown field in [network]",
            vec![Replace("loss = 0.0", "latancy = \"3ms\"\nloss = 0.0")],
            vec![
                At {
                    marker: "latancy = ",
                    col: Some(1),
                },
                Says("unknown field `latancy`"),
                Says("(field `network.latancy`)"),
            ],
        ),
        case(
            "unknown field in a [[system]]",
            vec![Replace("batch_max_tx = 500", "batch_max_txs = 500")],
            vec![
                At {
                    marker: "batch_max_txs = 500",
                    col: Some(1),
                },
                Says("unknown field `batch_max_txs`"),
            ],
        ),
        case(
            "unknown field in an inline table",
            vec![Replace(
                "process = \"poisson\", rate = 50.0",
                "process = \"poisson\", rat = 50.0",
            )],
            vec![
                At {
                    marker: "rat = 50.0",
                    col: None,
                },
                Says("unknown field `rat`"),
            ],
        ),
        case(
            "unknown arrival process",
            vec![Replace(
                "process = \"poisson\", rate = 50.0",
                "process = \"poison\", rate = 50.0",
            )],
            vec![
                At {
                    marker: "\"poison\"",
                    col: None,
                },
                Says("unknown variant `poison`"),
                Says("did you mean `poisson`?"),
                Says("(field `workload.flow.arrival`)"),
            ],
        ),
        case(
            "wrong type: seed as a string",
            vec![Replace("seed = 1 ", "seed = \"one\" ")],
            vec![
                At {
                    marker: "seed = \"one\"",
                    col: Some(8),
                },
                Says("invalid type"),
                Says("(field `seed`)"),
            ],
        ),
        case(
            "wrong type: cores as a string",
            vec![Replace("cores = 8 ", "cores = \"eight\" ")],
            vec![
                At {
                    marker: "cores = \"eight\"",
                    col: Some(9),
                },
                Says("(field `topology.group.cores`)"),
            ],
        ),
        case(
            "wrong type via --set",
            vec![Set("topology.group[0].cores=\"many\"")],
            vec![
                Says("--set topology.group[0].cores=\"many\""),
                Says("invalid type"),
                Says("cores"),
            ],
        ),
        case(
            "missing required field: seed",
            vec![DeleteLine("seed = ")],
            vec![Says("missing field `seed`")],
        ),
        case(
            "missing required nested field: network.intra_region_rtt",
            vec![DeleteLine("intra_region_rtt = ")],
            vec![Says("missing field `intra_region_rtt`"), Says("(field `network`)")],
        ),
        case(
            "missing required field of a [[system]]",
            vec![DeleteLine("consensus = \"pbft\"")],
            vec![Says("missing field `consensus`")],
        ),
        // ---- durations and the run
        case(
            "duration without unit",
            vec![Set("duration=\"30\"")],
            vec![Issue("duration"), Says("no unit")],
        ),
        case(
            "unknown duration unit",
            vec![Set("duration=\"30 parsecs\"")],
            vec![Issue("duration"), Says("unknown unit `parsecs`")],
        ),
        case(
            "negative duration",
            vec![Set("duration=\"-5s\"")],
            vec![Issue("duration")],
        ),
        case(
            "zero duration",
            vec![Set("duration=\"0s\"")],
            vec![Issue("duration"), Says("greater than zero")],
        ),
        case(
            "warmup equal to duration",
            vec![Set("warmup=\"6s\"")],
            vec![Issue("warmup"), Says("shorter than duration")],
        ),
        case(
            "warmup longer than duration",
            vec![Set("warmup=\"1m\"")],
            vec![Issue("warmup")],
        ),
        case(
            "replications = 0",
            vec![Set("replications=0")],
            vec![Issue("replications")],
        ),
        case("empty name", vec![Set("name=\"  \"")], vec![Issue("name")]),
        case(
            "bad start_time",
            vec![Set("start_time=\"9am\"")],
            vec![Issue("start_time")],
        ),
        case(
            "zero timeseries_window",
            vec![Set("timeseries_window=\"0\"")],
            vec![Issue("timeseries_window")],
        ),
        // ---- topology
        case(
            "cores = 0",
            vec![Set("topology.group[0].cores=0")],
            vec![Issue("topology.group[0].cores")],
        ),
        case(
            "unknown region of a group",
            vec![Replace("region = \"Beijing\"", "region = \"Beijng\"")],
            vec![
                Issue("topology.group[2].region"),
                Says("unknown region `Beijng`"),
                Says("did you mean `Beijing`?"),
            ],
        ),
        case(
            "unknown region in a group's regions list",
            vec![Set("topology.group[1].regions=[\"Beijing\", \"Tokyo\"]")],
            vec![Issue("topology.group[1].regions[1]")],
        ),
        case(
            "regions list length mismatch",
            vec![Set(
                "topology.group[0].regions=[\"Beijing\", \"Beijing\", \"Shanghai\"]",
            )],
            vec![
                Issue("topology.group[0].regions"),
                Says("has 3 entries but the group has 4 nodes"),
            ],
        ),
        case(
            "duplicate node names",
            vec![Set("topology.group[1].names=[\"ICBC\", \"Hebei\"]")],
            vec![Issue("topology.group[1].names[1]"), Says("`Hebei` is used twice")],
        ),
        case(
            "duplicate region",
            vec![Set("topology.regions=[\"Beijing\", \"Shanghai\", \"Beijing\"]")],
            vec![Issue("topology.regions[2]")],
        ),
        case(
            "group with both names and count",
            vec![Set("topology.group[1].count=2")],
            vec![Issue("topology.group[1]"), Says("either `names` or `count`")],
        ),
        case(
            "group count = 0",
            vec![Replace("names = [\"NSSF\"]", "count = 0")],
            vec![Issue("topology.group[2].count")],
        ),
        case(
            "bad group bandwidth",
            vec![Set("topology.group[0].bandwidth=\"10 furlongs\"")],
            vec![Issue("topology.group[0].bandwidth")],
        ),
        case(
            "bandwidth_dist bin with high below low",
            vec![Set(
                "topology.group[1].bandwidth_dist={ dist = \"piecewise\", bins_mbps = [[1.0, 2.0, 1], [3.0, 2.5, 1]] }",
            )],
            vec![Issue("topology.group[1].bandwidth_dist.bins_mbps"), Says("bin 1")],
        ),
        case(
            "unknown bandwidth distribution",
            vec![Set(
                "topology.group[1].download_bandwidth_dist={ dist = \"lognormal\", bins_mbps = [[1.0, 2.0, 1]] }",
            )],
            vec![
                Issue("topology.group[1].download_bandwidth_dist.dist"),
                Says("known: piecewise"),
            ],
        ),
        case(
            "bandwidth_dist weights all zero",
            vec![Set(
                "topology.group[1].download_bandwidth_dist={ dist = \"piecewise\", bins_mbps = [[1.0, 2.0, 0]] }",
            )],
            vec![
                Issue("topology.group[1].download_bandwidth_dist.bins_mbps"),
                Says("sum to zero"),
            ],
        ),
        case(
            "bandwidth and bandwidth_dist together",
            vec![
                Set("topology.group[1].bandwidth=\"10Mbps\""),
                Set("topology.group[1].bandwidth_dist={ dist = \"piecewise\", bins_mbps = [[1.0, 2.0, 1]] }"),
            ],
            vec![
                Issue("topology.group[1].bandwidth_dist"),
                Says("either `bandwidth` or `bandwidth_dist`"),
            ],
        ),
        case(
            "bandwidth_dist with an unknown key",
            vec![Set(
                "topology.group[1].bandwidth_dist={ dist = \"piecewise\", bins = [[1.0, 2.0, 1]] }",
            )],
            vec![Says("bins")],
        ),
        // ---- network
        case(
            "missing RTT pair",
            vec![Replace(RTT_BLOCK, "")],
            vec![Issue("network.rtt"), Says("between `Beijing` and `Shanghai`")],
        ),
        case(
            "RTT pair naming an unknown region",
            vec![Replace(
                "between = [\"Beijing\", \"Shanghai\"]",
                "between = [\"Beijing\", \"Shenzhen\"]",
            )],
            vec![Issue("network.rtt[0].between[1]"), Says("unknown region `Shenzhen`")],
        ),
        case(
            "RTT pair of one region",
            vec![Replace(
                "between = [\"Beijing\", \"Shanghai\"]",
                "between = [\"Beijing\", \"Beijing\"]",
            )],
            vec![Issue("network.rtt[0].between")],
        ),
        case(
            "RTT pair without unit",
            vec![Replace("rtt = \"28.6ms\"", "rtt = \"28.6\"")],
            vec![Issue("network.rtt[0].rtt")],
        ),
        case(
            "rtt_matrix_ms not square",
            vec![
                Replace(RTT_BLOCK, ""),
                Replace("loss = 0.0", "rtt_matrix_ms = [[0.4, 28.6]]\nloss = 0.0"),
            ],
            vec![Issue("network.rtt_matrix_ms"), Says("square 2×2")],
        ),
        case(
            "rtt_matrix_ms with a short row",
            vec![
                Replace(RTT_BLOCK, ""),
                Replace("loss = 0.0", "rtt_matrix_ms = [[0.4, 28.6], [28.6]]\nloss = 0.0"),
            ],
            vec![Issue("network.rtt_matrix_ms")],
        ),
        case(
            "asymmetric rtt_matrix_ms",
            vec![
                Replace(RTT_BLOCK, ""),
                Replace("loss = 0.0", "rtt_matrix_ms = [[0.4, 28.6], [30.0, 0.4]]\nloss = 0.0"),
            ],
            vec![Issue("network.rtt_matrix_ms[0][1]"), Says("symmetric")],
        ),
        case(
            "negative entry in rtt_matrix_ms",
            vec![
                Replace(RTT_BLOCK, ""),
                Replace("loss = 0.0", "rtt_matrix_ms = [[0.4, -1.0], [-1.0, 0.4]]\nloss = 0.0"),
            ],
            vec![
                Issue("network.rtt_matrix_ms[0][1]"),
                Issue("network.rtt_matrix_ms[1][0]"),
            ],
        ),
        case(
            "both rtt entries and rtt_matrix_ms",
            vec![Replace(
                "loss = 0.0",
                "rtt_matrix_ms = [[0.4, 28.6], [28.6, 0.4]]\nloss = 0.0",
            )],
            vec![Issue("network.rtt_matrix_ms"), Says("not both")],
        ),
        case(
            "loss = 1.5",
            vec![Set("network.loss=1.5")],
            vec![Issue("network.loss"), Says("probability")],
        ),
        case(
            "loss = 1 exactly",
            vec![Set("network.loss=1.0")],
            vec![Issue("network.loss")],
        ),
        case(
            "loss without a retransmit timeout",
            vec![Set("network.loss=0.1"), Set("network.retransmit_timeout=\"0\"")],
            vec![Issue("network.retransmit_timeout")],
        ),
        case(
            "jitter percentage above 100",
            vec![Set("network.jitter={dist=\"uniform\", pct=150}")],
            vec![Issue("network.jitter.pct")],
        ),
        case(
            "unknown jitter distribution",
            vec![Set("network.jitter={dist=\"weibull\", pct=10}")],
            vec![Says("unknown variant `weibull`"), Says("jitter")],
        ),
        case(
            "bad bandwidth string",
            vec![Set("network.bandwidth=\"fast\"")],
            vec![Issue("network.bandwidth"), Says("`fast`")],
        ),
        case(
            "zero bandwidth",
            vec![Set("network.bandwidth=\"0Mbps\"")],
            vec![Issue("network.bandwidth")],
        ),
        case(
            "bad cpu duration",
            vec![Set("cpu.verify=\"100\"")],
            vec![Issue("cpu.verify")],
        ),
        // ---- workload
        case(
            "negative rate",
            vec![Set("workload.flow[0].arrival.rate=-5.0")],
            vec![Issue("workload.flow[0].arrival.rate")],
        ),
        case(
            "zero rate",
            vec![Set("workload.flow[1].arrival.rate=0.0")],
            vec![Issue("workload.flow[1].arrival.rate")],
        ),
        case(
            "profile points out of order",
            vec![Set(
                "workload.flow[0].arrival={process=\"profile\", points=[[\"10:00\", 5.0], [\"09:00\", 10.0]]}",
            )],
            vec![
                Issue("workload.flow[0].arrival.points[1]"),
                Says("increasing time order"),
            ],
        ),
        case(
            "profile point at 24:00",
            vec![Set(
                "workload.flow[0].arrival={process=\"profile\", points=[[\"24:00\", 5.0]]}",
            )],
            vec![Issue("workload.flow[0].arrival.points[0]")],
        ),
        case(
            "profile without points",
            vec![Set("workload.flow[0].arrival={process=\"profile\", points=[]}")],
            vec![Issue("workload.flow[0].arrival.points")],
        ),
        case(
            "size_bytes = 0",
            vec![Set("workload.flow[0].size_bytes=0")],
            vec![Issue("workload.flow[0].size_bytes")],
        ),
        case(
            "uniform amount with max < min",
            vec![Set("workload.flow[0].amount={dist=\"uniform\", min=100.0, max=50.0}")],
            vec![Issue("workload.flow[0].amount.max")],
        ),
        case(
            "zero constant amount",
            vec![Set("workload.flow[1].amount={dist=\"constant\", value=0.0}")],
            vec![Issue("workload.flow[1].amount.value")],
        ),
        case(
            "unknown role in a flow",
            vec![Set("workload.flow[0].to=\"banks\"")],
            vec![Issue("workload.flow[0].to"), Says("unknown role `banks`")],
        ),
        case(
            "unknown via role",
            vec![Set("workload.flow[1].via=\"custodian\"")],
            vec![Issue("workload.flow[1].via")],
        ),
        case(
            "flow within a single-node role",
            vec![
                Set("workload.flow[0].from=\"fund\""),
                Set("workload.flow[0].to=\"fund\""),
            ],
            vec![Issue("workload.flow[0].to")],
        ),
        case(
            "unknown endpoints value",
            vec![Set("workload.flow[0].endpoints=\"random\"")],
            vec![Issue("workload.flow[0].endpoints")],
        ),
        case(
            "unknown fee class",
            vec![Set("workload.flow[1].fee=\"free\"")],
            vec![Issue("workload.flow[1].fee")],
        ),
        case(
            "duplicate flow name",
            vec![Set("workload.flow[1].name=\"payouts\"")],
            vec![Issue("workload.flow[1].name")],
        ),
        case(
            "negative initial balance",
            vec![Set("workload.initial_balance=-1.0")],
            vec![Issue("workload.initial_balance")],
        ),
        // ---- systems
        case(
            "unknown consensus",
            vec![Set("system[1].consensus=\"paxos\"")],
            vec![Issue("system[1].consensus"), Says("unknown consensus `paxos`")],
        ),
        case(
            "no baseline",
            vec![Set("system[0].baseline=false")],
            vec![Issue("system"), Says("(found 0)")],
        ),
        case(
            "two baselines",
            vec![Set("system[1].baseline=true")],
            vec![Issue("system"), Says("(found 2)")],
        ),
        case(
            "duplicate system names",
            vec![Set("system[1].name=\"centralized\"")],
            vec![Issue("system[1].name")],
        ),
        case(
            "centralized without operator",
            vec![Replace("operator = \"NSSF\"", "")],
            vec![Issue("system[0].operator")],
        ),
        case(
            "operator naming an unknown node",
            vec![Set("system[0].operator=\"Tibet\"")],
            vec![Issue("system[0].operator"), Says("unknown node `Tibet`")],
        ),
        case(
            "standby equal to the operator",
            vec![Set("system[0].standby=\"NSSF\"")],
            vec![Issue("system[0].standby")],
        ),
        case(
            "db_servers = 0",
            vec![Set("system[0].db_servers=0")],
            vec![Issue("system[0].db_servers")],
        ),
        case(
            "PBFT with 3 validators",
            vec![Set("system[1].validators={names=[\"Beijing\", \"Hebei\", \"ICBC\"]}")],
            vec![Issue("system[1].validators"), Says("at least 4 validators")],
        ),
        case(
            "PBFT validators naming an unknown role",
            vec![Set("system[1].validators={roles=[\"province\", \"regulator\"]}")],
            vec![Issue("system[1].validators.roles[1]")],
        ),
        case(
            "PBFT validators naming an unknown node",
            vec![Set("system[1].validators={roles=[\"province\"], names=[\"Atlantis\"]}")],
            vec![Issue("system[1].validators.names[0]")],
        ),
        case(
            "ledger system without settlement",
            vec![Replace("settlement = \"on-ledger\"", "")],
            vec![Issue("system[1].settlement")],
        ),
        case(
            "centralized with settlement = on-ledger",
            vec![Set("system[0].settlement=\"on-ledger\"")],
            vec![Issue("system[0].settlement"), Says("only `batch`")],
        ),
        case(
            "ledger with settlement = batch",
            vec![Set("system[1].settlement=\"batch\"")],
            vec![Issue("system[1].settlement")],
        ),
        case(
            "batch_max_tx = 0",
            vec![Set("system[1].batch_max_tx=0")],
            vec![Issue("system[1].batch_max_tx")],
        ),
        case(
            "batch_max_bytes = 0",
            vec![Set("system[1].batch_max_bytes=0")],
            vec![Issue("system[1].batch_max_bytes")],
        ),
        case(
            "pipeline = 0",
            vec![Set("system[1].pipeline=0")],
            vec![Issue("system[1].pipeline")],
        ),
        case(
            "bad batch_timeout",
            vec![Set("system[1].batch_timeout=\"soon\"")],
            vec![Issue("system[1].batch_timeout")],
        ),
        case(
            "operator on a pbft system",
            vec![Set("system[1].operator=\"NSSF\"")],
            vec![Issue("system[1].operator"), Says("does not apply to consensus `pbft`")],
        ),
        case(
            "batch_max_tx on a centralized system",
            vec![Set("system[0].batch_max_tx=10")],
            vec![
                Issue("system[0].batch_max_tx"),
                Says("does not apply to consensus `centralized`"),
            ],
        ),
        case(
            "system exception_rate 2.0",
            vec![Set("system[1].cost.exception_rate=2.0")],
            vec![Issue("system[1].cost.exception_rate")],
        ),
        // ---- settlement schedule and prices
        case(
            "settlement cutoff 25:00",
            vec![Append("\n[settlement]\ncutoffs = [\"25:00\"]\n")],
            vec![Issue("settlement.cutoffs[0]"), Says("`25:00`")],
        ),
        case(
            "empty settlement cutoffs",
            vec![Append("\n[settlement]\ncutoffs = []\n")],
            vec![Issue("settlement.cutoffs")],
        ),
        case(
            "settlement with cutoffs and every",
            vec![Append("\n[settlement]\ncutoffs = [\"17:15\"]\nevery = \"4h\"\n")],
            vec![Issue("settlement"), Says("not both")],
        ),
        case(
            "settlement every 0",
            vec![Append("\n[settlement]\nevery = \"0s\"\n")],
            vec![Issue("settlement.every")],
        ),
        case(
            "negative price",
            vec![Set("cost.node_hour=-1.0")],
            vec![Issue("cost.node_hour")],
        ),
        case(
            "exception_rate 2.0",
            vec![Append("\n[cost]\nexception_rate = 2.0\n")],
            vec![Issue("cost.exception_rate")],
        ),
        case(
            "fee tiers not increasing",
            vec![Set("cost.transfer_fee_tiers=[[100.0, 1.0], [50.0, 2.0]]")],
            vec![Issue("cost.transfer_fee_tiers[1]")],
        ),
        // ---- [capacity]
        case(
            "capacity: SLO without a unit",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"500\"\nmin_tps = 10.0\nmax_tps = 100.0\n",
            )],
            vec![Issue("capacity.slo_p99")],
        ),
        case(
            "capacity: throughput ratio above 1",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\nmin_throughput_ratio = 1.5\n",
            )],
            vec![Issue("capacity.min_throughput_ratio")],
        ),
        case(
            "capacity: bounds reversed",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 100.0\nmax_tps = 10.0\n",
            )],
            vec![Issue("capacity.max_tps")],
        ),
        case(
            "capacity: negative lower bound",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = -5.0\nmax_tps = 10.0\n",
            )],
            vec![Issue("capacity.min_tps")],
        ),
        case(
            "capacity: zero iterations",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\niterations = 0\n",
            )],
            vec![Issue("capacity.iterations")],
        ),
        case(
            "capacity: unknown criterion",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\ncriterion = \"median\"\n",
            )],
            vec![Issue("capacity.criterion"), Says("\"every\"")],
        ),
        case(
            "capacity: unknown system",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\nsystems = [\"pbft\", \"raft\"]\n",
            )],
            vec![Issue("capacity.systems[1]"), Says("no system named `raft`")],
        ),
        case(
            "capacity: unknown field",
            vec![Append(
                "\n[capacity]\nslo_p95 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\n",
            )],
            vec![
                At {
                    marker: "slo_p95 = ",
                    col: Some(1),
                },
                Says("unknown field `slo_p95`"),
            ],
        ),
        case(
            "capacity: missing bound",
            vec![Append("\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\n")],
            vec![Says("missing field `max_tps`")],
        ),
        case(
            "capacity combined with a sweep",
            vec![Append(
                "\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\n[sweep]\n\"system[1].batch_max_tx\" = [10, 20]\n",
            )],
            vec![Issue("capacity"), Says("cannot be combined with [sweep]")],
        ),
        case(
            "capacity: bad value via --set",
            vec![
                Append("\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\n"),
                Set("capacity.iterations=99"),
            ],
            vec![Issue("capacity.iterations")],
        ),
        case(
            "capacity: wrong type via --set",
            vec![
                Append("\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 10.0\nmax_tps = 100.0\n"),
                Set("capacity.min_tps=\"lots\""),
            ],
            vec![Says("--set capacity.min_tps=\"lots\""), Says("min_tps")],
        ),
        // ---- bad --set
        case(
            "--set on a nonexistent array index",
            vec![Set("system[5].name=\"x\"")],
            vec![
                Says("--set system[5].name=\"x\""),
                Says("`system[5]` is out of range (it has 2)"),
            ],
        ),
        case(
            "--set with no `=`",
            vec![Set("duration")],
            vec![Says("--set duration: expected path=value")],
        ),
        case(
            "--set with a bad index",
            vec![Set("system[x].name=\"x\"")],
            vec![Says("bad index `x`")],
        ),
        case(
            "--set through a non-table",
            vec![Set("seed.value=3")],
            vec![Says("`seed` is not a table")],
        ),
        case("--set with an empty path", vec![Set("=3")], vec![Says("--set =3")]),
        // ---- suggestions for misspelt names (issue #8)
        case(
            "misspelt field: nearest name suggested",
            vec![Replace("batch_timeout = \"200ms\"", "batch_timout = \"200ms\"")],
            vec![
                At {
                    marker: "batch_timout = ",
                    col: Some(1),
                },
                Says("unknown field `batch_timout`"),
                Says("did you mean `batch_timeout`?"),
            ],
        ),
        case(
            "misspelt variant: nearest name suggested",
            vec![Replace(
                "dist = \"lognormal\", median = 3000.0",
                "dist = \"lognormal\", medain = 3000.0",
            )],
            vec![
                At {
                    marker: "medain = 3000.0",
                    col: None,
                },
                Says("did you mean `median`?"),
            ],
        ),
        case(
            "misspelt field via --set: nearest name suggested",
            vec![Set("network.bandwith=\"1Gbps\"")],
            vec![
                Says("--set network.bandwith=\"1Gbps\""),
                Says("unknown field `bandwith`"),
                Says("did you mean `bandwidth`?"),
            ],
        ),
        case(
            "misspelt consensus: nearest name suggested",
            vec![Set("system[1].consensus=\"pbtf\"")],
            vec![Issue("system[1].consensus"), Says("did you mean `pbft`?")],
        ),
        case(
            "misspelt role in a flow: nearest name suggested",
            vec![Set("workload.flow[0].to=\"bnak\"")],
            vec![Issue("workload.flow[0].to"), Says("did you mean `bank`?")],
        ),
        case(
            "misspelt operator node: nearest name suggested",
            vec![Set("system[0].operator=\"NSSf\"")],
            vec![Issue("system[0].operator"), Says("did you mean `NSSF`?")],
        ),
        case(
            "misspelt region of a group: nearest name suggested",
            vec![Set("topology.group[2].region=\"Shangai\"")],
            vec![Issue("topology.group[2].region"), Says("did you mean `Shanghai`?")],
        ),
        // ---- faults naming unknown things
        case(
            "fault with a misspelt kind",
            vec![Append(
                "\n[[fault]]\nkind = \"crsh\"\nat = \"1s\"\ntarget = { nodes = [\"NSSF\"] }\n",
            )],
            vec![Issue("fault[0].kind"), Says("did you mean `crash`?")],
        ),
        case(
            "fault naming an unknown node",
            vec![Append(
                "\n[[fault]]\nkind = \"crash\"\nat = \"1s\"\ntarget = { nodes = [\"Atlantis\"] }\n",
            )],
            vec![Issue("fault[0].target.nodes[0]"), Says("unknown node `Atlantis`")],
        ),
        case(
            "fault naming an unknown region",
            vec![Append(
                "\n[[fault]]\nkind = \"crash\"\nat = \"1s\"\ntarget = { regions = [\"Tokyo\"] }\n",
            )],
            vec![Issue("fault[0].target.regions[0]")],
        ),
        case(
            "fault naming an unknown system",
            vec![Append(
                "\n[[fault]]\nkind = \"crash\"\nat = \"1s\"\nsystem = \"pbtf\"\ntarget = { nodes = [\"NSSF\"] }\n",
            )],
            vec![Issue("fault[0].system"), Says("did you mean `pbft`?")],
        ),
        case(
            "fault ending before it starts",
            vec![Append(
                "\n[[fault]]\nkind = \"crash\"\nat = \"3s\"\nuntil = \"2s\"\ntarget = { nodes = [\"NSSF\"] }\n",
            )],
            vec![Issue("fault[0].until")],
        ),
        // ---- protocol minimums and absurd sizes
        case(
            "HotStuff with 3 validators",
            vec![
                Set("system[1].consensus=\"hotstuff\""),
                Set("system[1].validators={names=[\"Beijing\", \"Hebei\", \"ICBC\"]}"),
            ],
            vec![Issue("system[1].validators"), Says("at least 4 validators")],
        ),
        case(
            "replications above the limit",
            vec![Set("replications=200000")],
            vec![Issue("replications"), Says("limit")],
        ),
        case(
            "a group of more nodes than the limit",
            vec![Replace("names = [\"NSSF\"]", "count = 4000000000")],
            vec![Issue("topology.group[2].count"), Says("limit")],
        ),
        case(
            "proof-of-work with billions of peers",
            vec![Set("system[1].consensus=\"pow\""), Set("system[1].peers=4000000000")],
            vec![Issue("system[1].peers"), Says("limit of 10000")],
        ),
        case(
            "block_bytes_dist bin with high below low",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set(
                    "system[1].block_bytes_dist={ dist = \"piecewise\", bins_bytes = [[100.0, 200.0, 1], [300.0, 250.0, 1]] }",
                ),
            ],
            vec![Issue("system[1].block_bytes_dist.bins_bytes"), Says("bin 1")],
        ),
        case(
            "unknown block size distribution",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].block_bytes_dist={ dist = \"lognormal\", bins_bytes = [[1.0, 2.0, 1]] }"),
            ],
            vec![Issue("system[1].block_bytes_dist.dist"), Says("known: piecewise")],
        ),
        case(
            "block_bytes_dist without bins",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].block_bytes_dist={ dist = \"piecewise\", bins_bytes = [] }"),
            ],
            vec![
                Issue("system[1].block_bytes_dist.bins_bytes"),
                Says("[low_bytes, high_bytes, weight]"),
            ],
        ),
        case(
            "block_bytes and block_bytes_dist together",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].block_bytes=1000"),
                Set("system[1].block_bytes_dist={ dist = \"piecewise\", bins_bytes = [[1.0, 2.0, 1]] }"),
            ],
            vec![
                Issue("system[1].block_bytes_dist"),
                Says("either `block_bytes` or `block_bytes_dist`"),
            ],
        ),
        case(
            "block_bytes_dist on a non-PoW system",
            vec![Set(
                "system[0].block_bytes_dist={ dist = \"piecewise\", bins_bytes = [[1.0, 2.0, 1]] }",
            )],
            vec![Issue("system[0].block_bytes_dist")],
        ),
        case(
            "block_bytes_dist with an unknown key",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].block_bytes_dist={ dist = \"piecewise\", bins_mbps = [[1.0, 2.0, 1]] }"),
            ],
            vec![Says("bins_mbps")],
        ),
        // ---- PoW options of Gervais et al.'s simulator and network.latency_per
        case(
            "unknown latency_per",
            vec![Set("network.latency_per=\"links\"")],
            vec![
                Issue("network.latency_per"),
                Says("allowed: message, link"),
                Says("did you mean `link`"),
            ],
        ),
        case(
            "unknown propagation_at",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].propagation_at=\"arival\""),
            ],
            vec![
                Issue("system[1].propagation_at"),
                Says("allowed: validated, arrival"),
                Says("did you mean `arrival`"),
            ],
        ),
        case(
            "unknown control_lane",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].control_lane=\"links\""),
            ],
            vec![
                Issue("system[1].control_lane"),
                Says("allowed: egress, link"),
                Says("did you mean `link`"),
            ],
        ),
        case(
            "control_lane = link with SimBlock relay timing",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].relay_timing=\"simblock\""),
                Set("system[1].control_lane=\"link\""),
            ],
            vec![
                Issue("system[1].control_lane"),
                Says("does not apply with relay_timing = \"simblock\""),
            ],
        ),
        case(
            "control_lane on a non-PoW system",
            vec![Set("system[1].control_lane=\"link\"")],
            vec![Issue("system[1].control_lane")],
        ),
        case(
            "unknown rerequest",
            vec![Set("system[1].consensus=\"pow\""), Set("system[1].rerequest=\"timr\"")],
            vec![
                Issue("system[1].rerequest"),
                Says("allowed: on-inv, timer"),
                Says("did you mean `timer`"),
            ],
        ),
        case(
            "rerequest on a non-PoW system",
            vec![Set("system[1].rerequest=\"timer\"")],
            vec![Issue("system[1].rerequest")],
        ),
        case(
            "zero inv_timeout",
            vec![Set("system[1].consensus=\"pow\""), Set("system[1].inv_timeout=\"0\"")],
            vec![Issue("system[1].inv_timeout")],
        ),
        case(
            "block_processing_per_kb that is not a duration",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].block_processing_per_kb=\"fast\""),
            ],
            vec![Issue("system[1].block_processing_per_kb")],
        ),
        case(
            "block_processing_per_kb with SimBlock relay timing",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].relay_timing=\"simblock\""),
                Set("system[1].block_processing_per_kb=\"1ms\""),
            ],
            vec![Issue("system[1].block_processing_per_kb"), Says("simblock")],
        ),
        case(
            "degree_cap with decreasing thresholds",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].degree_cap={ slack = [[4, 1], [2, 2]] }"),
            ],
            vec![Issue("system[1].degree_cap.slack[1]"), Says("above the previous")],
        ),
        case(
            "degree_cap with a zero threshold and a zero miner cap",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].degree_cap={ slack = [[0, 1]], miner = 0 }"),
            ],
            vec![
                Issue("system[1].degree_cap.slack[0]"),
                Issue("system[1].degree_cap.miner"),
            ],
        ),
        case(
            "degree_cap with an unknown key",
            vec![
                Set("system[1].consensus=\"pow\""),
                Set("system[1].degree_cap={ slack = [[1, 1]], miners = 800 }"),
            ],
            vec![Says("miners")],
        ),
        case(
            "inv_timeout on a non-PoW system",
            vec![Set("system[0].inv_timeout=\"1s\"")],
            vec![Issue("system[0].inv_timeout")],
        ),
        case(
            "arrival rate above one per nanosecond",
            vec![Set("workload.flow[0].arrival.rate=1e12")],
            vec![Issue("workload.flow[0].arrival.rate")],
        ),
        case(
            "sweep range with billions of steps",
            vec![Append(
                "\n[sweep]\n\"workload.flow[0].arrival.rate\" = { from = 1.0, to = 2.0, steps = 4000000000 }\n",
            )],
            vec![Issue("sweep.\"workload.flow[0].arrival.rate\".steps")],
        ),
        case(
            "a million time-series windows",
            vec![Set("duration=\"30d\"")],
            vec![Issue("timeseries_window"), Says("use a longer window")],
        ),
        case(
            "negative amount bound",
            vec![Set("workload.flow[0].amount={dist=\"uniform\", min=-5.0, max=50.0}")],
            vec![Issue("workload.flow[0].amount.min")],
        ),
        case(
            "unparseable retransmit timeout",
            vec![Set("network.retransmit_timeout=\"soon\"")],
            vec![Issue("network.retransmit_timeout")],
        ),
        case(
            "more regions than the limit (and a million missing pairs, summarized)",
            vec![Set(Box::leak(
                format!(
                    "topology.regions=[{}]",
                    (0..1001).map(|i| format!("\"r{i}\"")).collect::<Vec<_>>().join(", ")
                )
                .into_boxed_str(),
            ))],
            vec![
                Issue("topology.regions"),
                Says("1001 regions are more than the limit of 1000"),
                Says("more region pairs without a round-trip time"),
            ],
        ),
        // ---- the resource guard (no field to blame: the estimate and how to proceed)
        case(
            "resource guard: ten years of simulated time",
            vec![Set("duration=\"3650d\""), Set("timeseries_window=\"1d\"")],
            vec![
                Says("is estimated to need"),
                Says("engine events"),
                Says("duration"),
                Says("--force"),
            ],
        ),
    ]
}

/// Apply the text edits and collect the `--set` arguments.
fn build(c: &Case) -> (String, Vec<String>) {
    let mut text = quickstart();
    let mut sets = Vec::new();
    for e in &c.edits {
        match e {
            Replace(from, to) => text = replace_once(&text, from, to),
            DeleteLine(prefix) => {
                let lines: Vec<&str> = text.lines().collect();
                let hits = lines.iter().filter(|l| l.starts_with(prefix)).count();
                assert_eq!(hits, 1, "{}: {hits} lines start with {prefix:?}", c.name);
                text = lines
                    .into_iter()
                    .filter(|l| !l.starts_with(prefix))
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            Append(s) => text.push_str(s),
            Set(s) => sets.push(s.to_string()),
        }
    }
    (text, sets)
}

/// 1-based number of the single non-comment line of `text` containing `marker`.
fn line_of(text: &str, marker: &str, case: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(marker) && !l.trim_start().starts_with('#'))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{case}: marker {marker:?} is on lines {hits:?}");
    hits[0]
}

/// Problems with stderr for this case (empty if it is as expected).
fn check_stderr(c: &Case, text: &str, file: &str, stderr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for e in &c.expect {
        let needle = match e {
            Issue(path) => format!("\n  - {path}: "),
            At { marker, col } => {
                let line = line_of(text, marker, c.name);
                match col {
                    Some(col) => format!("{file}:{line}:{col}: "),
                    None => format!("{file}:{line}:"),
                }
            }
            Says(s) => s.to_string(),
        };
        if !stderr.contains(&needle) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    problems
}

#[test]
fn quickstart_text_used_by_the_cases_is_valid() {
    let tmp = TempDir::new("malformed-base");
    let file = tmp.write("scenario.toml", quickstart());
    let (code, stdout, stderr) = common::run([OsString::from("check"), file.into()]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
}

#[test]
fn malformed_scenarios_are_rejected_with_their_field_path() {
    let all = cases();
    assert!(all.len() >= 30, "only {} cases", all.len());
    let mut failures = Vec::new();
    for c in &all {
        let (text, sets) = build(c);
        let tmp = TempDir::new("malformed");
        let file = tmp.write("scenario.toml", &text);
        let shown = file.display().to_string();
        let out = tmp.join("out");
        let mut set_args: Vec<OsString> = Vec::new();
        for s in &sets {
            set_args.push("--set".into());
            set_args.push(s.into());
        }
        let mut check_args: Vec<OsString> = vec!["check".into(), file.clone().into()];
        check_args.extend(set_args.iter().cloned());
        let mut run_args: Vec<OsString> = vec!["run".into(), file.clone().into(), "--out".into(), out.clone().into()];
        run_args.extend(set_args.iter().cloned());

        for (cmd, args) in [("check", check_args), ("run", run_args)] {
            let (code, stdout, stderr) = common::run_in(Some(tmp.path()), &args);
            let mut problems = Vec::new();
            if code != 2 {
                problems.push(format!("exit code {code}, expected 2"));
            }
            problems.extend(check_stderr(c, &text, &shown, &stderr));
            if out.exists() {
                problems.push(format!("{} was created", out.display()));
            }
            if tmp.entries() != ["scenario.toml"] {
                problems.push(format!("the directory now holds {:?}", tmp.entries()));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "[{}] {cmd}: {}\n    --set {sets:?}\n    stdout: {}\n    stderr: {}",
                    c.name,
                    problems.join("; "),
                    stdout.trim(),
                    stderr.trim()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} malformed-scenario checks failed:\n{}",
        failures.len(),
        2 * all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_independent_error_is_reported() {
    let tmp = TempDir::new("many-errors");
    let text = replace_once(&quickstart(), "operator = \"NSSF\"", "");
    let file = tmp.write("scenario.toml", text);
    let sets = [
        "duration=\"5\"",
        "topology.group[0].cores=0",
        "network.loss=1.5",
        "workload.flow[0].size_bytes=0",
        "workload.flow[1].endpoints=\"random\"",
        "cost.node_hour=-1.0",
        "system[1].batch_max_tx=0",
        "system[1].standby=\"NSSF\"",
    ];
    let paths = [
        "duration",
        "topology.group[0].cores",
        "network.loss",
        "workload.flow[0].size_bytes",
        "workload.flow[1].endpoints",
        "cost.node_hour",
        "system[0].operator",
        "system[1].batch_max_tx",
        "system[1].standby",
    ];
    let mut args: Vec<OsString> = vec!["check".into(), file.clone().into()];
    for s in sets {
        args.push("--set".into());
        args.push(s.into());
    }
    let (code, _, stderr) = common::run(&args);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: {} problem(s) in the scenario:",
            file.display(),
            paths.len()
        )),
        "{stderr}"
    );
    for p in paths {
        assert!(
            stderr.contains(&format!("\n  - {p}: ")),
            "`{p}` not reported:\n{stderr}"
        );
    }
    assert_eq!(stderr.matches("\n  - ").count(), paths.len(), "{stderr}");

    // `run` reports the same and writes nothing.
    args[0] = "run".into();
    args.push("--out".into());
    args.push(tmp.join("out").into());
    let (code, _, stderr2) = common::run(&args);
    assert_eq!(code, 2);
    assert_eq!(stderr, stderr2, "run and check should report the same problems");
    assert_eq!(tmp.entries(), ["scenario.toml"]);
}
