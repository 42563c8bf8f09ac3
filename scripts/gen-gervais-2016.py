#!/usr/bin/env python3
"""Write scenarios/validation/pow-gervais-2016-*.toml (the five rows of Gervais et al. CCS'16's
table) from one template, so that the files differ only in interval, block size, duration and
expectations. Usage (from anywhere):
    python3 scripts/gen-gervais-2016.py 10min=16h40m 2.5min=4h10m 1min=1h40m 10s=4h 1s=10m sourced=1
(the arguments are the simulated durations of the rows). Options (same KEY=VALUE form):
    bandwidth=dist   draw node bandwidths from GT's measured tables (scripts/gervais_bandwidth.py)
    blocksize=dist   draw every block's size from GT's measured table (scripts/gervais_blocksize.py),
                     scaled with the interval as GT's MineBlock does (block_bytes_dist)
    gt=full          model the rest of GT's BitcoinNode / BitcoinTopologyHelper too: validation time
                     per byte (block_processing_per_kb), the statistic recorded at arrival
                     (propagation_at), INV timeout 2 x interval, degree caps (degree_cap), one
                     latency per link (network.latency_per = "link") and INV / GETDATA on
                     per-link lanes (control_lane = "link")
    sourced=1        the sourced configuration: bandwidth=dist blocksize=dist gt=full network=gt
    network=gt       run on GT's own network, the one every GT run builds (with sourced=1 only):
                     the pools as a group named by their GT ids, the other nodes from the node
                     table scenarios/validation/data/gt-network-nodes.csv (region, fixed speeds)
                     and the links from the peer graph data/gt-network.adj (written by
                     `python3 scripts/gervais_topology_study.py --export-gt`; data/README.md);
                     network=drawn draws a network per seed and replication with GT's rules
    out=DIR          write the files to DIR instead of scenarios/validation
The checked-in cases are written with sourced=1 (the same durations as above); without it the
older configuration (region averages, fixed sizes, no gt=full options) is written."""
import os
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gervais_bandwidth as gbw  # GT's per-region bandwidth tables (see that file)
import gervais_blocksize as gbs  # GT's block-size table (see that file)
import gervais_latency as glat  # GT's region latency table (see that file)

def dist_table(region, direction):
    """A [topology.group.(download_)bandwidth_dist] sub-table: GT's table, empty bins left out."""
    key = "bandwidth_dist" if direction == "up" else "download_bandwidth_dist"
    bins = gbw.bins(region, direction)
    items = [f"[{lo}, {hi}, {w}]" for lo, hi, w in bins]
    lines = []
    for i in range(0, len(items), 6):
        lines.append("  " + ", ".join(items[i:i + 6]) + ",")
    return (f"[topology.group.{key}]\n"
            f"# GT {gbw.TABLE_NAMES[(region, direction)]}: {len(bins)} non-empty bins of "
            f"{1000 if direction == 'down' else 999}, 2,000 samples, mean {gbw.mean(region, direction):.2f} Mbit/s.\n"
            f"dist = \"piecewise\"\nbins_mbps = [\n" + "\n".join(lines) + "\n]\n")

# GT m_regionUploadSpeeds / m_regionDownloadSpeeds (Mbit/s), the inputs of the checked-in cases.
AVERAGES = {"NA": ("6.74", "41.68"), "EU": ("6.72", "21.29"), "SA": ("2.2", "9.89"),
            "AP": ("6.53", "14.56"), "JP": ("1.7", "6.9"), "AU": ("6.1", "16")}
# bandwidth=dist (argument): draw every node's speeds from GT's measured tables instead (what
# GT's AssignInternetSpeeds does; see the header for why the checked-in cases do not).
USE_DIST = False

def node_group(prefix, count, region):
    head = f"""[[topology.group]]
role = "node"
name_prefix = "{prefix}"
count = {count}
region = "{region}"
cores = 1
"""
    if USE_DIST:
        return head + dist_table(region, "up") + "\n" + dist_table(region, "down")
    up, down = AVERAGES[region]
    return head + f'bandwidth = "{up}Mbps"\ndownload_bandwidth = "{down}Mbps"\n'
rows = [
 # name, interval label, interval toml, block bytes, duration, paper: mean, median, p90, stale
 ("10min", "10 min", "10m", 1000000, None, 25.83, 14.7, 35.47, 1.51),
 ("2.5min", "2.5 min", "2m30s", 250000, None, 6.83, 4.18, 9.12, 1.82),
 ("1min", "1 min", "1m", 100000, None, 3.02, 2.08, 3.76, 2.15),
 ("10s", "10 s", "10s", 16667, None, 1.09, 1.00, 1.38, 4.77),
 ("1s", "1 s", "1s", 1667, None, 0.84, 0.82, 0.97, 26.74),
]
def parse_dur(d):
    import re
    t=0
    for v,u in re.findall(r'([0-9.]+)(h|m|s)', d):
        t+=float(v)*{'h':3600,'m':60,'s':1}[u]
    return t
if any(a in ("-h", "--help") for a in sys.argv[1:]):
    print(__doc__)
    sys.exit(0)
durations = dict(a.split("=", 1) for a in sys.argv[1:])
SOURCED = durations.pop("sourced", "0") == "1"
USE_DIST = durations.pop("bandwidth", "dist" if SOURCED else "average") == "dist"
SIZE_DIST = durations.pop("blocksize", "dist" if SOURCED else "fixed") == "dist"
GT_FULL = durations.pop("gt", "full" if SOURCED else "partial") == "full"
# All of GT's inputs (the checked-in configuration): the header and notes describe it.
SOURCED_CASES = USE_DIST and SIZE_DIST and GT_FULL
OUT_DIR = durations.pop("out", os.path.join(ROOT, "scenarios", "validation"))
# network=gt (the default with sourced=1): GT's own network from the data files.
GT_NET = durations.pop("network", "gt" if SOURCED_CASES else "drawn") == "gt"
if GT_NET and not SOURCED_CASES:
    sys.exit("network=gt needs the sourced configuration (sourced=1): GT's network comes with GT's inputs")
# GT's pool ids (BitcoinTopologyHelper, srand(1000): scripts/gervais_topology_study.py), sorted;
# rank k gets bitcoinMinersRegions[k] and bitcoinMinersHash[k].
GT_POOL_IDS = [468, 524, 790, 1337, 1798, 1941, 2239, 2943, 3055, 3939, 4103, 4293, 4545, 4684, 4871, 5868]
DATA_NODES = "data/gt-network-nodes.csv"
DATA_GRAPH = "data/gt-network.adj"

def check_gt_data():
    """The node table must hold exactly the 5,984 ids that are not pools (a cheap guard that
    GT_POOL_IDS and the exported files belong together)."""
    path = os.path.join(ROOT, "scenarios", "validation", DATA_NODES)
    ids = set()
    for line in open(path):
        line = line.split("#")[0].strip()
        if line and not line.startswith("name,"):
            ids.add(int(line.split(",")[0]))
    if ids != set(range(6000)) - set(GT_POOL_IDS):
        sys.exit(f"{path} does not hold the 5,984 non-pool ids of GT's network; re-export it")
if GT_NET:
    check_gt_data()

def size_dist_table(interval_s):
    """A [system.block_bytes_dist] sub-table: GT's block-size table scaled to the interval."""
    bins = gbs.bins_bytes(interval_s)
    items = [f"[{lo:g}, {hi:g}, {w}]" for lo, hi, w in bins]
    lines = ["  " + ", ".join(items[i:i + 4]) + "," for i in range(0, len(items), 4)]
    return ("\n# GT m_blockSizeDistribution (bitcoin-miner.cc, BITCOIN): 200 bins of 5 kB, mean "
            f"{gbs.mean_kb():.1f} kB, drawn per block;\n# MineBlock: size × {interval_s:g} s / 600 s + 81 "
            "header bytes (scripts/gervais_blocksize.py).\n"
            "[system.block_bytes_dist]\ndist = \"piecewise\"\nbins_bytes = [\n" + "\n".join(lines) + "\n]\n")
# The header's model description: the old (region averages, fixed sizes, partial GT) text is
# kept verbatim for that configuration; the sourced one describes what it runs.
PARTIAL_TEXT = """# - Bandwidth: GT's region averages m_regionDownloadSpeeds / m_regionUploadSpeeds, Mbit/s:
#   download NA 41.68, EU 21.29, SA 9.89, AP 14.56, JP 6.9, AU 16; upload NA 6.74, EU 6.72,
#   SA 2.2, AP 6.53, JP 1.7, AU 6.1, every node of a region the same. NOTE: GT defines these
#   but does not use them for nodes: AssignInternetSpeeds draws each non-pool node's download,
#   then upload, from its region's measured testmy.net table (std::piecewise_constant_
#   distribution over downloadBandwitdhIntervals 0.1, 0.6, …, 500 Mbit/s and
#   uploadBandwitdhIntervals 0.1, 0.2, …, 100 Mbit/s with weights <Region>DownloadWeights /
#   <Region>UploadWeights, 2,000 samples each; transcribed in scripts/gervais_bandwidth.py).
#   Those tables have means (down / up) NA 24.70 / 4.63, EU 23.77 / 8.15, SA 6.59 / 1.79,
#   AP 10.12 / 5.38, JP 17.53 / 3.47, AU 14.03 / 5.20 Mbit/s and a heavy slow tail (e.g. 5 %
#   of EU uploads below 0.2 Mbit/s). ledgersim can draw them (bandwidth_dist /
#   download_bandwidth_dist; `python3 scripts/gen-gervais-2016.py bandwidth=dist …` writes
#   such files), but with them this model is far SLOWER than the paper, not faster (seed 2016,
#   node_mean p50 / p90 / mean: 10 min 26.4 / 58.5 / 124.9 s [paper 14.7 / 35.5 / 25.8];
#   2.5 min 7.12 / 15.0 / 14.3 s [4.18 / 9.12 / 6.83]; 1 min 3.21 / 6.17 / 4.53 s [2.08 /
#   3.76 / 3.02]; 10 s 1.19 / 1.73 / 1.33 s [1.00 / 1.38 / 1.09]; 1 s all four within 15 %).
#   So the paper's table cannot come from this relay model with those draws: something else
#   differs for slow peers (how GT's BitcoinNode schedules, overlaps or re-requests uploads
#   from slow senders is the first suspect; not yet traced). Until that is found, the checked-
#   in cases keep the region averages, and the gap of the mean over nodes is unexplained.
# - Relay (relay_timing = "gervais", BitcoinNode in that repository): INV → GETDATA → BLOCK; a
#   node starts its block uploads one after the other, each occupying its upload for
#   size / its upload rate (m_sendBlockTimes); the receiver takes one block download at a
#   time (m_receiveBlockTimes) and has the block size / min(its download, the sender's
#   upload) after the download started; then validates it in 0.174 s × size / 458,263 bytes
#   (BitcoinNode::ValidateBlock) = block_processing below, before relaying it.
# - Block size: 1 MB × interval / 10 min, as in the paper ("block size scaled with the
#   interval").
#
# DIFFERENCES left (each is stated, none is tuned):
# - Node bandwidths: the region averages instead of GT's per-node draws (see Bandwidth above).
# - GT fixes each link's latency once (drawn per link); here it is drawn per message (same
#   distribution). GT caps a node at its minimum + 1…6 connections (maxConnections); here
#   there is no cap (a node's degree can exceed its drawn count by the links others open to
#   it). GT draws each node's region at random with these shares; here the counts are the
#   shares × 5,984 rounded.
# - GT re-requests a block from another announcer after 2 block intervals, ledgersim after
#   60 s; other relay details (orphans, fork choice)
#   follow docs/protocols/pow.md."""

SOURCED_TEXT = """# - Bandwidth: GT's AssignInternetSpeeds draws each non-pool node's download, then upload,
#   from its region's measured testmy.net table (std::piecewise_constant_distribution over
#   downloadBandwitdhIntervals 0.1, 0.6, …, 500 Mbit/s and uploadBandwitdhIntervals 0.1, 0.2,
#   …, 100 Mbit/s with weights <Region>DownloadWeights / <Region>UploadWeights, 2,000 samples
#   each; transcribed in scripts/gervais_bandwidth.py); so does every node here
#   (bandwidth_dist / download_bandwidth_dist, drawn per node and replication). The tables'
#   means (down / up): NA 24.70 / 4.63, EU 23.77 / 8.15, SA 6.59 / 1.79, AP 10.12 / 5.38,
#   JP 17.53 / 3.47, AU 14.03 / 5.20 Mbit/s, with a heavy slow tail (e.g. 5 % of EU uploads
#   below 0.2 Mbit/s). (GT also defines region averages, m_regionDownloadSpeeds /
#   m_regionUploadSpeeds, but does not use them for nodes; `gen-gervais-2016.py` without
#   `sourced=1` writes cases with those instead.)
# - Relay (relay_timing = "gervais", BitcoinNode in that repository): INV → GETDATA → BLOCK; a
#   node starts its block uploads one after the other, each occupying its upload for
#   size / its upload rate (m_sendBlockTimes); the receiver takes one block download at a
#   time, queued when the BLOCK message arrives, in arrival order (m_receiveBlockTimes, in
#   the BLOCK handler), and has the block size / min(its download, the sender's upload)
#   after the download started (ReceivedBlockMessage: the block's timeReceived); then
#   validates it in 0.174 s × size / 458,263 bytes (BitcoinNode::ValidateBlock;
#   block_processing_per_kb) and relays it after validation (AfterBlockValidation →
#   AdvertiseNewBlock). INV and GETDATA each take the one-way delay plus their bytes at the
#   link's rate min(both ends' upload and download), a node's INVs to all its peers at once
#   (control_lane = "link": every GT peer link is its own ns-3 point-to-point channel).
# - Statistic: GT's per-node mean uses timeReceived, i.e. the arrival BEFORE validation
#   (propagation_at = "arrival").
# - Block size: GT's BitcoinMiner::MineBlock draws every block's size from its measured table
#   (m_blockSizeDistribution, 0–1,000 kB in 5 kB bins, mean 531.5 kB) × interval / 10 min
#   + 81 header bytes (block_bytes_dist; table in scripts/gervais_blocksize.py). The paper's
#   "1 MB at 10 minutes" is the cap of that table, not the size of every block.
# - Links: GT draws each link's latency once (the ns-3 channel delay of its point-to-point
#   link: network.latency_per = "link", one stream per link); each node accepts links up to
#   its minimum number of connections + 1…6 (by the minimum's bin), a pool up to 800
#   (degree_cap); candidates that are full leave the list (BitcoinTopologyHelper).
# - INV timeout: 2 × the block interval (scratch/bitcoin-test.cc, InvTimeoutMinutes; inv_timeout);
#   when it fires, the next peer that announced the block is asked (InvTimeoutExpired;
#   rerequest = "timer").
#
# RESULTS of this configuration (not tuned; node_mean p50 / p90 / mean [paper]). Checked: the
#   mean over 3 replications of seed 2016 at 10 min, 2.5 min and 1 min (docs/VALIDATION.md has
#   the current values with their CIs), one replication at 10 s and 1 s. Per seed (seeds 2016
#   and 1–10, one replication each; docs/protocols/pow.md, "Over networks"): 10 min median
#   12.2–15.2 s [14.7], p90 24.9–34.0 s [35.47], mean 15.4–25.7 s [25.83]; 2.5 min 3.61–4.30 /
#   6.50–8.68 / 4.25–6.69 s [4.18 / 9.12 / 6.83]; 1 min 1.88–2.13 / 3.07–3.72 / 2.13–3.00 s
#   [2.08 / 3.76 / 3.02]; expected stale rate 1.40–2.01 / 1.56–2.15 / 1.86–2.48 % [1.51 / 1.82 /
#   2.15 %]. Seed 2016 is the fastest of these 11 seeds on every propagation statistic. The
#   medians agree with the paper; the p90 and above all the mean over nodes are lower: the
#   paper's mean needs a heavy top decile of nodes (≈ 7–8 × its median) that only some of
#   these networks have (at 10 min seeds 5, 6, 10 give 25.3–25.7 s, the others 15–20 s).
#   Session 4 (seed 2016, one replication, before arrival-order downloads and timer
#   re-requests): what each GT option does (one left out at a time, 2.5 min mean over nodes /
#   counted stale rate of the 1-hour 10 s run): all 4.28 s / 2.66 %; without degree_cap
#   4.94 s / 5.71 %; without per-link latency 4.29 s / 2.66 %; without arrival recording
#   4.32 s / –; without the 2 × interval INV timeout 4.28 s / –; with none of them (fixed
#   validation time of the mean size) 4.75 s / 5.71 %. The degree caps matter most (a likely
#   reason, not verified: with ≤ 800 links a pool's upload queue is shorter, so the other pools
#   get its blocks sooner). The 10 s case was lengthened from 1 to 4 simulated hours after a
#   first run counted 2.66 % stale over 360 blocks (see that expectation's note).
#
# DIFFERENCES left (each is stated, none is tuned):
# - GT validates blocks concurrently (a scheduled event per block); here a node's one core
#   validates one block at a time (matters only when blocks arrive within a validation time).
# - GT adds a 90-byte message header (m_bitcoinMessageHeader) to the download of every BLOCK
#   message (< 1 ms per hop above 0.7 Mbit/s; not modelled, header_bytes = 0) and sends INV /
#   GET_HEADERS / GET_DATA as JSON text over ns-3 TCP (≈ 90–130 bytes on the wire with the
#   TCP/IP headers and the separate "#" delimiter); here INV and GETDATA are 36 bytes on the
#   same per-link lane (control_lane = "link"), without TCP.
# - GT picks the pools among all node ids at random and draws each node's region with these
#   shares; here the pools are the first 16 ids and the counts are the shares × 5,984 rounded.
#   More important: GT's network is ONE FIXED network, the same in every GT run
#   (BitcoinTopologyHelper calls srand(1000) and draws counts, regions and speeds from a
#   std::default_random_engine that is never seeded); ledgersim draws a new one per seed and
#   replication. In distribution the two generators agree (scripts/gervais_topology_study.py).
# - Other relay details (orphans, fork choice) follow docs/protocols/pow.md.
# - Why the tail over nodes is lighter than the paper's: NOT the topology (session 6,
#   docs/protocols/pow.md, "GT's topology vs ledgersim's"): GT's generator makes heavy-tail
#   networks (a slow hub asked first by many neighbours) about as often as ledgersim's (44 vs
#   35 of 100), GT's own network is a light one, and ledgersim run on GT's own network gives
#   the same gap in the mean over nodes (10 min / 2.5 min / 1 min: −19 / −22 / −18 %; the p90 is
#   within 15 % there). What remains is in the relay dynamics (candidates in pow.md, "What
#   distinguishes the paper's tail")."""


def topology_groups():
    """The [[topology.group]] tables: GT's own network (network=gt) or groups drawn per region."""
    if GT_NET:
        names = ", ".join(f'"{i}"' for i in GT_POOL_IDS)
        return f"""# The 16 pools first, named by their GT node ids (sorted; GT links the miners before the other
# nodes). BT bitcoinMinersRegions by rank of id: AP AP AP NA AP NA EU EU NA NA NA EU NA NA NA
# NA. GT: 100 Mbit/s up and down.
[[topology.group]]
role = "pool"
names = [{names}]
regions = ["AP", "AP", "AP", "NA", "AP", "NA", "EU", "EU", "NA", "NA", "NA", "EU", "NA", "NA", "NA", "NA"]
cores = 1
bandwidth = "100Mbps"
download_bandwidth = "100Mbps"

# The 5,984 other nodes of GT's network, in GT id order: each node's GT id, region and fixed
# upload / download speed, as GT's AssignRegion / AssignInternetSpeeds drew them
# (scenarios/validation/data/README.md).
[[topology.group]]
role = "node"
nodes_file = "{DATA_NODES}"
cores = 1
"""
    return OLD_TOPOLOGY.format(**{k: node_group(*v) for k, v in {
        "na": ("na", 2315, "NA"), "eu": ("eu", 3087, "EU"), "sa": ("sa", 68, "SA"),
        "ap": ("ap", 344, "AP"), "jp": ("jp", 71, "JP"), "au": ("au", 99, "AU")}.items()})

OLD_TOPOLOGY = """# The 16 pools first (GT links the miners before the other nodes). BT bitcoinMinersRegions:
# AP AP AP NA AP NA EU EU NA NA NA EU NA NA NA NA. GT: 100 Mbit/s up and down.
[[topology.group]]
role = "pool"
name_prefix = "pool"
count = 16
regions = ["AP", "AP", "AP", "NA", "AP", "NA", "EU", "EU", "NA", "NA", "NA", "EU", "NA", "NA", "NA", "NA"]
cores = 1
bandwidth = "100Mbps"
download_bandwidth = "100Mbps"

# 5,984 other nodes by GT's region shares 38.69 / 51.59 / 1.13 / 5.74 / 1.19 / 1.66 %:
# 2,315.2, 3,087.1, 67.6, 343.5, 71.2, 99.3 → largest remainders: 2,315 / 3,087 / 68 / 344 /
# 71 / 99. Bandwidth: see the header.
{na}
{eu}
{sa}
{ap}
{jp}
{au}"""

def peer_block():
    """How the peer graph is made: GT's own (network=gt) or drawn with GT's rules."""
    if GT_NET:
        return f"""# GT's network: its links (the pools linked with each other and ≈ 700 links each; every other
# node linked until it had its drawn minimum number of connections, under GT's degree caps),
# read from the peer graph instead of drawn (data/README.md).
peer_graph = "{DATA_GRAPH}\""""
    return f"""# GT: the pools are linked with each other and have 700 connections each; every other node
# connects until it has its drawn number of connections (CDF over 1…118 below).
miner_mesh = true
miner_peers = 700
peer_links = "total"
peers_cdf = [
{fmt_cdf()}
]"""

def gtnet_text():
    """SOURCED_TEXT for GT's own network (network=gt): the network is read, not drawn."""
    t = SOURCED_TEXT
    def sub(old, new):
        nonlocal t
        assert t.count(old) == 1, old[:60]
        t = t.replace(old, new)
    sub("""each; transcribed in scripts/gervais_bandwidth.py); so does every node here
#   (bandwidth_dist / download_bandwidth_dist, drawn per node and replication). The tables'""",
        """each; transcribed in scripts/gervais_bandwidth.py). Here every node has the speeds GT
#   drew for it (the node table data/gt-network-nodes.csv; fixed in every replication). The tables'""")
    sub("""# - Links: GT draws each link's latency once (the ns-3 channel delay of its point-to-point
#   link: network.latency_per = "link", one stream per link); each node accepts links up to
#   its minimum number of connections + 1…6 (by the minimum's bin), a pool up to 800
#   (degree_cap); candidates that are full leave the list (BitcoinTopologyHelper).""",
        """# - Links: GT's links, read from the peer graph data/gt-network.adj (38,644 links; GT linked
#   each node until it had its minimum number of connections, accepting links up to its
#   minimum + 1…6 by the minimum's bin and 800 for a pool, full candidates leaving the list:
#   BitcoinTopologyHelper). GT draws each link's latency once (the ns-3 channel delay of its
#   point-to-point link): network.latency_per = "link", one stream per link.""")
    i, j = t.index("# RESULTS of this configuration"), t.index("#   Session 4 (seed 2016, one replication, before")
    t = t[:i] + GTNET_RESULTS + t[j:]
    i, j = t.index("# - GT picks the pools among all node ids"), t.index("# - Other relay details")
    t = t[:i] + GTNET_NETWORK_DIFF + t[j:]
    i = t.index("# - Why the tail over nodes is lighter")
    return t[:i] + GTNET_TAIL

# The RESULTS paragraph on GT's network (numbers at the time of writing, session 7).
GTNET_RESULTS = """# RESULTS of this configuration (not tuned; node_mean p50 / p90 / mean [paper]). Checked: the
#   mean over 3 replications of seed 2016 at 10 min, 2.5 min and 1 min (docs/VALIDATION.md has
#   the current values with their CIs), one replication at 10 s and 1 s. Every replication runs
#   on GT's one network; replications differ only in the block sequence (which pool finds each
#   block, when, and its size) and in the per-link latency draws. At the time of writing
#   (session 7, control_lane = "link"): 10 min 14.92 / 35.73 / 23.87 s [14.7 / 35.47 / 25.83]
#   (+2 / +1 / −8 %); 2.5 min 4.26 / 9.03 / 6.22 s [4.18 / 9.12 / 6.83] (+2 / −1 / −9 %); 1 min
#   2.18 / 3.91 / 2.82 s [2.08 / 3.76 / 3.02] (+5 / +4 / −7 %); 10 s 1.03 / 1.43 / 1.12 s [1.00 /
#   1.38 / 1.09]; 1 s 0.84 / 0.98 / 0.84 s [0.82 / 0.97 / 0.84]; expected stale rate 1.67 / 1.82
#   / 2.12 / 5.19 / 27.7 % [1.51 / 1.82 / 2.15 / 4.77 / 26.74 %]; counted 5.11 % at 10 s and
#   27.3 % at 1 s: every check within 15 %. Before control_lane = "link" (INV / GETDATA through
#   the sender's egress FIFO, one after the other) the same runs gave 13.29 / 29.24 / 18.84 s at
#   10 min, 3.87 / 7.66 / 5.15 s at 2.5 min and 2.01 / 3.44 / 2.49 s at 1 min: the mean over
#   nodes 17–27 % and the p90 16–18 % low (docs/protocols/pow.md, "GT's relay code against
#   ledgersim's, line by line"). Before session 7 the cases drew a network per replication with
#   GT's rules (`network=drawn`; the mean over nodes close to bimodal over networks, a slow,
#   well-connected hub in ≈ 35 % of them); GT's own network is a light one.
"""
GTNET_NETWORK_DIFF = """# - The network is GT's own (data/README.md): its node ids (the names here; ledgersim numbers
#   the pools first, then the other nodes in GT id order), regions, speeds and links. GT draws
#   its ns-3 link latencies from ns-3's default seed, presumably the same in every run (not
#   ported); here each replication draws them anew from the same distribution. Between GT
#   runs only the blocks differ; the paper does not say how many runs its table averages.
"""
GTNET_TAIL = """# - Why the tail over nodes was lighter than the paper's until session 7: not the topology
#   (this is GT's own network; docs/protocols/pow.md, "GT's topology vs ledgersim's") but the
#   control messages: ledgersim queued a node's INVs through one egress FIFO, so slow,
#   well-connected nodes announced late and were asked less often; GT sends them on every link
#   at once (control_lane = "link"; pow.md, "GT's relay code against ledgersim's, line by line")."""

def model_text():
    """The header's network and relay description for this configuration."""
    if GT_NET:
        return gtnet_text()
    return SOURCED_TEXT if SOURCED_CASES else PARTIAL_TEXT

# GT BitcoinNode::ValidateBlock: 0.174 s per 458,263 bytes, i.e. per 1,000 bytes (ns, rounded).
VALIDATION_PER_KB_NS = round(0.174e9 / 458.263)
# GT BitcoinTopologyHelper: maxConnections = min + k for a min in [1,4) [4,8) [8,12) [12,16)
# [16,25) [25,119), k = 1…6 (connectionsDistributionIntervals); miners 700 … 800.
DEGREE_SLACK = [(1, 1), (4, 2), (8, 3), (12, 4), (16, 5), (25, 6), (119, 0)]
MINER_DEGREE_CAP = 800

LINK_LATENCY = ('\n# gt=full: GT draws it once per link (the ns-3 channel delay of each point-to-point link).\n'
                'latency_per = "link"')

# GT: every peer link is its own ns-3 point-to-point channel of rate min(both ends' upload and
# download) (BitcoinTopologyHelper constructor), and BitcoinNode writes INV, GET_HEADERS and
# GET_DATA straight to each peer's socket (AdvertiseNewBlock, SendMessage): no queue shared by a
# node's links. docs/protocols/pow.md, "GT's relay code against ledgersim's".
CONTROL_LANE = """# gt=full: GT sends INV / GETDATA on each peer's own point-to-point link (rate min(both ends'
# upload and download)), all at once: no queue shared across a node's links.
control_lane = "link"
"""

def gt_full_options(iv_s):
    """The [system] lines of gt=full (see the header's DIFFERENCES for what each models)."""
    slack = ", ".join(f"[{a}, {b}]" for a, b in DEGREE_SLACK)
    return f"""# gt=full: GT BitcoinNode::ValidateBlock takes 0.174 s x size / 458,263 bytes.
block_processing_per_kb = "{VALIDATION_PER_KB_NS}ns"
# GT's per-node statistic uses the block's timeReceived, set on arrival (ReceivedBlockMessage),
# before validation; relay (AdvertiseNewBlock) follows validation (AfterBlockValidation).
propagation_at = "arrival"
# GT scratch/bitcoin-test.cc: InvTimeoutMinutes = 2 x the block interval.
inv_timeout = "{2 * iv_s:g}s"
# GT BitcoinNode::InvTimeoutExpired: when a requested block has not arrived within inv_timeout,
# a timer asks the next peer that announced it.
rerequest = "timer"
{CONTROL_LANE}# GT BitcoinTopologyHelper: a node accepts links up to its minimum + 1…6 (by the minimum's bin),
# a miner up to 800 (m_maxConnectionsPerMiner); full candidates leave the candidate list.
degree_cap = {{ slack = [{slack}], miner = {MINER_DEGREE_CAP} }}
""" if not GT_NET else f"""# gt=full: GT BitcoinNode::ValidateBlock takes 0.174 s x size / 458,263 bytes.
block_processing_per_kb = "{VALIDATION_PER_KB_NS}ns"
# GT's per-node statistic uses the block's timeReceived, set on arrival (ReceivedBlockMessage),
# before validation; relay (AdvertiseNewBlock) follows validation (AfterBlockValidation).
propagation_at = "arrival"
# GT scratch/bitcoin-test.cc: InvTimeoutMinutes = 2 x the block interval.
inv_timeout = "{2 * iv_s:g}s"
# GT BitcoinNode::InvTimeoutExpired: when a requested block has not arrived within inv_timeout,
# a timer asks the next peer that announced the block.
rerequest = "timer"
{CONTROL_LANE}"""

# Gervais et al.'s min-connection distribution (BitcoinTopologyHelper): piecewise uniform on
# [1,4) [4,8) [8,12) [12,16) [16,25) [25,119), weights 10 40 30 13 6 1 %, truncated to int.
bins = [(1,4,10),(4,8,40),(8,12,30),(12,16,13),(16,25,6),(25,119,1)]
p = {}
for lo,hi,w in bins:
    for k in range(lo,hi):
        p[k] = w/100/(hi-lo)
cdf=[]; acc=0.0
for k in range(1,119):
    acc += p.get(k,0.0); cdf.append(acc)
cdf[-1]=1.0
def fmt_cdf():
    items=[f"{c:.6f}".rstrip('0').rstrip('.') if c<1 else "1.0" for c in cdf]
    lines=[]; 
    for i in range(0,len(items),10):
        lines.append("             "+", ".join(items[i:i+10])+",")
    s="\n".join(lines)
    return s.rstrip(",")
def rtt():
    names = glat.REGIONS
    out=[]
    out.append("  #  " + "".join(f"{n:>9}" for n in names))
    for i,r in enumerate(glat.REGION_LATENCY_MS):
        out.append("  [" + ", ".join(f"{2*x:7.2f}" for x in r) + f"], # {names[i]}")
    return "\n".join(out)

def stale_expect_note(name):
    if name == "10s" and SOURCED_CASES:
        return ('note = "4 simulated hours, ≈ 1,480 blocks: at 4.5 % the binomial standard error is ≈ 0.54 %-points (≈ 12 % of the '
                'rate), so a ±15 % verdict is only just decidable (≈ 3,500 blocks would make it firm). The first version of this case ran '
                '1 hour (360 blocks) and counted 2.66 %, ≈ 2.5 standard errors below the paper; the expected stale rate of that run was '
                '5.04 % ± 0.15, so the run was lengthened to 4 hours (same seed, nothing else changed), which counted 4.55 % against an '
                'expected 5.03 % ± 0.08 — the two agree within one standard error of the count. With arrival-order downloads and timer '
                're-requests (session 5) it counts 4.38 % against an expected 5.08 % ± 0.09 (1.3 standard errors of the count apart)'
                + ('; on GT\'s own network (session 7) 4.83 % against an expected 4.94 % ± 0.08, and with INV / GETDATA '
                   'on per-link lanes (control_lane = \\"link\\") 5.11 % against an expected 5.19 %' if GT_NET else '') +
                '. Not tuned. GT\'s degree caps '
                '(degree_cap: pools ≤ 800 links, nodes ≤ their minimum + 1…6) matter most here: without them the 1-hour run gave 5.71 %."\n')
    if name == "10s":
        return ('note = "360 blocks: binomial standard error ≈ 1.3 %-points (≈ 27 % of the paper\'s rate), too wide for a ±15 % verdict, '
                'which needs ≈ 3,500 blocks (10 simulated hours; ≈ 15–30 min of wall time here). A 3-hour run (1,080 blocks, same seed) '
                'gave 6.33 % ± 1.45 %-points (95 %): above the paper by ≈ 2 standard errors, so the excess is probably real. Candidate '
                'causes, not verified: the paper fixes each link\'s latency once (here every message draws its own, so some pool-to-pool '
                'messages are slow), and it caps node degrees (here none), both of which change how fast the other pools hear of a block. '
                'Checked since: the pools\' serialized block uploads (≈ 715 peers each, served in GETDATA arrival order) dominate; with 50 '
                'instead of 700 pool connections the expected stale rate of this case is 4.62 % (see that expectation\'s note)."\n')
    return ('note = "600 blocks: binomial standard error ≈ 1.8 %-points (≈ 7 % of the rate)."\n')

def stale_note(name, stale):
    p = stale / 100
    n = p * (1 - p) / (0.075 * p) ** 2
    iv_min = {"10min": 10, "2.5min": 2.5, "1min": 1}[name]
    hours = n * iv_min / 60
    return f"""
# The COUNTED stale rate ({stale} % in the paper) is not checked at this interval. A ±15 %
# verdict needs the binomial standard error of the rate at about 7.5 % of it (the 95 %
# interval inside ±15 %): n = (1 − p) / (0.075² p) ≈ {n:,.0f} blocks for p = {stale} %, i.e.
# {hours:,.0f} simulated hours of 6,000 nodes — at the ≈0.1–0.3 s of wall time per block these
# runs take, {n*0.1/60:,.0f}–{n*0.3/60:,.0f} minutes, beyond a validation run ("a few minutes").
# The EXPECTED stale rate below (stale_rate_expected) is checked instead.
"""

# Simulated expected stale rate (stale_rate_expected, seed 2016) when the notes below were
# written — for the notes' wording only; docs/VALIDATION.md has the current numbers.
EXPECTED_AT_WRITING = {"10min": 2.99, "2.5min": 3.11, "1min": 3.41, "10s": 6.02, "1s": 28.49}
# The same for the sourced configuration (sourced=1: GT's tables, degree caps, per-link latency...;
# session 5: arrival-order downloads, timer re-requests, mean of 3 replications at >= 1 min).
EXPECTED_AT_WRITING_SOURCED = {"10min": 1.60, "2.5min": 1.75, "1min": 2.08, "10s": 5.08, "1s": 28.04}
# The same on GT's own network (network=gt, session 7).
EXPECTED_AT_WRITING_GTNET = {"10min": 1.67, "2.5min": 1.82, "1min": 2.12, "10s": 5.19, "1s": 27.68}

bytes_of = {r[0]: r[3] for r in rows}

# Replications per row (sourced=1). The propagation statistics over nodes vary with the blocks
# and link latencies (network=gt: GT's one network in every replication) or also with the drawn
# topology and bandwidths (network=drawn: one network per replication); the checked value is
# their mean over the replications, reported with its 95 % CI. K is set by the runtime budget (`ledgersim
# validate --threads 2` within ≈ 5 min on a 2-core machine), not by the verdicts; the 10 s and
# 1 s rows, which run longer and vary little between networks, keep one replication.
REPLICATIONS = {"10min": 3, "2.5min": 3, "1min": 3}

def replications_of(name):
    return REPLICATIONS.get(name, 1) if SOURCED_CASES else 1

def expected_stale_expect(name, lab, iv_s, stale):
    """The [[expect]] on the expected stale rate (the Rao–Blackwell estimator), every row."""
    import math
    window_paper = -iv_s * math.log(1 - stale / 100)
    sim = EXPECTED_AT_WRITING[name]
    window_sim = -iv_s * math.log(1 - sim / 100)
    common = (f"Estimated from the run's propagation, not counted: the mean over blocks of 1 − exp(−Σ_j s_j·(a_j − t0)/T), "
              f"a_j when pool j adopts the block or a rival of its height (docs/protocols/pow.md, Expected stale rate); "
              f"the CI is over blocks (which pool found each block and how it travelled), not over topologies. ")
    if SOURCED_CASES:
        sim = (EXPECTED_AT_WRITING_GTNET if GT_NET else EXPECTED_AT_WRITING_SOURCED)[name]
        window_sim = -iv_s * math.log(1 - sim / 100)
        if name == "1s":
            reason = (f"At the time of writing {sim} %; at this rate (≈ 27 %) the estimator's first-order approximations "
                      f"(one stale block per race, windows from the realized run) are not guaranteed, but it agreed with the "
                      f"counted rate up to ≈ 35 % on small networks (tests/it/pow_stale_estimate.rs, ignored test).")
        else:
            reason = (f"At the time of writing {sim} %, i.e. the other pools race a block for ≈ {window_sim:.2f} s (share-weighted, "
                      f"−T·ln(1 − rate)) where the paper's {stale} % implies ≈ {window_paper:.2f} s. With GT's own inputs the pools "
                      f"keep at most 800 links ({'GT built its graph so' if GT_NET else 'degree_cap'}), so the finding pool's serialized uploads reach the other pools sooner; "
                      f"the older configuration (no caps, ≈ 715 links per pool, region-average bandwidths) gave +60 to +100 % at "
                      f"≥ 1 min, because the other pools' GETDATAs queued behind nearer ordinary nodes'. Not tuned.")
    elif name in ("10min", "2.5min", "1min"):
        reason = (f"At the time of writing {sim} %, i.e. the other pools race a block for ≈ {window_sim:.2f} s (share-weighted, "
                  f"−T·ln(1 − rate)) where the paper's {stale} % implies ≈ {window_paper:.2f} s: in this model the pools hear of "
                  f"each other's blocks late. Cause: the finding pool's block uploads are serialized over its ≈ 715 connections "
                  f"({bytes_of[name]*8/100e6:.3f} s each at 100 Mbit/s), and the other pools' GETDATAs, over longer links, queue "
                  f"behind those of nearer ordinary nodes (served in arrival order). Checked at 10 min (seed 2016): with 50 instead "
                  f"of 700 pool connections the estimate falls to 0.33 %, with 1 Gbit/s pool uploads to 0.37 % — both now far "
                  f"BELOW the paper, so the paper's simulator serves the other pools sooner than arrival order would but not at "
                  f"once (how is not traced). Expected to fail (≈ +60 to +100 %), far outside the CI.")
    elif name == "10s":
        reason = (f"At the time of writing {sim} % (≈ {window_sim:.2f} s of racing vs ≈ {window_paper:.2f} s implied by the paper); "
                  f"the counted rate of this run agrees within its binomial error, so both say the excess over the paper is real. "
                  f"Main cause, as at ≥ 1 min: the finding pool uploads the block to its ≈ 715 peers one after another in GETDATA "
                  f"arrival order, the other pools' behind nearer ordinary nodes' — with 50 instead of 700 pool connections "
                  f"(seed 2016) the estimate is 4.62 % ± 0.14, within 15 % of the paper. Expected to fail (≈ +26 %).")
    else:
        reason = (f"At the time of writing {sim} %; at this rate (≈ 27 %) the estimator's first-order approximations "
                  f"(one stale block per race, windows from the realized run) are not guaranteed, but the counted rate of this run "
                  f"(684 blocks, 28.4 %) agrees with it, as it did on small networks up to ≈ 35 % "
                  f"(tests/it/pow_stale_estimate.rs, ignored test).")
    return f'''
[[expect]]
metric = "bitcoin.stale_rate_expected"
label = "expected stale rate (estimated from propagation), {lab} blocks"
value = {stale/100:.4f}
tolerance = "15%"
source = "Gervais et al. CCS'16, Table (standard relay, {lab}): {stale} %"
note = "{common}{reason}"
'''

for name, lab, iv, bb, _, mean, med, p90, stale in rows:
    dur = durations[name]
    iv_s = parse_dur(iv)
    if SIZE_DIST:
        # GT validates each block in 0.174 s × its size / 458,263 B; without gt=full
        # ledgersim's block_processing is one value: that of the table's mean scaled size.
        bb = round(gbs.mean_kb() * 1000 * iv_s / 600 + gbs.HEADERS_BYTES)
    proc_s = 0.174*bb/458263
    proc = f"{proc_s*1000:.4f}".rstrip('0').rstrip('.')+"ms"
    gt_opts = ""
    if GT_FULL:
        proc = "0"
        gt_opts = "\n" + gt_full_options(iv_s).rstrip("\n")
    nblocks = {"10m":600,"2m30s":150,"1m":60,"10s":10,"1s":1}[iv]
    stale_block = ""
    check_stale = name in ("10s","1s") or name in durations.get("stale","").split(",")
    text = f'''# =====================================================================================
# pow-gervais-2016-{name} — Gervais et al., "On the Security and Performance of Proof of Work
# Blockchains", CCS 2016, Table (standard relay, {lab} block interval): block propagation
# (median and 90th percentile over nodes, and the mean) and the stale-block rate, within 15 %.
#
# The paper's simulator results (reference/validation.md), standard relay, block size scaled
# with the interval (1 MB at 10 minutes):
#   interval  mean     median  p90      stale
#   10 min    25.83 s  14.7 s  35.47 s  1.51 %
#   2.5 min   6.83 s   4.18 s  9.12 s   1.82 %
#   1 min     3.02 s   2.08 s  3.76 s   2.15 %
#   10 s      1.09 s   1.00 s  1.38 s   4.77 %
#   1 s       0.84 s   0.82 s  0.97 s   26.74 %
#
# THE STATISTIC. The paper's simulator (github.com/arthurgervais/Bitcoin-Simulator,
# scratch/bitcoin-test.cc, PrintTotalStats) keeps for every node the mean, over the blocks
# it received, of (time it had the block − time the block was mined), and prints the mean,
# the median (element size/2) and the 90th percentile (element ⌊0.9·size⌋) of these
# per-node means. ledgersim computes exactly that statistic as
# bitcoin.block_propagation_ms.node_mean_p50 / node_mean_p90 / node_mean_mean (the usual
# per-block statistic, p50_of_median / p90, is reported too but not checked here).
#
# THE NETWORK: Gervais et al.'s simulator, parameter by parameter (file
# src/applications/helper/bitcoin-topology-helper.cc of that repository, "GT" below, and
# scratch/bitcoin-test.cc, "BT"):
# - 6 regions, 6,000 nodes (the paper's setup), 16 of them mining pools.
# - Pools: BT bitcoinMinersHash (hash shares, the 2016 pool distribution) and
#   bitcoinMinersRegions; GT: the pools are "interconnected" (every pair linked:
#   miner_mesh), each has 700 (m_minConnectionsPerMiner) connections, and 100 Mbit/s up and
#   down (m_minerDownloadSpeed / m_minerUploadSpeed). This is why the paper's stale rates are
#   below 1 − e^(−d/T) with d the median propagation: a race depends on how fast the other
#   POOLS hear of a block, and they are one hop apart on fast links (at 10 s: 1 − e^(−1.0/10)
#   = 9.5 % with the median d = 1.0 s, against the paper's 4.77 %, i.e. an effective d of
#   ≈ 0.49 s; the largest pool, 28.9 %, never races itself either).
# - Other nodes: region shares 38.69 / 51.59 / 1.13 / 5.74 / 1.19 / 1.66 % (GT
#   nodesDistributionWeights, BITCOIN; the same as SimBlock's REGION_DISTRIBUTION_BITCOIN_2015);
#   connections: GT draws each node's minimum number of connections from a piecewise uniform
#   distribution on [1,4) [4,8) [8,12) [12,16) [16,25) [25,119) with weights 10 / 40 / 30 / 13
#   / 6 / 1 %, truncated to an integer, and links the node to random peers until it has that
#   many connections (peer_links = "total"; the CDF below is that distribution over 1…118).
# - Latency: GT regionLatencies (one-way, ms; SimBlock's LATENCY_2015 is the same table
#   rounded), each link's latency Pareto with shape = mean / 5 and scale = mean − 5 ms, i.e.
#   ledgersim's Pareto jitter with shape_per_ms = 0.2, shift = 5 ms (the same distribution as
#   SimBlock's).
{model_text()}
#
# Generated by scripts/gen-gervais-2016.py (edit the script, not this file).
# This file is the {lab} row: {bb:,}-byte{' (mean)' if SIZE_DIST else ''} blocks every {lab}, ≈{int(parse_dur(dur)/nblocks):,} blocks
# (duration {dur}).
# =====================================================================================

name = "validation-pow-gervais-2016-{name}"
description = "Gervais et al. CCS'16 simulator network (2015/16 Bitcoin: 6 regions, 6,000 nodes, 16 well-connected pools with the 2016 hash distribution, standard relay) at a {lab} block interval with {bb:,}-byte{' (mean)' if SIZE_DIST else ''} blocks: block propagation (median, p90 and mean over nodes of each node's mean) and stale rate against the paper, within 15 %."
seed = 2016
duration = "{dur}"
warmup = "0"
replications = {replications_of(name)}
timeseries_window = "10m"

[topology]
# GT REGION_LIST order: North America, Europe, South America, Asia-Pacific, Japan, Australia.
regions = ["NA", "EU", "SA", "AP", "JP", "AU"]

{topology_groups()}
[network]
# GT regionLatencies (one-way mean, ms) × 2: ledgersim takes round trips. The diagonal is each
# region's own delay (rtt_matrix_diagonal = true).
intra_region_rtt = "71ms"   # unused: the matrix diagonal applies
rtt_matrix_ms = [
{rtt()}
]
rtt_matrix_diagonal = true
# GT: latency ~ Pareto(shape = mean / 5, scale = mean × (shape − 1) / shape = mean − 5 ms).
jitter = {{ dist = "pareto", shape_per_ms = 0.2, shift = "5ms" }}{LINK_LATENCY if GT_FULL else ""}
loss = 0.0
# GT counts the block size only.
header_bytes = 0

# GT models no CPU cost but block validation (system.block_processing below).
[cpu]
sign = "0"
verify = "0"
hash_per_kb = "0"
execute_tx = "0"
db_commit = "0"

[workload]
# Blocks have a fixed size (block_bytes); a flow is required: a negligible one.
[[workload.flow]]
name = "negligible"
from = "node"
to = "node"
arrival = {{ process = "poisson", rate = 0.0002 }}
size_bytes = 250
amount = {{ dist = "constant", value = 1.0 }}

[[system]]
name = "bitcoin"
consensus = "pow"
baseline = true
settlement = "on-ledger"
# Only the 16 pools mine.
validators = {{ roles = ["pool"] }}
# The block interval of this row of the paper's table.
block_interval = "{iv}"
# Bitcoin's customary six confirmations (finality only; not a parameter of the paper).
confirmations = 6
# BT bitcoinMinersHash (in the pools' order above; normalized by their sum, 1.001).
hash_power = {{ dist = "shares", values = [0.289, 0.196, 0.159, 0.133, 0.066, 0.054, 0.029, 0.016,
                                          0.012, 0.012, 0.012, 0.009, 0.005, 0.005, 0.002, 0.002] }}
{peer_block()}
{"# Block size: drawn per block (block_bytes_dist, at the end of this table)." if SIZE_DIST else f"""# 1 MB × interval / 10 min (the paper scales the block size with the interval).
block_bytes = {bb}"""}
# Standard relay (the paper's rows): no compact blocks.
compact_block_share = 0.0
# BitcoinNode: upload pacing, transfer at the receiver, one download at a time (see header).
relay_timing = "gervais"
# BitcoinNode::ValidateBlock: 0.174 s × {bb:,} / 458,263 bytes{" (the mean drawn size)" if SIZE_DIST else ""}{"; per block size below" if GT_FULL else ""}.
block_processing = "{proc}"{gt_opts}
# Energy: not checked here (illustrative order of magnitude, as in the SimBlock scenario).
hash_rate = 6.0e19
joules_per_hash = 5.0e-11
{size_dist_table(iv_s) if SIZE_DIST else ""}'''
    mean_note = ("Every node of a region has the region's average bandwidth here; the paper's simulator draws each node's upload and "
                 "download from the region's measured distribution. Drawing them here too (bandwidth_dist) does not close the gap: it "
                 "makes every statistic far slower than the paper (10 min: mean 125 s, median 26 s), so the paper's lower median and "
                 "higher mean must come from another difference in how slow peers relay (not yet traced; see the header). "
                 "Expected to fail at 1 MB, 250 kB and 100 kB blocks.")
    p50_note = p90_note = None
    if SOURCED_CASES:
        mean_note = (
            "Checked: the mean over 3 replications (seed 2016), each its own network. LOWER than the paper at 10 min, "
            "2.5 min and 1 min (−26 / −26 / −20 %); within 15 % at 10 s and 1 s. Not tuned. Over 11 seeds (2016 and 1–10, "
            "one replication each) it ranges 15.4–25.7 s at 10 min, 4.25–6.69 s at 2.5 min, 2.13–3.00 s at 1 min, close to "
            "bimodal: networks with a slow region (≈ 2 % of nodes above 10 × the median, behind slow relays, not slow "
            "themselves) reach the paper's value (10 min seeds 5, 6, 10: 25.3–25.7 s), the others are 20–40 % below. The "
            "paper's mean needs a top decile of nodes at ≈ 7–8 × its median (seed 2016 here: 3.0 × at 2.5 min, 3.7 × at 10 min); what gives the "
            "paper that tail is not the topology (session 6): GT builds one fixed network, a light one, and ledgersim run "
            "on it gives the same gap (10 min / 2.5 min / 1 min: 21.0 / 5.31 / 2.48 s, −19 / −22 / −18 %). What remains are "
            "relay details ledgersim does not model, not traced (docs/protocols/pow.md, What distinguishes the paper's "
            "tail). The check is kept as it is (not widened to the spread over random "
            "networks, which would pass through heavy networks GT's network is not; pow.md, How the Gervais tail checks "
            "should be judged). Expected to fail at 10 min, 2.5 min and 1 min.")
        p90_note = (
            "Checked: the mean over 3 replications (seed 2016). Below the paper at 10 min (−21 %) and 2.5 min (−20 %); "
            "within 15 % at 1 min (−10 %), 10 s and 1 s. Not tuned. Over 11 seeds (one replication each): 10 min "
            "24.9–34.0 s (6 of 11 within 15 %), 2.5 min 6.50–8.68 s (7 of 11), 1 min 3.07–3.72 s (9 of 11). The whole "
            "distribution over nodes is 5–20 % faster than GT's published quantiles (p10–p75) and its top decile "
            "lighter (see the mean's note). On GT's own network (session 6; one fixed network in GT) it is within 15 %: "
            "30.6 / 7.81 / 3.44 s at 10 min / 2.5 min / 1 min (−14 / −14 / −9 %), so the p90 gap is mostly seed 2016's fast networks. "
            "Expected to fail at 10 min and 2.5 min.")
        p50_note = ("Checked: the mean over 3 replications (seed 2016); within 15 % at every interval. Over 11 seeds "
                    "(one replication each) the 10 min median is 12.2–15.2 s; seed 2016 alone (12.2 s, −17 %) would "
                    "fail there. Expected to pass.")
    if GT_NET:
        mean_note = (
            "Checked: the mean over 3 replications (seed 2016) on GT's own network (the replications differ only in the "
            "blocks and the link latencies). At the time of writing 23.9 / 6.22 / 2.82 s at 10 min / 2.5 min / 1 min (−8 / "
            "−9 / −7 %), within 15 % at every interval. Until session 7 it was 17–27 % low (18.8 / 5.15 / 2.49 s): ledgersim "
            "sent a node's INVs and GETDATAs one after the other through its egress FIFO, GT on every peer link at once "
            "(control_lane = \\\"link\\\"); slow, well-connected nodes then announced late and were asked less often, which made "
            "the body over nodes 6–14 % and the top decile much too fast (docs/protocols/pow.md, GT's relay code against "
            "ledgersim's, line by line). Not tuned: the control messages stay 36 bytes (GT's JSON over TCP is ≈ 90–130 "
            "bytes on the wire; with 96 more bytes per message the 2.5 min mean is 5.94 s, −13 %). Expected to pass.")
        p90_note = (
            "Checked: the mean over 3 replications (seed 2016) on GT's own network. At the time of writing 35.7 / 9.03 / "
            "3.91 s at 10 min / 2.5 min / 1 min (+1 / −1 / +4 %); before control_lane = \\\"link\\\" (session 7) 29.2 / 7.66 / "
            "3.44 s (−18 / −16 / −9 %; see the mean's note). Neither the tolerance nor the seed was changed. Expected to pass.")
        p50_note = ("Checked: the mean over 3 replications (seed 2016) on GT's own network; within 15 % at every interval "
                    "(at the time of writing +2 / +2 / +5 % at 10 min / 2.5 min / 1 min; before control_lane = \\\"link\\\" "
                    "−10 / −7 / −3 %). Expected to pass.")
    for metric, label, val, note in [
        ("node_mean_p50", "median over nodes", med, p50_note),
        ("node_mean_p90", "p90 over nodes", p90, p90_note),
        ("node_mean_mean", "mean over nodes", mean, mean_note),
    ]:
        text += f'''
[[expect]]
metric = "bitcoin.block_propagation_ms.{metric}"
label = "propagation, {label}, {lab} blocks"
value = {val*1000:.1f}
tolerance = "15%"
source = "Gervais et al. CCS'16, Table (standard relay, {lab}): {label} {val} s"
'''
        if note:
            text += f'note = "{note}"\n'
    text += "__STALE__\n"
    counted = f'''
[[expect]]
metric = "bitcoin.stale_rate"
label = "stale rate, {lab} blocks"
value = {stale/100:.4f}
tolerance = "15%"
source = "Gervais et al. CCS'16, Table (standard relay, {lab}): {stale} %"
{stale_expect_note(name)}''' if check_stale else stale_note(name, stale)
    if GT_NET:
        # The shared header describes GT's rules; on GT's network its graph is one draw of them.
        for a, b in [("(every pair linked:\n#   miner_mesh), each has 700", "(every pair linked),\n#   each has 700"),
                     ('many connections (peer_links = "total"; the CDF below is that distribution over 1…118).',
                      "many connections (GT's network below is its own draw of these rules: data/README.md).")]:
            assert text.count(a) == 1, a
            text = text.replace(a, b)
    open(os.path.join(OUT_DIR, f"pow-gervais-2016-{name}.toml"),"w").write(
        text.replace("__STALE__", counted + expected_stale_expect(name, lab, iv_s, stale)))
