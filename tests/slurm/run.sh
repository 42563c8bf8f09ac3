#!/usr/bin/env bash
# Real Slurm test: start a one-node Slurm cluster (munged, slurmctld, slurmd; no systemd),
# run a sweep as a 4-task job array through deploy/slurm/submit.sh, wait for the dependent
# merge job, and assert that the merged result is byte-identical to a single-machine run.
#
#   tests/slurm/run.sh            (as root, from anywhere; run by .ci/run)
#
# Needs Debian's packages munge, slurmctld, slurmd and slurm-client (installed by .ci/run)
# and root. It FAILS — never skips — when any of that is missing or Slurm does not come up.
# It is not part of `cargo test`. Every daemon it starts is stopped by the PID in its PID
# file when it exits, whether it passes or fails; jobs it submitted are cancelled first.
# Do not run it on a machine that already runs Slurm or munge: it writes
# /etc/slurm/slurm.conf and uses ports 6817/6818.
#
# Environment: LEDGERSIM (default: target/release/ledgersim, built if missing), WORK (scratch
# directory, default: a new temporary one, removed on success).
set -euo pipefail

T0=${EPOCHREALTIME/./}
ts() { local n=${EPOCHREALTIME/./}; printf '[slurm-test %6d ms] %s\n' $(((n - T0) / 1000)) "$*"; }
fail() { echo "SLURM TEST FAILED: $*" >&2; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ "$(id -u)" = 0 ] || fail "must run as root (it starts munged, slurmctld and slurmd)"
for c in munged mungekey munge unmunge slurmctld slurmd sinfo sbatch squeue scontrol scancel; do
    command -v "$c" >/dev/null || fail "$c not found: install munge slurmctld slurmd slurm-client (see .ci/run)"
done

if [ -z "${LEDGERSIM:-}" ]; then
    LEDGERSIM=$repo/target/release/ledgersim
    if [ ! -x "$LEDGERSIM" ]; then
        (cd "$repo" && cargo build --release --locked)
    fi
fi
[ -x "$LEDGERSIM" ] || fail "$LEDGERSIM is not an executable"
export LEDGERSIM

own_work=0
if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d /tmp/ledgersim-slurm.XXXXXX)
    own_work=1
fi
mkdir -p "$WORK"
chmod 0755 "$WORK"

# ---- teardown: cancel our jobs, then stop the daemons by their PID files -----------------
jobs_submitted=()
stop_slurm() {
    # SIGTERM to all three at once (each takes a second or two to shut down), then wait for
    # each PID, SIGKILL after 10 s.
    local f pid pids=()
    for f in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        pids+=("$pid:$f")
    done
    for p in "${pids[@]}"; do
        pid=${p%%:*}
        f=${p#*:}
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$f"
        ts "stopped $(basename "$f" .pid) (PID $pid)"
    done
}
cleanup() {
    local rc=$?
    if [ ${#jobs_submitted[@]} -gt 0 ]; then
        scancel "${jobs_submitted[@]}" 2>/dev/null || true
        for _ in $(seq 40); do
            [ -z "$(squeue -h -j "$(IFS=,; echo "${jobs_submitted[*]}")" 2>/dev/null)" ] && break
            sleep 0.25
        done
    fi
    if [ $rc != 0 ]; then
        echo "---- slurm logs (last lines) ----" >&2
        tail -n 40 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log 2>/dev/null >&2 || true
        for f in "$WORK"/shards/slurm-*.log; do [ -f "$f" ] && { echo "---- $f" >&2; cat "$f" >&2; }; done
    fi
    stop_slurm
    ts "daemons stopped"
    if [ $rc = 0 ] && [ $own_work = 1 ]; then rm -rf "$WORK"; fi
    exit $rc
}
stop_slurm # leftovers of an earlier, interrupted run on this machine
trap cleanup EXIT

# ---- munge ---------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then mungekey --create --keyfile=/etc/munge/munge.key; fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
runuser -u munge -- /usr/sbin/munged # daemonizes; PID in /run/munge/munged.pid
munge -n | unmunge >/dev/null || fail "munge does not work"
ts "munged up"

# ---- slurm.conf: one node, this machine --------------------------------------------------
cpus=$(nproc)
install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<EOF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
EnforcePartLimits=ALL
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

# ---- daemons (they daemonize and write their PID files) ----------------------------------
slurmctld -c # -c: clean state
slurmd -N localhost
for _ in $(seq 120); do
    [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ] && break
    sleep 0.25
done
sinfo
[ "$(sinfo -h -n localhost -o %T)" = idle ] || fail "the Slurm node did not become idle"
ts "slurm node idle ($cpus CPUs)"

# ---- the experiment: a 2-point sweep × 3 replications = 6 units over 4 shards -------------
scenario=$WORK/sweep.toml
cp "$repo/scenarios/quickstart.toml" "$scenario"
printf '\n[sweep]\n"workload.flow[0].arrival.rate" = [20.0, 60.0]\n' >>"$scenario"
opts=(--replications 3 --seed 20240601 --set 'duration="6s"' --set 'warmup="1s"')

"$LEDGERSIM" run "$scenario" --out "$WORK/single" --quiet "${opts[@]}"
ts "single-machine run done"

cd "$WORK"
ids=$("$repo/deploy/slurm/submit.sh" -n 4 -w "$WORK/shards" -o "$WORK/merged" "$scenario" "${opts[@]}")
read -r array merge <<<"$ids"
[ -n "${merge:-}" ] || fail "submit.sh printed no job ids: $ids"
jobs_submitted=("$array" "$merge")
ts "submitted array job $array (4 tasks) and merge job $merge (afterok:$array)"
for _ in $(seq 1200); do
    [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
    sleep 0.25
done
[ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] || fail "jobs still queued after 300 s: $(squeue -j "$array,$merge")"
jobs_submitted=()
ts "jobs finished"

# Every array task and the merge job completed with exit code 0 (no accounting: scontrol
# still knows them for MinJobAge seconds).
{ scontrol show job "$array"; scontrol show job "$merge"; } | grep -o 'JobState=[A-Z_]*' | sort | uniq -c
scontrol show job "$array" | grep -o 'ExitCode=[0-9:]*' | sort | uniq -c
[ "$(scontrol show job "$array" | grep -c 'JobState=COMPLETED')" = 4 ] || fail "not all 4 array tasks completed"
scontrol show job "$merge" | grep -q 'JobState=COMPLETED' || fail "the merge job did not complete"
for k in 0 1 2 3; do
    grep -q "\"count\": 4" "$WORK/shards/shard-$k/manifest.json" || fail "shard-$k is not one of 4 shards"
done

# ---- the merged result equals the single-machine run, byte for byte ----------------------
for f in summary.json runs.csv timeseries.csv; do
    cmp "$WORK/single/$f" "$WORK/merged/$f" || fail "$f of the merged Slurm run differs from the single-machine run"
done
digests() { sed -n '/"digests_sha256"/,/}/p' "$1/manifest.json"; }
[ -n "$(digests "$WORK/single")" ] || fail "no digests in the single-machine manifest"
diff <(digests "$WORK/single") <(digests "$WORK/merged") || fail "manifest digests differ"
"$LEDGERSIM" reproduce "$WORK/merged" --threads 1
ts "PASS: merged result of the 4-task array is byte-identical to the single-machine run"
