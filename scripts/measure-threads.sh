#!/usr/bin/env bash
# Multi-core speed-up of replications: wall time of an 8-replication run with --threads 2
# divided by --threads 1 (target ≤ 0.55 on 2 cores), and a check that both runs wrote
# byte-identical deterministic outputs. Usage: scripts/measure-threads.sh [SCENARIO] [REPS]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/china-social-security.toml}"
reps="${2:-8}"
cargo build --release --quiet
bin=target/release/ledgersim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wall() { # prints the wall seconds from perf.json
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_s"])' "$1/perf.json"
}
"$bin" run "$scenario" --replications "$reps" --threads 1 --out "$out/t1" --quiet >/dev/null
"$bin" run "$scenario" --replications "$reps" --threads 2 --out "$out/t2" --quiet >/dev/null
for f in summary.json runs.csv timeseries.csv; do
    cmp -s "$out/t1/$f" "$out/t2/$f" || { echo "DIFFERENT $f between --threads 1 and 2" >&2; exit 1; }
done
t1=$(wall "$out/t1"); t2=$(wall "$out/t2")
python3 -c "import sys; t1,t2=float(sys.argv[1]),float(sys.argv[2]); print(f'{sys.argv[3]}: {sys.argv[4]} replications  --threads 1: {t1:.2f} s  --threads 2: {t2:.2f} s  ratio {t2/t1:.3f} (target <= 0.55); outputs identical')" "$t1" "$t2" "$scenario" "$reps"
