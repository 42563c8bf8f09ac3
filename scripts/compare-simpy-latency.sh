#!/usr/bin/env bash
# Latency of the PBFT reference model, ledgersim against SimPy, over several seeds: is the
# difference within sampling error? (Issue #6 target 1: "latency mean/p50/p99 agree within
# sampling error".) For each setup of scripts/compare-simpy.sh (n = 4, 16, 64), both models run
# with seeds 1 … SEEDS (default 10); per statistic the script prints the mean and standard
# deviation over seeds on each side, the difference, and z = difference / its standard error
# (√(s₁²/K + s₂²/K)). |z| < 3 is agreement within sampling error.
#
#   SIMPY_VENV=target/simpy-venv scripts/compare-simpy-latency.sh [BIN]   (default: builds and uses target/release/ledgersim)
#   SEEDS=20 scripts/compare-simpy-latency.sh target/release/ledgersim
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [[ -z "$bin" ]]; then
    cargo build --release --quiet
    bin=target/release/ledgersim
fi
[[ -x "$bin" ]] || { echo "not an executable: $bin" >&2; exit 2; }
seeds=${SEEDS:-10}
venv=${SIMPY_VENV:-target/simpy-venv}
model=${SIMPY_PBFT:-}
for cand in "$model" ../shared/reference/peers/simpy_pbft.py /work/shared/reference/peers/simpy_pbft.py docs/reference/peers/simpy_pbft.py; do
    [[ -n "$cand" && -f "$cand" ]] && { model=$cand; break; }
done
[[ -f "$model" ]] || { echo "simpy_pbft.py not found; set SIMPY_PBFT=/path/to/simpy_pbft.py" >&2; exit 2; }
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import simpy' 2>/dev/null || "$venv/bin/pip" install --quiet simpy
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for setup in ${SETUPS:-4:10000 16:1000 64:50}; do
    n=${setup%%:*}; req=${setup##*:}
    dur=$(python3 -c "print(f'{$req/100 + 1:.3f}s')")
    for s in $(seq "$seeds"); do
        "$venv/bin/python" "$model" --n "$n" --requests "$req" --rate 100 --seed "$s" > "$out/simpy-$n-$s.txt"
        "$bin" run scenarios/bench/pbft-reference.toml --threads 1 --quiet --force --out "$out/ls-$n-$s" --seed "$s" \
            --set "topology.group[0].count=$n" --set "workload.flow[0].limit=$req" --set "duration=$dur" >/dev/null
    done
    python3 - "$out" "$n" "$req" "$seeds" <<'PY'
import csv, math, statistics, sys
out, n, req, seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
sp = {"mean": [], "p50": [], "p99": []}
ls = {"mean": [], "p50": [], "p99": []}
for s in range(1, seeds + 1):
    vals = {}
    for line in open(f"{out}/simpy-{n}-{s}.txt"):
        parts = line.rsplit(None, 1)
        if len(parts) == 2:
            vals[parts[0].strip()] = parts[1]
    for k in sp:
        sp[k].append(float(vals[f"latency ms {k}"]))
    row = next(csv.DictReader(open(f"{out}/ls-{n}-{s}/runs.csv")))
    assert int(row["committed"]) == req, f"n={n} seed {s}: {row['committed']} of {req} committed"
    for k in ls:
        ls[k].append(float(row[f"latency_{k}_ms"]))
print(f"n = {n}, {req} requests, seeds 1…{seeds}: latency ms, mean ± sd over seeds")
worst = 0.0
for k in ("mean", "p50", "p99"):
    a, b = sp[k], ls[k]
    ma, mb = statistics.mean(a), statistics.mean(b)
    sa, sb = statistics.stdev(a), statistics.stdev(b)
    se = math.sqrt(sa * sa / seeds + sb * sb / seeds)
    z = (mb - ma) / se if se > 0 else float("inf") if mb != ma else 0.0
    worst = max(worst, abs(z))
    print(f"  {k:<4}  SimPy {ma:7.2f} ± {sa:5.2f}   ledgersim {mb:7.2f} ± {sb:5.2f}   difference {mb - ma:+6.2f} ({100 * (mb - ma) / ma:+.1f} %)   z = {z:+.2f}")
print(f"  {'agree within sampling error' if worst < 3 else 'DIFFER'} (largest |z| = {worst:.2f})")
PY
done
