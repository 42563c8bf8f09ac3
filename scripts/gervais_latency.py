"""Region-to-region latency table of Gervais et al.'s CCS'16 simulator (Bitcoin, 2015).

Source: github.com/arthurgervais/Bitcoin-Simulator,
src/applications/helper/bitcoin-topology-helper.cc, BitcoinTopologyHelper constructor:
`regionLatencies`, the mean one-way latency in ms between the regions NORTH_AMERICA, EUROPE,
SOUTH_AMERICA, ASIA_PACIFIC, JAPAN, AUSTRALIA (in that order). Each link's latency is one
Pareto draw with this mean (shape mean / 5, scale mean − 5 ms). SimBlock's LATENCY_2015 is
the same table rounded.

Shared by scripts/gen-gervais-2016.py (the cases' [[network.rtt]] lines) and
scripts/gervais_topology_study.py (the load proxy).
"""

# Region codes in the table's order (ledgersim's region names in the Gervais cases).
REGIONS = ["NA", "EU", "SA", "AP", "JP", "AU"]

# One-way mean latency, ms, REGION_LATENCY_MS[a][b] (symmetric).
REGION_LATENCY_MS = [
    [35.5, 119.49, 254.79, 310.11, 154.36, 207.91],
    [119.49, 11.61, 221.08, 241.9, 266.45, 350.07],
    [254.79, 221.08, 137.09, 346.65, 255.95, 268.91],
    [310.11, 241.9, 346.65, 99.46, 172.24, 277.8],
    [154.36, 266.45, 255.95, 172.24, 8.76, 162.59],
    [207.91, 350.07, 268.91, 277.8, 162.59, 21.72],
]
