#!/usr/bin/env bash
# Regenerate the committed example results under results/examples/ — the outputs (summary,
# CSVs, manifest, charts, report.html) of every bundled scenario.
#
# Usage (from anywhere):   scripts/regenerate-results.sh
#   LEDGERSIM=path/to/ledgersim   use an already built binary instead of `cargo build --release`
#   THREADS=N                     worker threads (default: all cores; results do not depend on it)
#
# Each scenario runs as shipped (its own seed, duration and replications), except:
#   - bitcoin-simblock-2019 is SKIPPED: 6,000 proof-of-work nodes over 1,000 simulated
#     minutes is a long run (see the README), and its summary.json alone is ≈1.6 MB (CPU
#     utilization of every node) even when shortened — too big to commit as an example;
#   - national-day is SKIPPED: one whole simulated day at record level is a performance
#     scenario (≈1.9 G events, minutes of CPU; docs/PERFORMANCE.md), not an example;
#   - scenarios/validation/ (if present): those are checked by `ledgersim validate`, which
#     writes docs/VALIDATION.md; they are not example results and are skipped.
# Outputs go to results/examples/<path under scenarios/ without .toml>/ and replace what
# was there. The default output of `ledgersim run` (results/<name>/) stays git-ignored, so
# the README's commands still work on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LEDGERSIM:-}" ]; then
    cargo build --release --locked
    LEDGERSIM=target/release/ledgersim
fi
threads=()
if [ -n "${THREADS:-}" ]; then
    threads=(--threads "$THREADS")
fi

find scenarios -name '*.toml' -not -path 'scenarios/validation/*' | LC_ALL=C sort | while read -r scenario; do
    rel="${scenario#scenarios/}"
    out="results/examples/${rel%.toml}"
    extra=()
    case "$rel" in
        bitcoin-simblock-2019.toml)
            echo "== $scenario: skipped (long run, large summary; see above)"
            continue
            ;;
        national-day.toml)
            echo "== $scenario: skipped (performance scenario, a long run; see above)"
            continue
            ;;
    esac
    echo "== $scenario -> $out ${extra[*]:-}"
    start=$(date +%s)
    "$LEDGERSIM" run "$scenario" --out "$out" --force --quiet "${threads[@]}" "${extra[@]}" >/dev/null
    # perf.json (wall time) differs on every run: keep the committed examples stable.
    rm -f "$out/perf.json"
    echo "   $(( $(date +%s) - start )) s, $(du -sh "$out" | cut -f1)"
done
echo "done: results/examples/ ($(du -sh results/examples | cut -f1))"
