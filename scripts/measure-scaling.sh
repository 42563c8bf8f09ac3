#!/usr/bin/env bash
# Scaling of the simulator's cost with the protocol's size and load, on the PBFT reference
# model (scenarios/bench/pbft-reference.toml): wall time and events (1) vs validators
# n = 4 … 256 at a fixed request count per n, and (2) vs offered load at n = 16. Prints
# Markdown tables (docs/PERFORMANCE.md). PBFT's normal case sends 2n² − n + 1 messages per
# request, so events per request should grow as n² and wall time per event stay flat;
# against load, events per request should stay constant.
# Usage: scripts/measure-scaling.sh [BIN]   (default: builds and uses target/release/ledgersim)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [[ -z "$bin" ]]; then
    cargo build --release --quiet
    bin=target/release/ledgersim
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
row() { # dir n req -> markdown row
    python3 - "$1" "$2" "$3" <<'PY'
import csv, json, sys
d, n, req = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
perf = json.load(open(f"{d}/perf.json"))
r = next(csv.DictReader(open(f"{d}/runs.csv")))
msgs, ev, wall = int(r["messages"]), perf["events"], perf["wall_s"]
expected = 2 * n * n - n + 1
print(f"| {n} | {req} | {msgs:,} | {msgs / req:,.0f} | {expected:,} | {ev:,} | {ev / req:,.0f} | {wall:.3f} | {1e6 * wall / max(ev, 1):.3f} | {ev / wall / 1e6:.2f} | {float(r['latency_p50_ms']):.1f} |")
PY
}
echo "### Validators (rate 100/s)"
echo
echo "| n | requests | messages | messages/request | 2n²−n+1 | events | events/request | wall s | µs/event | M events/s | p50 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for setup in 4:4000 8:2000 16:1000 32:250 64:60 128:16 256:4; do
    n=${setup%%:*}; req=${setup##*:}
    dur=$(python3 -c "print(f'{$req/100 + 2:.2f}s')")
    "$bin" run scenarios/bench/pbft-reference.toml --threads 1 --quiet --out "$out/n$n" \
        --set "topology.group[0].count=$n" --set "workload.flow[0].limit=$req" --set "duration=$dur" >/dev/null
    row "$out/n$n" "$n" "$req"
done
echo
echo "### Offered load (n = 16, 5 simulated seconds of arrivals)"
echo
echo "| rate /s | requests | messages | messages/request | 2n²−n+1 | events | events/request | wall s | µs/event | M events/s | p50 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for rate in 25 50 100 200 400; do
    req=$((rate * 5))
    "$bin" run scenarios/bench/pbft-reference.toml --threads 1 --quiet --out "$out/r$rate" \
        --set "workload.flow[0].arrival.rate=$rate" --set "workload.flow[0].limit=$req" --set "duration=7s" >/dev/null
    row "$out/r$rate" 16 "$req" | sed "s/^| 16 |/| $rate |/"
done
