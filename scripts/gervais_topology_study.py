#!/usr/bin/env python3
"""GT's topology vs ledgersim's: do the networks of Gervais et al.'s simulator ("GT",
github.com/arthurgervais/Bitcoin-Simulator) contain the slow, well-connected, early hub that
gives the heavy tail of the paper's mean over nodes more often than ledgersim's networks?
(docs/protocols/pow.md, "The slow nodes, traced node by node" and "GT's topology vs
ledgersim's (session 6)").

Usage:
    python3 scripts/gervais_topology_study.py [--networks 100] [--latency-draws 3]
    python3 scripts/gervais_topology_study.py --check-cxx   # the RNG ports against g++/glibc
    python3 scripts/gervais_topology_study.py --graphs FILE # the load proxy of ledgersim's own
        # networks, dumped by `GERVAIS_GRAPH_SEEDS=2016,1,2 cargo test --release --test it
        # gervais_peer_graph_dump -- --ignored` (default file /tmp/gervais-graphs.txt)
    python3 scripts/gervais_topology_study.py --export-gt [DIR]
        # GT's own network as ledgersim data files (default DIR scenarios/validation/data):
        # gt-network-nodes.csv (node table: GT id, region, fixed speeds of the 5,984 non-pool
        # nodes) and gt-network.adj (peer graph), read by the Gervais cases through
        # `nodes_file` and `peer_graph` (scripts/gen-gervais-2016.py)

What it draws (every generator with the Gervais cases' parameters: 6,000 nodes, 16 pools):

(a) GT, a port of BitcoinTopologyHelper's constructor (src/applications/helper/
    bitcoin-topology-helper.cc, the two stored versions e08b1e6 and 6d5e76b agree) line by
    line, with GT's own random number generators:
    - `srand (1000);` in that constructor, then glibc rand() (TYPE_3 additive feedback) for
      the pool ids (`index = rand() % nodes.size()`, 16 times, erased from the list, then
      sorted) and for every link candidate (`rand() % nodes.size()`);
    - `std::default_random_engine m_generator;` (bitcoin-topology-helper.h), a member that is
      never seeded: libstdc++'s minstd_rand0 with its default seed 1, read through
      std::piecewise_constant_distribution (generate_canonical<double, 53>: two engine calls
      per draw) for every non-pool node's minimum connection count (first loop, in id
      order), then, node by node in id order (the node-creation loop: AssignRegion,
      AssignInternetSpeeds), its region (nodesDistributionWeights, BITCOIN), its download,
      then its upload (the per-region testmy.net tables, scripts/gervais_bandwidth.py);
    - pools: interconnected; minimum 700 / maximum 800 connections (m_minConnectionsPerMiner,
      m_maxConnectionsPerMiner); 100 Mbit/s up and down (m_minerUploadSpeed); region and
      hash share by rank of the sorted pool id (scratch/bitcoin-test.cc: bitcoinMinersRegions,
      bitcoinMinersHash; BitcoinTopologyHelper::AssignRegion: m_minersRegions[index]);
    - caps: maximum = minimum + k, k = 1…6 by the minimum's bin {1, 4, 8, 12, 16, 25, 119}
      (connectionsDistributionIntervals {1, 5, 10, 15, 20, 30, 125} minus i);
    - links: "First the miners" loop, then "Then the rest of nodes" in id order: while a
      node has fewer links than its minimum and fewer than 10 × minimum tries, pick
      nodes[rand() % size]; skip itself, a neighbour, or a full candidate; else link, and
      erase the candidate from the list when it reaches its maximum.
    Because both generators are seeded with constants, GT builds THE SAME network in every
    run (given glibc and libstdc++; the mining is seeded from std::random_device in
    BitcoinMiner's constructor, so only the blocks differ between runs). "GT's network"
    below is that one network (srand 1000, engine seed 1). To see GT's generator as a
    distribution, the study also re-seeds it: srand(k), engine seed k, k = 2, 3, ….

(b) ledgersim, a port of `peer_graph_with` / `capped_links` / `deploy` (src/consensus/pow.rs)
    with the cases' inputs (scenarios/validation/pow-gervais-2016-*.toml): pools are ids
    0–15 (regions and shares in the files' order), then the regions in blocks of fixed
    counts (2,315 NA, 3,087 EU, 68 SA, 344 AP, 71 JP, 99 AU); miner_mesh; miner_peers = 700
    with cap 800; counts from peers_cdf (the same distribution as GT's); the same capped
    linking in id order; uploads then downloads from the same tables. Python's random
    replaces ledgersim's ChaCha streams, so the port matches ledgersim in distribution, not
    draw for draw: tests/it/pow_gervais_topology.rs prints the same summary from ledgersim's
    real graphs (20 replications of seed 2016) for comparison.

What it measures per network (non-pool nodes):
- degree histogram; pool-neighbour counts; hubs (≥ 50 links), slow hubs (≤ 0.3 Mbit/s up),
  slow early hubs (≥ 2 pool neighbours): the traced definition;
- a load proxy of the traced mechanism: one block from each pool p (weight = its hash
  share) propagated alone through GT's relay rules (INV after validation, GETDATA to the
  first announcer only, the announcer's uploads one after the other in GETDATA arrival
  order, transfer at min(sender's up, receiver's down); the 2.5 min case's mean block and
  validation time; no queue left by earlier blocks), counting the GETDATAs each node
  receives. A node X asked by a_X neighbours per block on average must upload
  a_X × (mean block bits) per block interval; its load is
      rho_X = a_X × 531.5 kB × 8 / 600 s / up_X      (independent of the interval: the
  block size scales with it). rho ≥ 1: X's upload queue grows without bound, i.e. passes
  the INV timeout (2 × interval) and the neighbours that asked it wait for the timer.
  Link latencies: GT's Pareto (shape = mean / 5, scale = mean − 5 ms), drawn here with
  Python's random (GT draws them with ns-3's ParetoRandomVariable, not ported), several
  draws per network (--latency-draws).
"""
import argparse
import bisect
import heapq
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gervais_bandwidth as gbw  # noqa: E402  (GT's per-region bandwidth tables)
import gervais_latency as glat  # noqa: E402  (GT's region latency table)

REGIONS = ["NA", "EU", "SA", "AP", "JP", "AU"]  # GT's BitcoinRegion enum order (bitcoin.h)
N_NODES = 6000
N_POOLS = 16
# scratch/bitcoin-test.cc: bitcoinMinersHash and bitcoinMinersRegions (by rank of pool id).
POOL_SHARES = [0.289, 0.196, 0.159, 0.133, 0.066, 0.054, 0.029, 0.016,
               0.012, 0.012, 0.012, 0.009, 0.005, 0.005, 0.002, 0.002]
POOL_REGIONS = [3, 3, 3, 0, 3, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]
POOL_MIN, POOL_MAX, POOL_MBPS = 700, 800, 100.0
# BitcoinTopologyHelper: connectionsDistributionIntervals {1,5,10,15,20,30,125} − i.
CONN_EDGES = [1.0, 4.0, 8.0, 12.0, 16.0, 25.0, 119.0]
CONN_WEIGHTS = [10.0, 40.0, 30.0, 13.0, 6.0, 1.0]
# nodesDistributionWeights, BITCOIN, over the intervals NORTH_AMERICA … OTHER (0 … 6).
REGION_WEIGHTS = [38.69, 51.59, 1.13, 5.74, 1.19, 1.66]
# BitcoinTopologyHelper regionLatencies (one-way mean, ms).
LATENCY_MS = glat.REGION_LATENCY_MS
# ledgersim's groups (scenarios/validation/pow-gervais-2016-*.toml), after the 16 pools.
LEDGERSIM_COUNTS = [2315, 3087, 68, 344, 71, 99]
# The load proxy: GT's mean block (scripts/gervais_blocksize.py, 531.5 kB at 10 min) per
# 600 s, in bit/s per neighbour that asks; the 2.5 min case's mean block and validation
# (BitcoinNode::ValidateBlock, 0.174 s × size / 458,263 B) for the arrival estimate.
ASK_BPS = 531.5e3 * 8 / 600
PROXY_BLOCK_BYTES = 132945
PROXY_VALIDATION_S = 0.174 * PROXY_BLOCK_BYTES / 458263
# The traced hub (docs/protocols/pow.md): ≥ 50 links, ≤ 0.3 Mbit/s up, ≥ 2 pool neighbours.
HUB_LINKS, SLOW_MBPS, EARLY_POOLS = 50, 0.3, 2
# The proxy's threshold between the two modes, from ledgersim's own networks (seeds 2016 and
# 1–11 at 2.5 min, --graphs): the four heavy seeds 5, 6, 10, 11 have a max rho of 0.93–1.86,
# the eight others 0.29–0.74.
HEAVY_RHO = 0.8
M31 = 2147483647


# --- GT's random number generators, ported ---------------------------------------------

class GlibcRand:
    """glibc's rand() after srand(seed): the TYPE_3 additive feedback generator (31 words,
    separation 3), state initialized by 16807 × word mod 2^31 − 1 (Schrage), 310 outputs
    discarded; each output is (state[f] += state[r]) >> 1 (mod 2^32)."""

    def __init__(self, seed):
        seed &= 0xFFFFFFFF
        if seed == 0:
            seed = 1
        state = [seed]
        word = seed if seed < 2**31 else seed - 2**32
        for _ in range(1, 31):
            hi, lo = int(word / 127773), word - int(word / 127773) * 127773  # C division
            word = 16807 * lo - 2836 * hi
            if word < 0:
                word += M31
            state.append(word & 0xFFFFFFFF)
        self.s, self.f, self.r = state, 3, 0
        for _ in range(310):
            self()

    def __call__(self):
        s = self.s
        v = (s[self.f] + s[self.r]) & 0xFFFFFFFF
        s[self.f] = v
        self.f = (self.f + 1) % 31
        self.r = (self.r + 1) % 31
        return v >> 1


class MinstdRand0:
    """libstdc++ std::minstd_rand0 (= std::default_random_engine): x ← 16807 x mod 2^31 − 1,
    default seed 1."""

    def __init__(self, seed=1):
        self.x = seed % M31 or 1

    def __call__(self):
        self.x = self.x * 16807 % M31
        return self.x


_R = 2147483646.0  # max − min + 1 of minstd_rand0
_R2 = float(2147483646 * 2147483646)  # the long double product, rounded to double


def canonical(engine):
    """libstdc++ generate_canonical<double, 53>(minstd_rand0): k = max(1, (53 + 30 − 1) / 30)
    = 2 engine calls, sum = (x1 − 1) + (x2 − 1) · R, divided by R²."""
    total = float(engine() - 1)
    total += float(engine() - 1) * _R
    value = total / _R2
    return value if value < 1.0 else math.nextafter(1.0, 0.0)


class PiecewiseConstant:
    """libstdc++ std::piecewise_constant_distribution<double>: densities normalized by the
    (sequential) sum of weights, cumulative probabilities by partial_sum with the last set to
    1, draw p = generate_canonical, bin = lower_bound(cp, p), value = edge + (p − cp[i−1]) /
    density[i]."""

    def __init__(self, edges, weights):
        total = 0.0
        for w in weights:
            total += float(w)
        den = [float(w) / total for w in weights]
        cp, acc = [], 0.0
        for d in den:
            acc += d
            cp.append(acc)
        cp[-1] = 1.0
        self.edges = [float(e) for e in edges]
        self.cp = cp
        self.den = [d / (self.edges[k + 1] - self.edges[k]) for k, d in enumerate(den)]

    def draw(self, engine):
        p = canonical(engine)
        i = bisect.bisect_left(self.cp, p)
        prev = self.cp[i - 1] if i > 0 else 0.0
        return self.edges[i] + (p - prev) / self.den[i]

    def draw_py(self, rng):
        """The same distribution drawn with Python's random (for the ledgersim port)."""
        i = bisect.bisect_left(self.cp, rng.random())
        i = min(i, len(self.den) - 1)
        while self.den[i] == 0.0:  # a zero-weight bin is never chosen by its own cp step
            i += 1
        return self.edges[i] + rng.random() * (self.edges[i + 1] - self.edges[i])


CONN_DIST = PiecewiseConstant(CONN_EDGES, CONN_WEIGHTS)
REGION_DIST = PiecewiseConstant([0, 1, 2, 3, 4, 5, 6], REGION_WEIGHTS)
DOWN_DIST = {r: PiecewiseConstant(gbw.DOWNLOAD_EDGES, gbw.WEIGHTS[(name, "down")])
             for r, name in enumerate(REGIONS)}
UP_DIST = {r: PiecewiseConstant(gbw.UPLOAD_EDGES, gbw.WEIGHTS[(name, "up")])
           for r, name in enumerate(REGIONS)}


def max_connections(minimum):
    """GT: maximum = minimum + index, index the first k ≥ 1 with minimum < interval[k]."""
    for k in range(1, len(CONN_EDGES)):
        if minimum < CONN_EDGES[k]:
            return minimum + k
    return minimum


# --- the two generators -----------------------------------------------------------------

class Net:
    """One drawn network: adjacency (insertion order), pools, per-node region and speeds."""

    def __init__(self, adj, pools, region, up, down):
        self.adj, self.pools, self.region, self.up, self.down = adj, pools, region, up, down
        self.is_pool = [False] * len(adj)
        for p in pools:
            self.is_pool[p] = True
        # pool -> hash share (pools in id order get the shares in order, both generators)
        self.share = {p: POOL_SHARES[k] for k, p in enumerate(sorted(pools))}


def link_until(i, minimum, adj, adj_set, cap, candidates, pick):
    """GT's linking loop for node i (and ledgersim's `capped_links`, the same rule)."""
    count = 0
    while len(adj[i]) < minimum and count < 10 * minimum and candidates:
        index = pick(len(candidates))
        peer = candidates[index]
        if peer != i and peer not in adj_set[i] and len(adj[peer]) < cap[peer]:
            adj[i].append(peer)
            adj[peer].append(i)
            adj_set[i].add(peer)
            adj_set[peer].add(i)
            if len(adj[peer]) == cap[peer]:
                del candidates[index]
        count += 1


def pool_mesh(pools, n):
    """Adjacency lists and sets of n nodes with every pair of pools linked (both
    generators link the pools to each other first)."""
    adj = [[] for _ in range(n)]
    adj_set = [set() for _ in range(n)]
    for p in pools:
        for q in pools:
            if p != q:
                adj[p].append(q)
                adj_set[p].add(q)
    return adj, adj_set


def gt_network(srand_seed=1000, engine_seed=1, n=N_NODES):
    """BitcoinTopologyHelper's constructor with GT's generators (module docstring (a))."""
    rand = GlibcRand(srand_seed)
    engine = MinstdRand0(engine_seed)
    nodes = list(range(n))
    pools = []
    for _ in range(N_POOLS):
        pools.append(nodes.pop(rand() % len(nodes)))
    pools.sort()
    is_pool = set(pools)
    adj, adj_set = pool_mesh(pools, n)
    minimum, cap = [0] * n, [0] * n
    for i in range(n):
        if i in is_pool:
            minimum[i], cap[i] = POOL_MIN, POOL_MAX
        else:
            c = max(1, int(CONN_DIST.draw(engine)))
            minimum[i], cap[i] = c, max_connections(c)
    candidates = list(range(n))
    pick = lambda size: rand() % size  # noqa: E731
    for p in pools:
        link_until(p, minimum[p], adj, adj_set, cap, candidates, pick)
    for i in range(n):
        link_until(i, minimum[i], adj, adj_set, cap, candidates, pick)
    region, up, down = [0] * n, [0.0] * n, [0.0] * n
    for i in range(n):
        if i in is_pool:
            region[i] = POOL_REGIONS[pools.index(i)]
            up[i] = down[i] = POOL_MBPS
        else:
            region[i] = int(REGION_DIST.draw(engine))
            down[i] = DOWN_DIST[region[i]].draw(engine)
            up[i] = UP_DIST[region[i]].draw(engine)
    return Net(adj, pools, region, up, down)


def ledgersim_network(rng, n=N_NODES):
    """ledgersim's generator with the Gervais cases' inputs (module docstring (b))."""
    pools = list(range(N_POOLS))
    region = POOL_REGIONS[:] + [r for r, c in enumerate(LEDGERSIM_COUNTS) for _ in range(c)]
    assert len(region) == n
    adj, adj_set = pool_mesh(pools, n)  # miner_mesh
    minimum, cap = [0] * n, [0] * n
    for i in range(n):
        if i < N_POOLS:
            minimum[i], cap[i] = POOL_MIN, POOL_MAX  # miner_peers = 700, degree_cap.miner = 800
        else:
            c = max(1, int(CONN_DIST.draw_py(rng)))  # peers_cdf: the same distribution
            minimum[i], cap[i] = c, max_connections(c)
    candidates = list(range(n))
    pick = lambda size: rng.randrange(size)  # noqa: E731
    for i in range(n):  # pools are ids 0–15, so they link first, as in GT
        link_until(i, minimum[i], adj, adj_set, cap, candidates, pick)
    up, down = [POOL_MBPS] * n, [POOL_MBPS] * n
    for i in range(N_POOLS, n):  # upload, then download (Network::draw_bandwidths)
        up[i] = UP_DIST[region[i]].draw_py(rng)
        down[i] = DOWN_DIST[region[i]].draw_py(rng)
    return Net(adj, pools, region, up, down)


# --- measurements -----------------------------------------------------------------------

DEGREE_BINS = [3, 7, 11, 15, 24, 49, 124]


def structure(net):
    """Degree bins, pool-neighbour counts and hub counts of one network (non-pool nodes)."""
    bins, pools_hist = [0] * 7, [0] * 4
    hubs = slow = slow_early = 0
    pool_deg = statistics.mean(len(net.adj[p]) for p in net.pools)
    hub_pools, all_pools = [], []
    for i, a in enumerate(net.adj):
        if net.is_pool[i]:
            continue
        d = len(a)
        bins[next((k for k, hi in enumerate(DEGREE_BINS) if d <= hi), 6)] += 1
        pn = sum(1 for j in a if net.is_pool[j])
        pools_hist[min(pn, 3)] += 1
        all_pools.append(pn)
        if d >= HUB_LINKS:
            hubs += 1
            hub_pools.append(pn)
            if net.up[i] <= SLOW_MBPS:
                slow += 1
                if pn >= EARLY_POOLS:
                    slow_early += 1
    return dict(bins=bins, pools=pools_hist, hubs=hubs, slow=slow, slow_early=slow_early,
                pool_deg=pool_deg, hub_pool_mean=statistics.mean(hub_pools) if hub_pools else 0.0,
                pool_mean=statistics.mean(all_pools))


def pareto_ms(mean, rng):
    """GT's link latency: Pareto with shape = mean / 5 and scale = mean × (shape − 1) / shape."""
    shape = mean / 5.0
    scale = mean * (shape - 1) / shape
    return scale / (1.0 - rng.random()) ** (1.0 / shape)


def load_proxy(net, rng):
    """rho per node (module docstring): first-announcer GETDATAs per block × ASK_BPS / up.

    One block from each pool, propagated alone (no queue left by earlier blocks): a node
    announces (INV) to its neighbours when it has validated the block (a pool its own block
    at once); a node asks (GETDATA) the first announcer only; the announcer serves GETDATAs
    in arrival order, each occupying its upload for size / up; the block arrives the latency
    plus size / min(sender's up, receiver's down) after its upload started. Returns (rho,
    asked) with asked[x] the hash-share-weighted GETDATAs x receives per block."""
    n = len(net.adj)
    lat = {}
    for i, a in enumerate(net.adj):
        for j in a:
            if i < j:
                lat[(i, j)] = pareto_ms(LATENCY_MS[net.region[i]][net.region[j]], rng) / 1000.0
    bits = PROXY_BLOCK_BYTES * 8
    asked = [0.0] * n
    up_bps = [u * 1e6 for u in net.up]
    down_bps = [d * 1e6 for d in net.down]
    for p in net.pools:
        share = net.share[p]
        requested = [False] * n
        requested[p] = True
        upload_free = [0.0] * n
        # events: (time, seq, kind, node, peer); kinds 0 validated, 1 INV at node from peer,
        # 2 GETDATA at node (the announcer) from peer, 3 BLOCK at node
        seq = 0
        heap = [(0.0, 0, 0, p, -1)]
        while heap:
            t, _, kind, x, y = heapq.heappop(heap)
            if kind == 0:
                for z in net.adj[x]:
                    if not requested[z]:
                        seq += 1
                        heapq.heappush(heap, (t + lat[(x, z) if x < z else (z, x)], seq, 1, z, x))
            elif kind == 1:
                if not requested[x]:
                    requested[x] = True
                    asked[y] += share
                    seq += 1
                    heapq.heappush(heap, (t + lat[(x, y) if x < y else (y, x)], seq, 2, y, x))
            elif kind == 2:
                start = max(t, upload_free[x])
                upload_free[x] = start + bits / up_bps[x]
                arrive = start + lat[(x, y) if x < y else (y, x)] + bits / min(up_bps[x], down_bps[y])
                seq += 1
                heapq.heappush(heap, (arrive + PROXY_VALIDATION_S, seq, 0, y, -1))
    return [asked[i] * ASK_BPS / up_bps[i] if not net.is_pool[i] else 0.0 for i in range(n)], asked


def describe(name, nets, latency_draws, rng, proxy=True):
    """Print the summary of a list of networks; returns the per-network records."""
    recs = []
    for k, net in enumerate(nets):
        s = structure(net)
        if proxy:
            rhos = []
            for _ in range(latency_draws):
                rho, _ = load_proxy(net, rng)
                rhos.append(rho)
            mean_rho = [statistics.mean(r[i] for r in rhos) for i in range(len(net.adj))]
            s["max_rho"] = max(mean_rho)
            s["over1"] = sum(1 for r in mean_rho if r >= 1.0)
            s["over05"] = sum(1 for r in mean_rho if r >= 0.5)
            s["over08"] = sum(1 for r in mean_rho if r >= HEAVY_RHO)
            s["top"] = sorted(range(len(net.adj)), key=lambda i: -mean_rho[i])[:3]
            s["rho"] = mean_rho
        recs.append(s)
        print(f"  [{name} {k + 1}/{len(nets)}] hubs {s['hubs']} slow {s['slow']} slow-early "
              f"{s['slow_early']}" + (f" max rho {s['max_rho']:.2f} rho>=1: {s['over1']}" if proxy else ""),
              file=sys.stderr, flush=True)
    m = len(recs)
    non_pool = N_NODES - N_POOLS
    bins = [statistics.mean(r["bins"][k] for r in recs) / non_pool for k in range(7)]
    pools = [statistics.mean(r["pools"][k] for r in recs) / non_pool for k in range(4)]
    pct = lambda v: " ".join(f"{100 * x:.2f}" for x in v)  # noqa: E731
    print(f"{name}: {m} network(s)")
    print(f"  degree bins <=3 <=7 <=11 <=15 <=24 <=49 <=124 (% of non-pool): {pct(bins)}")
    print(f"  pool neighbours 0 1 2 >=3 (% of non-pool): {pct(pools)}")
    print(f"  pool degree mean {statistics.mean(r['pool_deg'] for r in recs):.1f}; pool neighbours "
          f"of a hub (>=50 links) mean {statistics.mean(r['hub_pool_mean'] for r in recs):.2f}, "
          f"of any node {statistics.mean(r['pool_mean'] for r in recs):.2f}")
    for key, label in [("hubs", "hubs (>=50 links)"), ("slow", "slow hubs (<=0.3 Mbit/s up)"),
                       ("slow_early", "slow early hubs (+ >=2 pool neighbours)")]:
        v = [r[key] for r in recs]
        print(f"  per network: {label} mean {statistics.mean(v):.2f}; networks with >=1: "
              f"{sum(1 for x in v if x > 0)} of {m} ({100 * sum(1 for x in v if x > 0) / m:.0f} %)")
    if proxy:
        v = [r["max_rho"] for r in recs]
        o = [r["over1"] for r in recs]
        h = [r["over08"] for r in recs]
        print(f"  heavy networks (a node at rho >= {HEAVY_RHO}): {sum(1 for x in h if x > 0)} of {m} "
              f"({100 * sum(1 for x in h if x > 0) / m:.0f} %)")
        print(f"  load proxy: max rho per network median {statistics.median(v):.2f} "
              f"(range {min(v):.2f}-{max(v):.2f}); networks with a node at rho >= 1: "
              f"{sum(1 for x in o if x > 0)} of {m} ({100 * sum(1 for x in o if x > 0) / m:.0f} %); "
              f"nodes at rho >= 1 per network mean {statistics.mean(o):.2f}, at rho >= 0.5 "
              f"{statistics.mean(r['over05'] for r in recs):.2f}")
    return recs


def print_top(net, rec, label):
    """The three nodes of highest load of one network."""
    print(f"  {label}: the nodes of highest load (id: links, up/down Mbit/s, region, pool "
          f"neighbours, rho):")
    for i in rec["top"]:
        pn = sum(1 for j in net.adj[i] if net.is_pool[j])
        print(f"    {i}: {len(net.adj[i])} links, {net.up[i]:.3f}/{net.down[i]:.2f}, "
              f"{REGIONS[net.region[i]]}, {pn}, {rec['rho'][i]:.2f}")


def read_graphs(path):
    """Networks dumped by tests/it/pow_gervais_topology.rs: `seed id region pool up down
    neighbour…` per node; yields (seed, Net)."""
    by_seed = {}
    for line in open(path):
        f = line.split()
        by_seed.setdefault(f[0], []).append(f)
    for seed, rows in by_seed.items():
        rows.sort(key=lambda f: int(f[1]))
        adj = [[int(x) for x in f[6:]] for f in rows]
        pools = [int(f[1]) for f in rows if f[3] == "1"]
        net = Net(adj, pools, [int(f[2]) for f in rows], [float(f[4]) for f in rows],
                  [float(f[5]) for f in rows])
        yield seed, net


GT_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "scenarios", "validation", "data")
GT_NODES_FILE = "gt-network-nodes.csv"
GT_GRAPH_FILE = "gt-network.adj"
GT_PROVENANCE = """# Provenance: GT = github.com/arthurgervais/Bitcoin-Simulator (Gervais et al., CCS'16),
# src/applications/helper/bitcoin-topology-helper.cc, constructor
# BitcoinTopologyHelper::BitcoinTopologyHelper (identical in the stored versions e08b1e6 and
# 6d5e76b), with the arguments of scratch/bitcoin-test.cc (commit 3f21d94) for the paper's
# runs: 6,000 nodes, 16 miners, BITCOIN. GT seeds its generators with constants (srand(1000);
# an unseeded std::default_random_engine), so every GT run builds this one network.
# Written by `python3 scripts/gervais_topology_study.py --export-gt` from its line-by-line port
# (gt_network()); the port's random number generators match glibc's rand() and libstdc++'s
# minstd_rand0 / piecewise_constant_distribution bit for bit
# (`python3 scripts/gervais_topology_study.py --check-cxx`, g++ 12). Node names are GT's
# node ids. Speeds are GT's draws in Mbit/s x 1e6, rounded to whole bit/s (ledgersim's unit).
"""


def export_gt(out_dir=GT_DATA_DIR):
    """GT's network as ledgersim data files (docs/SCENARIO-FORMAT.md, "Data files"): the
    node table of the 5,984 non-pool nodes (GT id, region, upload and download in bit/s, in
    GT id order) and the peer graph (each link once, on the line of its lower GT id). The
    16 pools (100 Mbit/s up and down, regions by rank of id) are a group in the scenario
    (scripts/gen-gervais-2016.py). Returns (pool ids, nodes path, graph path)."""
    gt = gt_network()
    os.makedirs(out_dir, exist_ok=True)
    nodes_path = os.path.join(out_dir, GT_NODES_FILE)
    with open(nodes_path, "w") as f:
        f.write("# GT's network: the 5,984 non-pool nodes (the 16 pools are a group in the scenarios).\n")
        f.write(GT_PROVENANCE)
        f.write("name,region,bandwidth_bps,download_bandwidth_bps\n")
        for g in range(N_NODES):
            if not gt.is_pool[g]:
                f.write(f"{g},{REGIONS[gt.region[g]]},{round(gt.up[g] * 1e6)},{round(gt.down[g] * 1e6)}\n")
    graph_path = os.path.join(out_dir, GT_GRAPH_FILE)
    links = sum(len(a) for a in gt.adj) // 2
    with open(graph_path, "w") as f:
        f.write(f"# GT's network: peer graph of its 6,000 nodes, {links:,} links, each listed once, on the line\n"
                "# of its lower GT id (a node, then its neighbours with higher ids).\n")
        f.write(GT_PROVENANCE)
        for g in range(N_NODES):
            higher = sorted(h for h in gt.adj[g] if h > g)
            if higher:
                f.write(" ".join(str(x) for x in [g] + higher) + "\n")
    return sorted(gt.pools), nodes_path, graph_path


# --- check of the RNG ports against the C library and libstdc++ ------------------------

CXX_CHECK = r"""
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
int main() {
  srand(1000);
  for (int i = 0; i < 5; i++) printf("%d\n", rand());
  std::default_random_engine g;
  std::vector<double> e{1, 4, 8, 12, 16, 25, 119}, w{10, 40, 30, 13, 6, 1};
  std::piecewise_constant_distribution<double> d(e.begin(), e.end(), w.begin());
  for (int i = 0; i < 5; i++) printf("%.17g\n", d(g));
  std::vector<double> r{0, 1, 2, 3, 4, 5, 6}, rw{38.69, 51.59, 1.13, 5.74, 1.19, 1.66};
  std::piecewise_constant_distribution<double> rd(r.begin(), r.end(), rw.begin());
  for (int i = 0; i < 5; i++) printf("%.17g\n", rd(g));
  return 0;
}
"""


def check_cxx():
    """Compile CXX_CHECK with g++ and compare its output with the Python ports."""
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "c.cc"), os.path.join(tmp, "c")
        open(src, "w").write(CXX_CHECK)
        subprocess.run(["g++", "-O1", "-o", exe, src], check=True)
        cxx = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()
    rand, engine = GlibcRand(1000), MinstdRand0()
    py = [str(rand()) for _ in range(5)]
    py += [repr(CONN_DIST.draw(engine)) for _ in range(5)]
    py += [repr(REGION_DIST.draw(engine)) for _ in range(5)]
    ok = all(a == b if k < 5 else float(a) == float(b) for k, (a, b) in enumerate(zip(cxx, py)))
    for a, b in zip(cxx, py):
        print(f"  g++ {a:>24}  python {b:>24}")
    print("RNG ports match g++/glibc/libstdc++:", ok)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", type=int, default=100, help="networks per generator")
    ap.add_argument("--latency-draws", type=int, default=2, help="latency draws per network (load proxy)")
    ap.add_argument("--no-proxy", action="store_true", help="structure only (fast)")
    ap.add_argument("--check-cxx", action="store_true", help="check the RNG ports with g++ and exit")
    ap.add_argument("--seed", type=int, default=2016, help="Python seed of the ledgersim port and latencies")
    ap.add_argument("--graphs", help="ledgersim's own networks, dumped by tests/it/pow_gervais_topology.rs "
                    "(gervais_peer_graph_dump): print the load proxy of each and exit")
    ap.add_argument("--export-gt", metavar="DIR", nargs="?", const=GT_DATA_DIR,
                    help="write GT's network as ledgersim data files (node table + peer graph) to DIR "
                    "(default scenarios/validation/data) and exit")
    args = ap.parse_args()
    if args.export_gt:
        pools, nodes, graph = export_gt(args.export_gt)
        print("pools:", pools)
        print(nodes, graph)
        return
    if args.check_cxx:
        sys.exit(0 if check_cxx() else 1)
    rng = random.Random(args.seed)
    if args.graphs:
        for seed, net in read_graphs(args.graphs):
            rec = describe(f"ledgersim seed {seed} (dumped)", [net], max(5, args.latency_draws), rng)
            print_top(net, rec[0], f"seed {seed}")
        return
    proxy = not args.no_proxy
    gt = gt_network()
    rec = describe("GT's network (srand 1000, default engine: every GT run)", [gt],
                   max(5, args.latency_draws), rng, proxy)
    if proxy:
        print_top(gt, rec[0], "GT's network")
    pools = gt.pools
    print(f"  GT's pool ids: {pools}")
    describe(f"GT's generator re-seeded (srand k, engine seed k, k = 2..{args.networks + 1})",
             [gt_network(k, k) for k in range(2, args.networks + 2)], args.latency_draws, rng, proxy)
    describe("ledgersim's generator (Python port)",
             [ledgersim_network(rng) for _ in range(args.networks)], args.latency_draws, rng, proxy)


if __name__ == "__main__":
    main()
