"""Block-size distribution of Gervais et al.'s CCS'16 simulator (Bitcoin).

Source: github.com/arthurgervais/Bitcoin-Simulator (commit
248fe9e00ce4f657f0cf5c09a29f61aead05d1c8), src/applications/model/bitcoin-miner.cc,
BitcoinMiner::StartApplication, case BITCOIN: the arrays `intervals` (201 bin edges, kB:
0, 5, ..., 1000) and `weights` (200 bins), used as
    m_blockSizeDistribution = std::piecewise_constant_distribution<double>(intervals, weights)
(a bin is picked with probability weight / total, the value is uniform inside it). Unless a
fixed block size is set, BitcoinMiner::MineBlock draws every block's size as
    m_nextBlockSize = m_blockSizeDistribution(m_generator) * 1000;   // kB -> bytes
and, for Bitcoin, scales it with the block interval:
    if (m_nextBlockSize < m_maxBlockSize - m_headersSizeBytes)
        m_nextBlockSize = m_nextBlockSize * m_averageBlockGenIntervalSeconds
                          / m_realAverageBlockGenIntervalSeconds + m_headersSizeBytes;
    else
        m_nextBlockSize = m_nextBlockSize * m_averageBlockGenIntervalSeconds
                          / m_realAverageBlockGenIntervalSeconds;
with m_realAverageBlockGenIntervalSeconds = 10 min and m_headersSizeBytes = 81
(BitcoinNode constructor). Then `if (m_nextBlockSize < m_averageTransactionSize)
m_nextBlockSize = m_averageTransactionSize + m_headersSizeBytes` (its value is not
transcribed here; it matters only for tiny scaled blocks, i.e. the 1 s row).

Measured with it (seed 2016, the five generated cases, `python3 scripts/gen-gervais-2016.py
10min=16h40m 2.5min=4h10m 1min=1h40m 10s=1h 1s=10m blocksize=dist [bandwidth=dist] out=DIR`;
block_processing is that of the mean scaled size), node_mean p50 / p90 / mean in s, stale %
[paper 14.7 / 35.47 / 25.83 / 1.51; 4.18 / 9.12 / 6.83 / 1.82; 2.08 / 3.76 / 3.02 / 2.15;
1.00 / 1.38 / 1.09 / 4.77; 0.82 / 0.97 / 0.84 / 26.74]:
  with the region averages:  10 min 8.23 / 16.6 / 9.46 / 1.89;  2.5 min 2.63 / 4.69 / 2.93 / 1.89;
    1 min 1.50 / 2.34 / 1.63 / 2.80;  10 s 0.947 / 1.11 / 0.955 / 5.96;  1 s 0.826 / 0.938 / 0.828 / 27.5
  with bandwidth=dist:       10 min 12.9 / 27.7 / 20.5 / 0.95;  2.5 min 3.75 / 6.92 / 4.75 / 0.95;
    1 min 1.93 / 3.19 / 2.28 / 1.89;  10 s 1.02 / 1.41 / 1.08 / 5.71;  1 s 0.878 / 0.99 / 0.888 / 28.1
Of the 14 checked expectations, 6 (averages) and 10 (bandwidth=dist) pass, against 10 for the
checked-in cases (fixed 1 MB × interval / 10 min, region averages); so the checked-in cases are
unchanged. Differences left in these runs: GT's validation time is per block (0.174 s × size /
458,263 B), here the mean's; GT's floor at m_averageTransactionSize is not modelled; GT records
a node's arrival time before validation, ledgersim after it.

The weights are copied verbatim (percent; they sum to 100.00 up to rounding); the self-check
below verifies the bin count (200) and the total.
"""

EDGES_KB = [5 * k for k in range(201)]  # 0, 5, ..., 1000

WEIGHTS = [
    4.96, 0.21, 0.17, 0.25, 0.27, 0.3, 0.34, 0.26, 0.26, 0.33, 0.35, 0.49, 0.42, 0.42, 0.48, 0.41, 0.46, 0.45,
    0.58, 0.58, 0.57, 0.52, 0.54, 0.47, 0.53, 0.56, 0.5, 0.48, 0.53, 0.54, 0.49, 0.51, 0.56, 0.53, 0.56, 0.5,
    0.47, 0.45, 0.52, 0.43, 0.46, 0.47, 0.6, 0.53, 0.42, 0.48, 0.55, 0.49, 0.63, 2.38, 0.47, 0.53, 0.43, 0.51,
    0.44, 0.46, 0.44, 0.41, 0.47, 0.46, 0.45, 0.37, 0.49, 0.4, 0.41, 0.41, 0.41, 0.37, 0.43, 0.47, 0.48, 0.37,
    0.4, 0.46, 0.34, 0.35, 0.37, 0.36, 0.37, 0.31, 0.35, 0.39, 0.34, 0.38, 0.29, 0.41, 0.37, 0.34, 0.36, 0.34,
    0.29, 0.3, 0.36, 0.26, 0.29, 0.31, 0.3, 0.29, 0.35, 0.5, 0.28, 0.37, 0.31, 0.33, 0.32, 0.28, 0.34, 0.31,
    0.26, 0.24, 0.22, 0.25, 0.24, 0.25, 0.26, 0.25, 0.24, 0.33, 0.24, 0.23, 0.2, 0.24, 0.26, 0.27, 0.27, 0.21,
    0.22, 0.3, 0.25, 0.21, 0.26, 0.21, 0.21, 0.21, 0.23, 0.48, 0.2, 0.19, 0.21, 0.2, 0.17, 0.19, 0.21, 0.22,
    0.24, 0.25, 0.23, 0.31, 0.46, 8.32, 0.22, 0.11, 0.13, 0.17, 0.12, 0.16, 0.15, 0.16, 0.19, 0.21, 0.18, 0.24,
    0.19, 0.2, 0.16, 0.17, 0.19, 0.17, 0.22, 0.33, 0.17, 0.22, 0.25, 0.19, 0.2, 0.17, 0.28, 0.25, 0.24, 0.25, 0.3,
    0.34, 0.46, 0.49, 0.67, 3.13, 2.94, 0.14, 0.36, 3.88, 0.07, 0.11, 0.11, 0.11, 0.26, 0.12, 0.13, 0.88, 5.84, 4.11,
]

HEADERS_BYTES = 81  # BitcoinNode m_headersSizeBytes
MAX_BLOCK_BYTES = 1_000_000  # GT m_maxBlockSize (1 MB; only the last 0.081 kB is affected)

assert len(EDGES_KB) == 201 and len(WEIGHTS) == 200, (len(EDGES_KB), len(WEIGHTS))
assert abs(sum(WEIGHTS) - 100.0) < 0.05, sum(WEIGHTS)


def mean_kb():
    return sum((EDGES_KB[i] + EDGES_KB[i + 1]) / 2 * w for i, w in enumerate(WEIGHTS)) / sum(WEIGHTS)


def bins_bytes(interval_s):
    """GT's table scaled as MineBlock does for a block interval of `interval_s` seconds:
    (low, high, weight) in bytes, size × interval / 600 s + 81 header bytes. (The header is
    not added to draws ≥ 1 MB − 81 B, 0.0016 % of the mass; ignored here.)"""
    f = interval_s / 600.0
    out = []
    for i, w in enumerate(WEIGHTS):
        lo = EDGES_KB[i] * 1000 * f + HEADERS_BYTES
        hi = EDGES_KB[i + 1] * 1000 * f + HEADERS_BYTES
        out.append((round(lo, 3), round(hi, 3), w))
    return out


if __name__ == "__main__":
    print(f"{len(WEIGHTS)} bins, weights total {sum(WEIGHTS):.2f}, mean {mean_kb():.1f} kB")
    top = sorted(range(200), key=lambda i: -WEIGHTS[i])[:8]
    for i in sorted(top):
        print(f"  [{EDGES_KB[i]}, {EDGES_KB[i+1]}) kB: {WEIGHTS[i]}")
