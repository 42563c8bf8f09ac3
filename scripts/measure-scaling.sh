#!/usr/bin/env bash
# Scaling of the simulator's cost with the protocol's size and load, on the PBFT reference
# model (scenarios/bench/pbft-reference.toml): wall time and events (1) vs validators
# n = 4 … 256 at a fixed request count per n, and (2) vs offered load at n = 16. PBFT's normal
# case sends 2n² − n + 1 messages per request, so events per request should grow as n² and
# wall time per event stay flat; against load, events per request should stay constant.
#
# Each point is run REPEATS times (default 3; single-threaded, `--threads 1`); the table gives
# the median `wall_s` (events and messages are the same in every repeat: the runs are
# deterministic). Prints the two Markdown tables of docs/PERFORMANCE.md §5, writes the points
# to OUT_CSV_DIR (default target/scaling: validators.csv, load.csv) and draws them with
# scripts/plot-scaling.py into docs/img/scaling-validators.svg and docs/img/scaling-load.svg.
#
# Usage: scripts/measure-scaling.sh [BIN]   (default: builds and uses target/release/ledgersim)
#        REPEATS=5 OUT_CSV_DIR=/tmp/scaling scripts/measure-scaling.sh target/release/ledgersim
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [[ -z "$bin" ]]; then
    cargo build --release --quiet
    bin=target/release/ledgersim
fi
repeats=${REPEATS:-3}
csv_dir=${OUT_CSV_DIR:-target/scaling}
mkdir -p "$csv_dir"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# point LABEL N REQ DIR ARGS...: run REPEATS times, print the Markdown row, append the CSV row.
point() {
    local label=$1 n=$2 req=$3 csv=$4
    shift 4
    for i in $(seq "$repeats"); do
        "$bin" run scenarios/bench/pbft-reference.toml --threads 1 --quiet --force \
            --out "$out/$label-$i" "$@" >/dev/null
    done
    python3 - "$out" "$label" "$repeats" "$n" "$req" "$csv" <<'PY'
import csv, json, statistics, sys
out, label, repeats, n, req, csv_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
walls, events = [], set()
for i in range(1, repeats + 1):
    d = f"{out}/{label}-{i}"
    perf = json.load(open(f"{d}/perf.json"))
    walls.append(perf["wall_s"])
    events.add(perf["events"])
    r = next(csv.DictReader(open(f"{d}/runs.csv")))
assert len(events) == 1, f"{label}: events differ between repeats: {events}"
ev, wall = events.pop(), statistics.median(walls)
msgs = int(r["messages"])
expected = 2 * n * n - n + 1
p50 = float(r["latency_p50_ms"])
print(f"| {label} | {req} | {msgs:,} | {msgs / req:,.0f} | {expected:,} | {ev:,} | {ev / req:,.0f} | {wall:.3f} | {1e6 * wall / max(ev, 1):.3f} | {ev / wall / 1e6:.2f} | {p50:.1f} |")
with open(csv_path, "a", newline="") as f:
    csv.writer(f).writerow([label, n, req, msgs, expected, ev, f"{wall:.6f}", f"{min(walls):.6f}", f"{max(walls):.6f}", p50])
PY
}
header="point,validators,requests,messages,expected_messages,events,wall_s_median,wall_s_min,wall_s_max,p50_ms"
echo "$header" > "$csv_dir/validators.csv"
echo "$header" > "$csv_dir/load.csv"

echo "### Validators (rate 100/s)"
echo
echo "| n | requests | messages | messages/request | 2n²−n+1 | events | events/request | wall s (median of $repeats) | µs/event | M events/s | p50 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for setup in 4:4000 8:2000 16:1000 32:250 64:60 128:16 256:4; do
    n=${setup%%:*}; req=${setup##*:}
    dur=$(python3 -c "print(f'{$req/100 + 2:.2f}s')")
    point "$n" "$n" "$req" "$csv_dir/validators.csv" \
        --set "topology.group[0].count=$n" --set "workload.flow[0].limit=$req" --set "duration=$dur"
done
echo
echo "### Offered load (n = 16, 5 simulated seconds of arrivals)"
echo
echo "| rate /s | requests | messages | messages/request | 2n²−n+1 | events | events/request | wall s (median of $repeats) | µs/event | M events/s | p50 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for rate in 25 50 100 200 400; do
    req=$((rate * 5))
    point "$rate" 16 "$req" "$csv_dir/load.csv" \
        --set "workload.flow[0].arrival.rate=$rate" --set "workload.flow[0].limit=$req" --set "duration=7s"
done
python3 scripts/plot-scaling.py "$csv_dir" docs/img
