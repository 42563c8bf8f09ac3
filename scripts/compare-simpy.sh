#!/usr/bin/env bash
# Side by side: the SimPy PBFT reference model (reference/peers/simpy_pbft.py) and ledgersim's
# scenarios/bench/pbft-reference.toml on the same setups (n = 4 × 10,000 requests, n = 16 ×
# 1,000, n = 64 × 50, rate 100/s, seed 1). Prints messages, latency mean/p50/p99 and
# messages per wall-second of both, and the speed ratio (target ≥ 50×).
#
# Creates a virtual environment (default target/simpy-venv, override with SIMPY_VENV) and
# installs SimPy from PyPI into it. The SimPy model is looked up at SIMPY_PBFT (default
# ../shared/reference/peers/simpy_pbft.py relative to the repo, then docs/reference/peers/).
# Usage: scripts/compare-simpy.sh [quick]   ("quick": n = 4 and 16 only, fewer requests)
#
# What is timed: SimPy's `wall_s` is its `env.run` (one run, as the model reports it).
# ledgersim's is `wall_s` of perf.json (the simulation shard: building the world, the run,
# the statistics; not parsing nor writing outputs). A ledgersim run of these setups lasts
# only 0.05–0.15 s, so one sample swings ±25 % with scheduling noise: ledgersim is run
# LEDGERSIM_REPEAT times (default 5), each a fresh process on the same setup and seed
# (identical outputs, checked), and the MEDIAN wall_s is used; min and max are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SIMPY_VENV:-target/simpy-venv}"
model="${SIMPY_PBFT:-}"
for cand in "$model" ../shared/reference/peers/simpy_pbft.py /work/shared/reference/peers/simpy_pbft.py docs/reference/peers/simpy_pbft.py; do
    if [[ -n "$cand" && -f "$cand" ]]; then model="$cand"; break; fi
done
[[ -f "$model" ]] || { echo "simpy_pbft.py not found; set SIMPY_PBFT=/path/to/simpy_pbft.py" >&2; exit 2; }
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import simpy' 2>/dev/null || "$venv/bin/pip" install --quiet simpy
cargo build --release --quiet
bin=target/release/ledgersim
repeat="${LEDGERSIM_REPEAT:-5}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [[ "${1:-}" == "quick" ]]; then
    setups="4:2000 16:200"
else
    setups="4:10000 16:1000 64:50"
fi
printf '%-4s %-7s | %-30s | %-30s | %s\n' n req "SimPy msgs  wall s   msgs/s" "ledgersim msgs  median wall s  msgs/s" "speed ratio"
for setup in $setups; do
    n=${setup%%:*}; req=${setup##*:}
    "$venv/bin/python" "$model" --n "$n" --requests "$req" --rate 100 --seed 1 > "$out/simpy-$n.txt"
    # duration: requests / rate + 1 s of slack for the last ones to commit.
    dur=$(python3 -c "print(f'{$req/100 + 1:.3f}s')")
    for ((k = 1; k <= repeat; k++)); do
        "$bin" run scenarios/bench/pbft-reference.toml --threads 1 --quiet --force --out "$out/ls-$n-$k" \
            --set "topology.group[0].count=$n" --set "workload.flow[0].limit=$req" --set "duration=$dur" >/dev/null
        cmp -s "$out/ls-$n-1/runs.csv" "$out/ls-$n-$k/runs.csv" || { echo "ledgersim repeat $k differs from repeat 1" >&2; exit 1; }
    done
    python3 - "$out/simpy-$n.txt" "$out/ls-$n" "$n" "$req" "$repeat" <<'PY'
import csv, json, statistics, sys
simpy = {}
for line in open(sys.argv[1]):
    parts = line.rsplit(None, 1)
    if len(parts) == 2:
        simpy[parts[0].strip()] = parts[1]
d = sys.argv[2]
n, req, repeat = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
walls = sorted(json.load(open(f"{d}-{k}/perf.json"))["wall_s"] for k in range(1, repeat + 1))
wall = statistics.median(walls)
row = next(csv.DictReader(open(f"{d}-1/runs.csv")))
ls_msgs = int(row["messages"])
ls_rate = ls_msgs / wall
sp_msgs = int(simpy["messages"]); sp_wall = float(simpy["wall_s"]); sp_rate = sp_msgs / sp_wall
print(f"{n:<4} {req:<7} | {sp_msgs:>10} {sp_wall:>7.2f} {sp_rate:>10.0f} | {ls_msgs:>10} {wall:>7.3f} {ls_rate:>10.0f} | {ls_rate / sp_rate:6.1f}x")
print(f"     ledgersim wall_s over {repeat} runs: median {wall:.4f} s, min {walls[0]:.4f}, max {walls[-1]:.4f}"
      f" (ratio at min / max wall: {ls_msgs / walls[0] / sp_rate:.1f}x / {ls_msgs / walls[-1] / sp_rate:.1f}x)")
print(f"     expected messages req × (2n² − n + 1) = {req * (2 * n * n - n + 1)} (SimPy stops counting at the last commit: messages still in flight are not counted)")
print(f"     latency ms mean/p50/p99  SimPy {float(simpy['latency ms mean']):.1f} / {float(simpy['latency ms p50']):.1f} / {float(simpy['latency ms p99']):.1f}"
      f"   ledgersim {float(row['latency_mean_ms']):.1f} / {float(row['latency_p50_ms']):.1f} / {float(row['latency_p99_ms']):.1f}"
      f"   (committed {row['committed']} of {req})")
PY
done
