#!/usr/bin/env bash
# End-to-end test on a real single-node Slurm cluster (Debian's slurm-wlm +
# munge), started from nothing in a temp folder by tests/slurm/cluster.sh and
# stopped at the end, whatever happens:
#   a. the cluster itself: an array job's tasks and their SLURM_ARRAY_* values,
#      one GPU each (fake GPUs), one task cancelled and resubmitted alone, srun
#      tasks' SLURM_PROCID; as root, also a cluster run by an unprivileged user;
#   b. saex sharded by Slurm: `sbatch --array=0-2` of `saex extract --run-dir`,
#      task 1 cancelled, `saex merge` refusing, `saex status`, task 1
#      resubmitted, `saex merge` byte-identical to a single run; then the same
#      with `srun -n 3`, and with examples/slurm/*.sbatch as a user submits them.
# Leaves nothing under /etc, /run or /var (checked). Prints "ok NAME" /
# "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
cd "$(dirname "$0")/.." || exit 1
SAEX=${SAEX:-build/saex}
# Run inside a Slurm job itself (a CI runner on a cluster), this script must
# not hand that job's SLURM_* variables to its own saex runs or daemons.
for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done
failures=0
ok() { echo "ok $1${2:+ ($2)}"; }
fail() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; }

for c in slurmctld slurmd munged mungekey sbatch srun scontrol sinfo squeue scancel; do
    if ! command -v "$c" >/dev/null; then
        skip slurm "$c not on PATH (Debian slurm-wlm + munge: scripts/setup.sh)"
        exit 0
    fi
done
[ -x "$SAEX" ] || { fail binary "$SAEX not built"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/saex_slurm.XXXXXX")
chmod 755 "$T"   # munged wants the socket's folders traversable by all
. tests/slurm/cluster.sh
cleanup() { slurm_stop; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# What Slurm or munge would create system-wide if they used their defaults.
SYSTEM_PATHS=(/etc/slurm /etc/slurm-llnl /etc/munge /run/munge /run/slurm /run/slurmctld.pid /run/slurmd.pid
              /var/run/munge /var/lib/slurm /var/lib/munge /var/log/slurm /var/log/munge /var/spool/slurm
              /var/spool/slurmd /var/spool/slurmctld)
system_state() { find "${SYSTEM_PATHS[@]}" -maxdepth 4 -printf '%p %s %T@\n' 2>/dev/null | sort; }
system_state >"$T/system_before"

t0=$(date +%s.%N)
if ! SLURM_FAKE_GPUS=3 slurm_start "$T/cluster"; then
    fail cluster_start "see the logs above"
    exit 1
fi
ok cluster_start "node idle after $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"

submit() { # submit SBATCH_ARGS...: prints the job id
    sbatch --parsable --output="$T/slurm-%A_%a.out" --chdir="$PWD" "$@" | cut -d';' -f1
}
wait_file() { # wait_file PATH SECONDS
    local end=$((SECONDS + $2))
    while [ ! -e "$1" ]; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}
states_are() { # states_are WANT "TASK STATE" lines on stdin: every state is WANT
    ! grep -qv " $1\$"
}

# ------------------------------------------------------------ a. the cluster
t0=$(date +%s.%N)
export S=$T/sanity   # read by the job script (sbatch passes the environment)
mkdir -p "$S"
cat >"$S/task.sh" <<'EOF'
#!/bin/bash
# Records the array variables; a task with a hold file waits until it is gone.
i=$SLURM_ARRAY_TASK_ID
echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_COUNT" >"$S/env_$i.$SLURM_ARRAY_JOB_ID"
echo "${CUDA_VISIBLE_DEVICES-unset}" >"$S/gpu_$i.$SLURM_ARRAY_JOB_ID"
if [ -e "$S/hold_$i" ]; then
    touch "$S/started_$i"
    while [ -e "$S/hold_$i" ]; do sleep 0.2; done
fi
touch "$S/done_$i"
EOF
touch "$S/hold_1"
job=$(submit --array=0-2 --gres=gpu:1 --job-name=sanity "$S/task.sh")
if [ -z "$job" ]; then fail array_submit "sbatch gave no job id"
elif ! wait_file "$S/started_1" 120; then fail array_task_hold "task 1 never started: $(squeue 2>&1)"
else
    scancel "${job}_1"
    if slurm_wait_done 180 "${job}_0" "${job}_1" "${job}_2" >"$T/states"; then
        if grep -qx "${job}_1 CANCELLED" "$T/states" && grep -v "^${job}_1 " "$T/states" | states_are COMPLETED \
           && [ ! -e "$S/done_1" ] && [ -e "$S/done_0" ] && [ -e "$S/done_2" ]; then
            ok array_cancel_one_task
        else fail array_cancel_one_task "$(tr '\n' ' ' <"$T/states")"; fi
    else fail array_cancel_one_task "timeout: $(tr '\n' ' ' <"$T/states")"; fi
    envs=$(cat "$S/env_0.$job" "$S/env_2.$job" 2>/dev/null | tr '\n' ' ')
    if [ "$envs" = "0 0 2 3 2 0 2 3 " ]; then ok array_env_first_submission
    else fail array_env_first_submission "ID MIN MAX COUNT: '$envs', expected '0 0 2 3 2 0 2 3'"; fi
    # Slurm gives each task its GPU as CUDA_VISIBLE_DEVICES (one index).
    gpus=$(cat "$S/gpu_0.$job" "$S/gpu_1.$job" "$S/gpu_2.$job" 2>/dev/null | tr '\n' ' ')
    if [[ $gpus =~ ^[0-2]\ [0-2]\ [0-2]\ $ ]]; then
        ok array_gpu_per_task
    else fail array_gpu_per_task "CUDA_VISIBLE_DEVICES of tasks 0 1 2: '$gpus'"; fi
    rm -f "$S/hold_1"
    job2=$(submit --array=1 --gres=gpu:1 --job-name=sanity "$S/task.sh")
    if slurm_wait_done 180 "${job2}_1" >"$T/states2" && states_are COMPLETED <"$T/states2" && [ -e "$S/done_1" ]; then
        ok array_resubmit_one_task
    else fail array_resubmit_one_task "$(cat "$T/states2") $(cat "$T"/slurm-"$job2"_1.out 2>/dev/null)"; fi
    # A resubmitted task sees only its own array: MIN = MAX = its id, COUNT = 1.
    # So a shard index cannot be derived as ID - MIN with COUNT shards there.
    envs=$(cat "$S/env_1.$job2" 2>/dev/null)
    if [ "$envs" = "1 1 1 1" ]; then ok array_env_resubmission
    else fail array_env_resubmission "ID MIN MAX COUNT: '$envs', expected '1 1 1 1'"; fi
fi
# -O: three tasks on a node that may have fewer CPUs.
# shellcheck disable=SC2016  # expanded by the task's shell
if timeout 120 srun -n 3 -O --output="$T/srun_%t.out" bash -c 'echo "$SLURM_PROCID $SLURM_NTASKS"' 2>"$T/srun.err"; then
    got=$(cat "$T"/srun_*.out | sort | tr '\n' ' ')
    if [ "$got" = "0 3 1 3 2 3 " ]; then ok srun_procid_ntasks
    else fail srun_procid_ntasks "PROCID NTASKS: '$got'"; fi
else fail srun_procid_ntasks "$(head -5 "$T/srun.err")"; fi

# As root: the same kind of cluster run entirely by an unprivileged user
# (SlurmUser = SlurmdUser = that user; jobs run as that user).
other_user_cluster() {
    local U=$T/other uid=65534
    mkdir -p "$U"
    cp tests/slurm/cluster.sh "$U/"
    cat >"$U/run.sh" <<'EOF'
. "$1/cluster.sh"
trap slurm_stop EXIT
slurm_start "$1/cluster" || exit 1
j=$(sbatch --parsable --output="$1/out_%a" --array=0-1 --wrap 'id -u' | cut -d';' -f1)
slurm_wait_done 120 "${j}_0" "${j}_1"
timeout 120 srun -n 2 -O id -u
EOF
    chown -R "$uid" "$U"
    local as_user=(setpriv --reuid="$uid" --regid="$(getent passwd "$uid" | cut -d: -f4)" --clear-groups)
    if ! "${as_user[@]}" test -r "$U/cluster.sh"; then   # e.g. a TMPDIR only root may enter
        skip cluster_as_other_user "uid $uid cannot reach $U"; return
    fi
    "${as_user[@]}" env HOME="$U" bash "$U/run.sh" "$U" >"$U/log" 2>&1
    local rc=$?
    slurm_stop "$U/cluster"   # in case the user's own trap did not run
    if [ $rc -eq 0 ] && [ "$(cat "$U"/out_0 "$U"/out_1 | tr '\n' ' ')" = "$uid $uid " ] \
       && [ "$(grep -c "^$uid\$" "$U/log")" -eq 2 ] && grep -q "_0 COMPLETED" "$U/log"; then
        ok cluster_as_other_user "uid $uid"
    else fail cluster_as_other_user "exit $rc: $(tail -5 "$U/log" | tr '\n' ' ')"; fi
}
if [ "$(id -u)" -ne 0 ]; then skip cluster_as_other_user "not root (this run is itself the unprivileged case)"
elif ! command -v setpriv >/dev/null || ! getent passwd 65534 >/dev/null; then skip cluster_as_other_user "no setpriv or no uid 65534"
else other_user_cluster; fi
echo "# part a took $(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)") s"

# ------------------------------------------------ b. saex sharded by Slurm
saex_sharding() {
    export D=$T/saex SAEX   # read by the job script
    mkdir -p "$D"
    # 105 variations: the demo's 15, each with 7 different endings; batches of
    # 128 tokens give each of the 3 shards several batches.
    python3 - "$D/input.json" <<'EOF'
import copy, json, sys
d = json.load(open("examples/input.json"))
endings = ["today", "again", "please", "quickly", "in short", "for a friend", "as a test"]
results = []
for n, word in enumerate(endings):
    for r in d["results"]:
        r = copy.deepcopy(r)
        r["question_id"] = "%s_%d" % (r["question_id"], n)
        for v in r["variations"]:
            v["prompt"] += " (%s)" % word
            v["response"] += " " + endings[(3 * n) % len(endings)].capitalize() + "."
        results.append(r)
d["results"] = results
json.dump(d, open(sys.argv[1], "w"), ensure_ascii=False, indent=1)
EOF
    # The same options for every run; the CPU even where a GPU is present, so
    # that all runs compute alike.
    local opts=(--model examples/model --sae examples/sae --target-layer 2 --top-k 10 --batch-tokens 128 --threads 1)
    local args=(--input "$D/input.json" "${opts[@]}" --device cpu)
    if ! "$SAEX" extract "${args[@]}" --output "$D/single.json" >"$D/single.log" 2>&1; then
        fail saex_single_run "$(tail -3 "$D/single.log")"; return
    fi

    # The job: the shard comes from the Slurm environment (no --shard); a task
    # with a hold file waits before saex starts, so that it can be cancelled
    # before it finishes, every time.
    cat >"$D/shard.sh" <<'EOF'
#!/bin/bash
i=$SLURM_ARRAY_TASK_ID
echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_COUNT" >"$D/env_$i.$SLURM_ARRAY_JOB_ID"
if [ -e "$D/hold_$i" ]; then
    touch "$D/started_$i"
    while [ -e "$D/hold_$i" ]; do sleep 0.2; done
fi
mapfile -t args <"$D/args"
exec "$SAEX" extract "${args[@]}"
EOF
    # The options, one a line (a bash array cannot be exported to the job).
    printf '%s\n' "${args[@]}" --output "$D/sharded.json" --run-dir "$D/run" >"$D/args"
    touch "$D/hold_1"
    local job job2
    job=$(submit --array=0-2 --job-name=saex "$D/shard.sh")
    if [ -z "$job" ] || ! wait_file "$D/started_1" 120; then
        fail saex_array "task 1 never started: $(squeue 2>&1)"; return
    fi
    scancel "${job}_1"
    if ! slurm_wait_done 300 "${job}_0" "${job}_1" "${job}_2" >"$D/states"; then
        fail saex_array "timeout: $(tr '\n' ' ' <"$D/states")"; return
    fi
    if grep -qx "${job}_1 CANCELLED" "$D/states" && grep -v "^${job}_1 " "$D/states" | states_are COMPLETED; then
        ok saex_array_two_shards_done_one_cancelled
    else
        fail saex_array_two_shards_done_one_cancelled "$(tr '\n' ' ' <"$D/states")"
        for f in "$T"/slurm-"$job"_*.out; do echo "---- $f"; tail -5 "$f"; done
        return
    fi
    if [ -e "$D/sharded.json" ]; then fail saex_shard_writes_no_output "$D/sharded.json exists after shard runs"
    else ok saex_shard_writes_no_output; fi

    "$SAEX" merge "$D/run" --output "$D/early.json" >"$D/merge1.log" 2>&1
    local rc=$?
    if [ $rc -ne 0 ] && [ ! -e "$D/early.json" ] && grep -qiE 'missing|incomplete' "$D/merge1.log" \
       && grep -qE '(^|[^0-9])1([^0-9]|$)' "$D/merge1.log"; then
        ok saex_merge_lists_missing_shard
    else fail saex_merge_lists_missing_shard "exit $rc: $(head -5 "$D/merge1.log")"; fi
    if "$SAEX" status "$D/run" >"$D/status.log" 2>&1 && [ "$(grep -cE '(^|[^0-9])[0-2]([^0-9]|$)' "$D/status.log")" -ge 3 ]; then
        ok saex_status_per_shard
    else fail saex_status_per_shard "$(head -8 "$D/status.log")"; fi
    sed 's/^/    status: /' "$D/status.log"

    # Resubmit only the cancelled task, as a user would: same script, --array=1.
    rm -f "$D/hold_1"
    job2=$(submit --array=1 --job-name=saex "$D/shard.sh")
    # The resubmitted task sees SLURM_ARRAY_TASK_MIN=1, COUNT=1 (part a): it must
    # still run as shard 1 of 3, not as a whole run writing the output.
    if slurm_wait_done 300 "${job2}_1" >"$D/states2" && states_are COMPLETED <"$D/states2"; then
        if [ -e "$D/sharded.json" ]; then
            fail saex_resubmitted_shard "it wrote $D/sharded.json: it ran unsharded (SLURM_ARRAY_TASK_ID MIN MAX COUNT = $(cat "$D/env_1.$job2" 2>/dev/null))"
        else ok saex_resubmitted_shard; fi
    else
        fail saex_resubmitted_shard "$(cat "$D/states2"); SLURM_ARRAY_TASK_ID MIN MAX COUNT seen: $(cat "$D/env_1.$job2" 2>/dev/null)"
        tail -5 "$T/slurm-${job2}_1.out"
    fi
    if "$SAEX" merge "$D/run" --output "$D/merged.json" >"$D/merge2.log" 2>&1; then
        same_output saex_array_merge_identical "$D/single.json" "$D/merged.json"
    else fail saex_array_merge_identical "merge: $(head -5 "$D/merge2.log")"; fi

    # srun: three tasks of one step, shards from SLURM_PROCID / SLURM_NTASKS.
    if timeout 300 srun -n 3 -O --output="$D/srun_%t.out" "$SAEX" extract "${args[@]}" --output "$D/srun.json" \
            --run-dir "$D/run_srun" 2>"$D/srun.err"; then
        if "$SAEX" merge "$D/run_srun" --output "$D/srun_merged.json" >"$D/merge3.log" 2>&1; then
            same_output saex_srun_merge_identical "$D/single.json" "$D/srun_merged.json"
        else fail saex_srun_merge_identical "merge: $(head -5 "$D/merge3.log")"; fi
    else fail saex_srun_merge_identical "srun: $(head -5 "$D/srun.err") $(tail -3 "$D"/srun_*.out)"; fi

    # The user-facing scripts as documented: the array (one fake GPU per task)
    # and the merge job that depends on it. Only what this one-node test
    # cluster cannot grant (4 CPUs, 48G, the log folder) and the demo's
    # options are overridden at submission.
    local fit=(--cpus-per-task=1 --mem=100M --chdir="$PWD")
    job=$(env SHARDS=3 DEVICE=cpu INPUT="$D/input.json" OUTPUT="$D/example.json" EXTRACT_OPTIONS="${opts[*]}" \
          sbatch --parsable "${fit[@]}" --array=0-2 --output="$D/example-%A_%a.out" examples/slurm/extract_array.sbatch | cut -d';' -f1)
    job2=$(env OUTPUT="$D/example.json" \
           sbatch --parsable "${fit[@]}" --dependency=afterok:"$job" --kill-on-invalid-dep=yes \
               --output="$D/example-merge.out" examples/slurm/merge.sbatch | cut -d';' -f1)
    if [ -z "$job" ] || [ -z "$job2" ]; then fail example_sbatch_scripts "sbatch refused them"
    elif ! slurm_wait_done 300 "${job}_0" "${job}_1" "${job}_2" "$job2" >"$D/states3" \
         || ! states_are COMPLETED <"$D/states3"; then
        fail example_sbatch_scripts "$(tr '\n' ' ' <"$D/states3") $(tail -3 "$D"/example-*.out | tr '\n' ' ')"
    else same_output example_sbatch_scripts "$D/single.json" "$D/example.json"; fi
}

# same_output NAME A B: byte-identical, else says which JSON fields differ
# (a path in the metadata is reported, not forgiven).
same_output() {
    if cmp -s "$2" "$3"; then ok "$1"; return; fi
    fail "$1" "$(python3 - "$2" "$3" <<'EOF'
import json, sys
def walk(a, b, path, out):
    if type(a) != type(b):
        out.append(path); return
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            walk(a.get(k), b.get(k), path + "." + k, out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(path + "[len]")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, "%s[%d]" % (path, i), out)
    elif a != b:
        out.append("%s: %r != %r" % (path, a, b))
try:
    out = []
    walk(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), "", out)
    print("differ in %d places: %s" % (len(out), "; ".join(out[:5])) if out else "same JSON, different bytes")
except ValueError as e:
    print("not comparable as JSON: %s" % e)
EOF
)"
}

saex_sharding

# ------------------------------------------------------------- stop, leave nothing
daemons=$(cat "$T"/cluster/run/*.pid.ours 2>/dev/null)
slurm_stop
left=
for p in $daemons; do slurm_pid_alive "$p" && left="$left $p"; done
left="$left$(slurm_stepds "$T/cluster" | tr '\n' ' ')"
if [ -z "${left// /}" ]; then ok cluster_stop; else fail cluster_stop "still running:$left"; fi
system_state >"$T/system_after"
if cmp -s "$T/system_before" "$T/system_after"; then ok no_system_state
else fail no_system_state "$(diff "$T/system_before" "$T/system_after" | head -10 | tr '\n' ' ')"; fi

[ $failures -eq 0 ]
