#!/usr/bin/env bash
# CI time of the Slurm step of .ci/run: `apt-get update` + installing munge, slurmctld,
# slurmd and slurm-client, then tests/slurm/run.sh, each timed as in .ci/run.
#
#   scripts/measure-slurm-ci.sh            # as root; packages may already be installed
#   scripts/measure-slurm-ci.sh --fresh    # first purge them and empty apt's cache, so the
#                                          # install downloads everything as on a fresh CI machine
#
# LEDGERSIM may name the binary to test (default: target/release/ledgersim, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive
pkgs=(munge slurmctld slurmd slurm-client)
if [ "${1:-}" = --fresh ]; then
    apt-get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
    apt-get autoremove --purge -y -qq >/dev/null 2>&1 || true
    apt-get clean
fi
t0=$EPOCHREALTIME
apt-get -o Acquire::Retries=3 update -qq
apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
t1=$EPOCHREALTIME
tests/slurm/run.sh >/dev/null
t2=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" -v c="$t2" \
    'BEGIN { printf "apt update+install: %.1f s\nslurm test:         %.1f s\ntotal Slurm step:   %.1f s\n", b - a, c - b, c - a }'
