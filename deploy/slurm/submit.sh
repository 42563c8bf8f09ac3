#!/usr/bin/env bash
# Submit a ledgersim experiment to Slurm as a job array of N shards plus a merge job that
# runs once every shard has succeeded.
#
#   deploy/slurm/submit.sh -n N -w SHARDS_DIR -o OUT [-f] SCENARIO [ledgersim run options…]
#
#   -n N           number of shards = array tasks (K = 0 … N-1)
#   -w SHARDS_DIR  where the shards go (default: OUT.shards); must be empty unless -f
#   -o OUT         merged result directory (default: results/<scenario file name>)
#   -f             replace existing shards and result (--force)
#
# Prints the two job ids ("ARRAY_JOB MERGE_JOB"). Paths are made absolute, so every node
# must see them at the same place (a shared file system). The ledgersim binary is $LEDGERSIM
# or `ledgersim` on PATH, resolved here. Partition, account, time limit and the like: use
# Slurm's own input variables (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT, …), or
# extra sbatch options for the array and the merge job in SHARD_SBATCH_OPTS and
# MERGE_SBATCH_OPTS (split on spaces), e.g. SHARD_SBATCH_OPTS="-c 4 --mem=2G" for 4 threads
# per shard.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}
n='' shards_dir='' out='' force=()
while getopts 'n:w:o:fh' opt; do
    case $opt in
        n) n=$OPTARG ;;
        w) shards_dir=$OPTARG ;;
        o) out=$OPTARG ;;
        f) force=(--force) ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
case $n in '' | *[!0-9]* | 0) echo "error: -n N (a positive number of shards) is required" >&2; exit 2 ;; esac
scenario=$1
shift
[ -f "$scenario" ] || { echo "error: $scenario: no such scenario file" >&2; exit 2; }
abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
scenario=$(abs "$scenario")
if [ -z "$out" ]; then
    stem=$(basename "$scenario" .toml)
    out=results/$stem
fi
out=$(abs "$out")
shards_dir=$(abs "${shards_dir:-$out.shards}")
bin=${LEDGERSIM:-ledgersim}
bin=$(command -v "$bin") || { echo "error: ledgersim binary not found (set LEDGERSIM=/path/to/ledgersim)" >&2; exit 2; }
export LEDGERSIM=$(abs "$bin")

if [ -d "$shards_dir" ] && [ -n "$(ls -A "$shards_dir")" ] && [ ${#force[@]} = 0 ]; then
    echo "error: $shards_dir is not empty; pass -f to replace it, or -w to choose another" >&2
    exit 2
fi
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ${#force[@]} = 0 ]; then
    echo "error: $out is not empty; pass -f to replace it, or -o to choose another" >&2
    exit 2
fi
# Check the scenario and its --set overrides here, before anything is queued.
check=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --set) check+=(--set "${args[i + 1]:-}"); i=$((i + 1)) ;;
        --set=*) check+=("${args[i]}") ;;
    esac
done
"$LEDGERSIM" check "$scenario" "${check[@]}" >/dev/null
[ ${#force[@]} = 0 ] || rm -rf "$shards_dir"
mkdir -p "$shards_dir"

# shellcheck disable=SC2086 # SHARD_SBATCH_OPTS / MERGE_SBATCH_OPTS are split on purpose
array=$(sbatch --parsable --array=0-$((n - 1)) -o "$shards_dir/slurm-%A_%a.log" \
    ${SHARD_SBATCH_OPTS:-} "$here/ledgersim-shard.sbatch" "$scenario" "$shards_dir" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
    -o "$shards_dir/slurm-merge-%j.log" ${MERGE_SBATCH_OPTS:-} \
    "$here/ledgersim-merge.sbatch" "$shards_dir" "$out" "${force[@]}")
merge=${merge%%;*}
echo "$array $merge"
