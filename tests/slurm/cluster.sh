#!/usr/bin/env bash
# A throw-away single-node Slurm cluster (Debian's slurm-wlm + munge) that
# lives entirely in one folder: munge key and socket, slurm.conf, state,
# spool, logs and pid files. Nothing is written under /etc, /run or /var.
#
# Sourced (what the tests do):
#     . tests/slurm/cluster.sh
#     trap 'slurm_stop' EXIT            # a failing test still stops everything
#     slurm_start "$T/cluster" || exit 1   # exports SLURM_CONF for sbatch/srun/squeue/...
#     ...
#     slurm_stop
# Run as a command (daemons left running in the background):
#     tests/slurm/cluster.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#     tests/slurm/cluster.sh stop DIR
#
# As root the daemons and jobs run as root (SlurmUser=root). As another user
# slurmctld, slurmd and the jobs run as that user; see tests/slurm/README.md.
# Without accounting there is no sacct: slurm_task_state reads a task's state
# from `scontrol show job`, which keeps finished jobs for MinJobAge (300 s).

SLURM_START_TIMEOUT=${SLURM_START_TIMEOUT:-60}   # seconds until the node must be idle
SLURM_STOP_TIMEOUT=${SLURM_STOP_TIMEOUT:-30}     # seconds per daemon before SIGKILL

# A TCP port nobody listens on now (the kernel picks it; it is not reserved,
# so another process could take it before the daemon binds: rare, and the
# start then fails with the log saying so).
slurm_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# slurm_start DIR: creates the cluster in DIR (made if missing), starts munged,
# slurmctld and slurmd, waits until the node is idle and exports SLURM_CONF.
# On failure prints the daemons' logs, stops what it started and returns 1.
# SLURM_FAKE_GPUS=N gives the node N "gpu" GRES (see slurm_write_conf).
slurm_start() {
    mkdir -p "$1" || return 1
    SLURM_DIR=$(cd "$1" && pwd -P)
    local dir=$SLURM_DIR attempt rc
    # munged refuses a socket in a folder other users cannot traverse
    # ("Socket is inaccessible"): 755 throughout.
    chmod 755 "$dir"
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run" "$dir/tmp"
    chmod 755 "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
    chmod 1777 "$dir/tmp"
    slurm_start_munge "$dir" || { slurm_logs; slurm_stop; return 1; }
    # The ports are picked free but not reserved: another process may take one
    # before the daemon binds it. Then try again with others.
    for attempt in 1 2 3; do
        slurm_write_conf "$dir" || { slurm_stop; return 1; }
        export SLURM_CONF=$dir/slurm.conf
        slurm_start_daemons "$dir"
        rc=$?
        [ $rc -eq 0 ] && return 0
        if [ $rc -ne 2 ] || [ $attempt -eq 3 ]; then break; fi
        echo "slurm_start: a port was taken; again with others" >&2
        slurm_stop_daemons "$dir" slurmd slurmctld
    done
    slurm_logs; slurm_stop; return 1
}

# munged on a private socket with a new key, in the foreground (kept by PID).
slurm_start_munge() {
    local dir=$1
    if ! mungekey -c -k "$dir/munge/munge.key" >"$dir/log/mungekey.log" 2>&1; then
        echo "slurm_start: mungekey failed" >&2
        return 1
    fi
    # -f: run even where munged finds a folder above DIR too open (a shared
    # /tmp, a CI workspace); the key and socket themselves are private to DIR.
    munged -F -f -S "$dir/munge/sock" --key-file "$dir/munge/munge.key" \
        --pid-file "$dir/run/munged.pid" --seed-file "$dir/munge/seed" \
        --log-file "$dir/log/munged.log" >>"$dir/log/munged.out" 2>&1 &
    echo $! >"$dir/run/munged.pid.ours"
    local _
    for _ in $(seq 1 100); do [ -S "$dir/munge/sock" ] && return 0; sleep 0.1; done
    echo "slurm_start: munged did not create $dir/munge/sock" >&2
    return 1
}

# DIR/slurm.conf (and gres.conf): one node, this host, all its CPUs, fresh ports.
slurm_write_conf() {
    local dir=$1 user host cpus mem ctld_port slurmd_port
    user=$(id -un)
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)   # MB; slurmd refuses more than there is
    ctld_port=$(slurm_free_port) && slurmd_port=$(slurm_free_port) || return 1
    [ "$slurmd_port" = "$ctld_port" ] && slurmd_port=$(slurm_free_port)
    # SLURM_FAKE_GPUS=N: N "gpu" GRES backed by harmless character devices, so
    # that --gres=gpu:1 jobs run and get CUDA_VISIBLE_DEVICES (no real GPU;
    # without device cgroups nothing is opened).
    local gres_types='' node_gres='' k devs=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom)
    rm -f "$dir/gres.conf"
    if [ "${SLURM_FAKE_GPUS:-0}" -gt 0 ]; then
        [ "$SLURM_FAKE_GPUS" -le ${#devs[@]} ] || { echo "slurm_start: at most ${#devs[@]} fake GPUs" >&2; return 1; }
        gres_types=GresTypes=gpu
        node_gres=Gres=gpu:$SLURM_FAKE_GPUS
        for ((k = 0; k < SLURM_FAKE_GPUS; k++)); do echo "NodeName=$host Name=gpu File=${devs[k]}"; done >"$dir/gres.conf"
    fi
    # Every path in DIR. No cgroups (proctrack/linuxproc, task/none), no
    # accounting (no slurmdbd: job states from scontrol, kept MinJobAge s).
    cat >"$dir/slurm.conf" <<EOF
ClusterName=saextest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=$dir/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
MinJobAge=3600
$gres_types
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem $node_gres State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

# slurmctld and slurmd in the foreground (kept by PID); waits for an idle node.
# Returns 2 when a daemon could not bind its port, 1 on any other failure.
slurm_start_daemons() {
    local dir=$1 state='' end=$((SECONDS + SLURM_START_TIMEOUT)) d
    slurmctld -D -i >>"$dir/log/slurmctld.out" 2>&1 &   # -i: no state from an earlier run
    echo $! >"$dir/run/slurmctld.pid.ours"
    slurmd -D >>"$dir/log/slurmd.out" 2>&1 &
    echo $! >"$dir/run/slurmd.pid.ours"
    while [ $SECONDS -le $end ]; do
        state=$(sinfo -h -o %T 2>/dev/null)
        [ "$state" = idle ] && return 0
        for d in munged slurmctld slurmd; do
            if ! slurm_pid_alive "$(cat "$dir/run/$d.pid.ours")"; then
                echo "slurm_start: $d exited" >&2
                grep -qi 'address already in use' "$dir"/log/slurm*.log "$dir"/log/slurm*.out 2>/dev/null && return 2
                return 1
            fi
        done
        sleep 0.2
    done
    echo "slurm_start: the node is '$state', not idle, after ${SLURM_START_TIMEOUT}s" >&2
    return 1
}

# True while PID runs (a zombie counts as gone: it waits only for its reaper).
slurm_pid_alive() {
    [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

# slurm_stop [DIR]: cancels every job, then stops slurmd, slurmctld and munged
# by the PIDs recorded at start, each waited for (SIGKILL after
# SLURM_STOP_TIMEOUT). Safe to call twice or after a failed start.
slurm_stop() {
    local dir=${1:-${SLURM_DIR:-}} jobs _
    [ -n "$dir" ] && [ -d "$dir/run" ] || return 0
    if [ -f "$dir/slurm.conf" ] && slurm_pid_alive "$(cat "$dir/run/slurmctld.pid.ours" 2>/dev/null)"; then
        # Jobs first: slurmstepd outlives slurmd, so a job left running would
        # keep its processes after the daemons are gone.
        jobs=$(SLURM_CONF=$dir/slurm.conf squeue -h -o %i 2>/dev/null)
        # shellcheck disable=SC2086  # one argument per job id
        [ -n "$jobs" ] && SLURM_CONF=$dir/slurm.conf scancel --quiet $jobs 2>/dev/null
        for _ in $(seq 1 $((SLURM_STOP_TIMEOUT * 5))); do
            [ -z "$(SLURM_CONF=$dir/slurm.conf squeue -h -o %i 2>/dev/null)" ] && [ -z "$(slurm_stepds "$dir")" ] && break
            sleep 0.2
        done
    fi
    local p
    for p in $(slurm_stepds "$dir"); do kill -KILL "$p" 2>/dev/null; done
    slurm_stop_daemons "$dir" slurmd slurmctld munged
}

# slurm_stop_daemons DIR NAME...: each in turn, by its recorded PID.
slurm_stop_daemons() {
    local dir=$1 d pid
    shift
    for d in "$@"; do
        pid=$(cat "$dir/run/$d.pid.ours" 2>/dev/null) || continue
        slurm_kill_wait "$pid"
        rm -f "$dir/run/$d.pid.ours"
    done
}

# The slurmstepd processes of the cluster in DIR: they carry its SLURM_CONF
# in their environment (inherited from slurmd).
slurm_stepds() {
    local f pid
    for f in /proc/[0-9]*/comm; do
        [ "$(cat "$f" 2>/dev/null)" = slurmstepd ] || continue
        pid=${f#/proc/}; pid=${pid%/comm}
        tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "SLURM_CONF=$1/slurm.conf" && echo "$pid"
    done
}

# SIGTERM, wait up to SLURM_STOP_TIMEOUT, then SIGKILL and wait.
slurm_kill_wait() {
    local pid=$1 _
    slurm_pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 $((SLURM_STOP_TIMEOUT * 10))); do
        slurm_pid_alive "$pid" || return 0
        sleep 0.1
    done
    echo "slurm_stop: $pid did not stop on SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 1 50); do slurm_pid_alive "$pid" || return 0; sleep 0.1; done
    return 1
}

# The last lines of every daemon log, to stderr (a daemon's stderr, X.out,
# only when its X.log is empty: in the foreground it repeats the log there).
slurm_logs() {
    local f
    for f in "${SLURM_DIR:?}"/log/*; do
        [ -s "$f" ] || continue
        [ "${f%.out}" != "$f" ] && [ -s "${f%.out}.log" ] && continue
        echo "---- $f" >&2
        tail -n 30 "$f" | sed 's/^/    /' >&2
    done
}

# slurm_task_state JOBID[_TASK]: PENDING, RUNNING, COMPLETED, CANCELLED,
# FAILED, ... from scontrol (no accounting); empty when the job is unknown.
slurm_task_state() {
    scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2
}

# slurm_wait_done TIMEOUT JOBID_TASK...: waits until every task has
# finished (any state but PENDING/RUNNING/...), prints "TASK STATE" lines.
# Returns 1 on timeout.
slurm_wait_done() {
    local timeout=$1; shift
    local end=$((SECONDS + timeout)) t s pending
    while :; do
        pending=0
        for t in "$@"; do
            s=$(slurm_task_state "$t")
            case $s in PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|"") pending=1 ;; esac
        done
        [ $pending -eq 0 ] && break
        [ $SECONDS -ge $end ] && { for t in "$@"; do echo "$t $(slurm_task_state "$t")"; done; return 1; }
        sleep 0.3
    done
    for t in "$@"; do echo "$t $(slurm_task_state "$t")"; done
}

# Command form: tests/slurm/cluster.sh start|stop DIR
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1:-} in
        start)
            [ -n "${2:-}" ] || { echo "usage: $0 start DIR" >&2; exit 2; }
            slurm_start "$2" || exit 1
            echo "export SLURM_CONF=$SLURM_CONF" ;;
        stop)
            [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
            slurm_stop "$(cd "$2" && pwd -P)" ;;
        *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
    esac
fi
