#!/usr/bin/env bash
# Byte-compare the deterministic outputs (summary.json, runs.csv, timeseries.csv,
# latency_histograms.csv — the `events` counter included) of two ledgersim binaries on the
# scenarios a performance change must not alter.
#
#   scripts/compare-outputs.sh BEFORE_BINARY [AFTER_BINARY] [--quick]
#
# BEFORE's outputs are cached in $REF_DIR (default /tmp/ledgersim-ref/<sha of BEFORE>), so
# repeated comparisons only re-run AFTER (default target/release/ledgersim). `--quick` skips
# the slower cases (national day 15 min and 09:00–09:03, flagship). Exit 0 iff every file is identical.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?usage: compare-outputs.sh BEFORE_BINARY [AFTER_BINARY] [--quick]}
after=${2:-target/release/ledgersim}
quick=${3:-}
[[ "$after" == --quick ]] && { quick=--quick; after=target/release/ledgersim; }
sha=$(sha256sum "$before" | cut -c1-12)
ref=${REF_DIR:-/tmp/ledgersim-ref/$sha}
out=${OUT_DIR:-/tmp/ledgersim-cmp-$$}
mkdir -p "$ref" "$out"

# name|scenario|extra args
cases=()
for f in scenarios/faults/*.toml scenarios/validation/analytic-*.toml scenarios/validation/queueing-*.toml \
         scenarios/validation/pow-stale-rate.toml; do
  cases+=("$(basename "$f" .toml)|$f|")
done
cases+=("pbft-ref-n4|scenarios/bench/pbft-reference.toml|--set topology.group[0].count=4 --set workload.flow[0].limit=10000 --set duration=101s")
cases+=("pbft-ref-n16|scenarios/bench/pbft-reference.toml|--set topology.group[0].count=16 --set workload.flow[0].limit=1000 --set duration=11s")
cases+=("pbft-ref-n64|scenarios/bench/pbft-reference.toml|--set topology.group[0].count=64 --set workload.flow[0].limit=50 --set duration=1.500s")
if [[ "$quick" != --quick ]]; then
  cases+=("flagship|scenarios/china-social-security.toml|")
  cases+=("national-day-15m|scenarios/national-day.toml|--set duration=15m")
  # $extra is split on spaces unquoted: the quotes reach ledgersim as written (a TOML string).
  cases+=("national-day-peak-3m|scenarios/national-day.toml|--set start_time=\"09:00\" --set duration=3m")
fi

files="summary.json runs.csv timeseries.csv latency_histograms.csv"
fail=0
for c in "${cases[@]}"; do
  IFS='|' read -r name scen extra <<<"$c"
  # shellcheck disable=SC2086
  if [[ ! -f "$ref/$name/summary.json" ]]; then
    "$before" run "$scen" $extra --quiet --force --out "$ref/$name" >/dev/null
  fi
  # shellcheck disable=SC2086
  "$after" run "$scen" $extra --quiet --force --out "$out/$name" >/dev/null
  case_fail=0
  for f in $files; do
    if [[ -f "$ref/$name/$f" ]] && ! cmp -s "$ref/$name/$f" "$out/$name/$f"; then
      echo "DIFFERS: $name/$f"; case_fail=1; fail=1
    fi
  done
  if [[ $case_fail == 0 ]]; then echo "same: $name"; fi
done
[[ $fail == 0 ]] && echo "ALL IDENTICAL" || { echo "SOME OUTPUTS DIFFER"; exit 1; }
