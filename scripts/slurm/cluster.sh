#!/bin/bash
# A throw-away single-node Slurm on loopback, for testing the sbatch scripts on one machine.
#
# Usage: scripts/slurm/cluster.sh start|stop|status|env
#   start   installs slurm-wlm and munge with apt if missing, then starts munged, slurmctld and
#           slurmd (as root, with their own sockets, pid files, logs, state and spool inside the
#           state dir), waits until the node is idle and prints the line to use:
#               export SLURM_CONF=$LLAMACL_SLURM_DIR/etc/slurm.conf
#           so `eval "$(scripts/slurm/cluster.sh start)"` sets up the current shell. Starting a
#           cluster that already runs only checks it and prints that line again.
#   stop    cancels the cluster's remaining jobs, then stops the three daemons by the process ids
#           in their pid files (never by name).
#   status  shows which daemons run and what sinfo says.
#   env     prints the export line.
#
# Environment:
#   LLAMACL_SLURM_DIR         state dir (default /tmp/llamacl-slurm); nothing is written outside
#                             it except the apt install.
#   LLAMACL_SLURM_CTLD_PORT   slurmctld port on 127.0.0.1 (default 6817)
#   LLAMACL_SLURM_D_PORT      slurmd port on 127.0.0.1 (default 6818)
#   LLAMACL_SLURM_CPUS        CPUs of the node (default: nproc)
#   LLAMACL_SLURM_WAIT        seconds to wait for the node to become idle (default 60)
#
# Made for containers: no cgroups (proctrack/linuxproc, task/none, jobacct_gather/none), no
# accounting database (so no sacct: poll jobs with `scontrol show job`; finished jobs are kept
# in the controller for MinJobAge=3600 s).
set -euo pipefail

DIR=${LLAMACL_SLURM_DIR:-/tmp/llamacl-slurm}
CTLD_PORT=${LLAMACL_SLURM_CTLD_PORT:-6817}
D_PORT=${LLAMACL_SLURM_D_PORT:-6818}
WAIT=${LLAMACL_SLURM_WAIT:-60}
CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket.2
NODE=localhost

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pid_alive() {  # pid_alive PIDFILE -> 0 if the recorded process runs
  local f=$1 pid
  [ -f "$f" ] || return 1
  pid=$(tr -dc 0-9 < "$f" 2>/dev/null || true)
  [ -n "$pid" ] && as_root kill -0 "$pid" 2>/dev/null
}

install_packages() {
  local missing=()
  command -v munged >/dev/null 2>&1 || [ -x /usr/sbin/munged ] || missing+=(munge)
  for b in slurmctld slurmd sbatch sinfo scontrol; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { missing+=(slurm-wlm); break; }
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    slurm-wlm munge >&2
}

export PATH="$PATH:/usr/sbin:/sbin"

print_logs() {
  for f in "$DIR/munge/munged.log" "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
    [ -f "$f" ] || continue
    echo "----- $f (last 40 lines) -----" >&2
    tail -n 40 "$f" >&2
  done
}

write_conf() {
  local cpus mem_kb mem_mb
  cpus=${LLAMACL_SLURM_CPUS:-$(nproc)}
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  mem_mb=$(( mem_kb / 1024 * 9 / 10 ))   # below what slurmd detects, so the node is not drained
  mkdir -p "$DIR/etc"
  cat > "$CONF.tmp" <<EOF
# Written by scripts/slurm/cluster.sh: one node on loopback, for tests.
ClusterName=llamacl
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  if pid_alive "$DIR/munge/munged.pid"; then return 0; fi
  mkdir -p "$DIR/munge"
  chmod 700 "$DIR/munge"
  if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 400 "$DIR/munge/munge.key"
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  as_root munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" \
    || { print_logs; die "munged did not start"; }
  for _ in $(seq 50); do [ -S "$MUNGE_SOCKET" ] && return 0; sleep 0.1; done
  print_logs; die "munged socket $MUNGE_SOCKET did not appear"
}

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -1 || true; }

wait_idle() {
  local state="" t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$WAIT" ]; do
    state=$(node_state)
    case "$state" in
      idle|mixed|allocated|completing) return 0 ;;
    esac
    if ! pid_alive "$DIR/run/slurmctld.pid" || ! pid_alive "$DIR/run/slurmd.pid"; then
      print_logs; die "a Slurm daemon exited during start-up (node state '${state}')"
    fi
    sleep 1
  done
  sinfo -N -l >&2 || true
  scontrol -f "$CONF" show node "$NODE" >&2 2>/dev/null || true
  print_logs
  die "node $NODE not idle after ${WAIT}s (state '${state:-unknown}')"
}

start() {
  install_packages
  mkdir -p "$DIR"/{etc,state,spool,run,log}
  chmod 755 "$DIR"
  export SLURM_CONF=$CONF
  if pid_alive "$DIR/munge/munged.pid" && pid_alive "$DIR/run/slurmctld.pid" \
     && pid_alive "$DIR/run/slurmd.pid" && [ -f "$CONF" ]; then
    log "already running ($DIR)"
    wait_idle
    echo "export SLURM_CONF=$CONF"
    return 0
  fi
  write_conf
  start_munge
  if ! pid_alive "$DIR/run/slurmctld.pid"; then
    # -i: ignore unreadable old state; the state dir is ours alone.
    as_root slurmctld -f "$CONF" -i || { print_logs; die "slurmctld did not start"; }
  fi
  for _ in $(seq 50); do
    scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2
  done
  if ! pid_alive "$DIR/run/slurmd.pid"; then
    as_root slurmd -f "$CONF" -N "$NODE" || { print_logs; die "slurmd did not start"; }
  fi
  # A node left down/drained by an earlier run of this state dir comes back.
  sleep 1
  case "$(node_state)" in
    down*|drain*|fail*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true ;;
  esac
  wait_idle
  log "up: node $NODE idle, slurmctld on 127.0.0.1:$CTLD_PORT, state in $DIR"
  echo "export SLURM_CONF=$CONF"
}

stop_one() {  # stop_one NAME PIDFILE
  local name=$1 f=$2 pid
  if ! pid_alive "$f"; then rm -f "$f"; return 0; fi
  pid=$(tr -dc 0-9 < "$f")
  as_root kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do as_root kill -0 "$pid" 2>/dev/null || { rm -f "$f"; log "stopped $name ($pid)"; return 0; }; sleep 0.1; done
  log "$name ($pid) ignored SIGTERM for 10 s, sending SIGKILL"
  as_root kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

stop() {
  # Jobs still queued or running on this cluster are cancelled first, so that no job step
  # outlives its slurmd.
  if pid_alive "$DIR/run/slurmctld.pid" && [ -f "$CONF" ]; then
    local jobs
    jobs=$(SLURM_CONF=$CONF squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [ -n "${jobs// /}" ]; then
      log "cancelling jobs $jobs"
      # shellcheck disable=SC2086
      SLURM_CONF=$CONF scancel $jobs 2>/dev/null || true
      for _ in $(seq 30); do
        [ -z "$(SLURM_CONF=$CONF squeue -h -t running,completing -o %A 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  stop_one slurmd "$DIR/run/slurmd.pid"
  stop_one slurmctld "$DIR/run/slurmctld.pid"
  stop_one munged "$DIR/munge/munged.pid"
}

status() {
  local rc=0
  for p in munged:"$DIR/munge/munged.pid" slurmctld:"$DIR/run/slurmctld.pid" slurmd:"$DIR/run/slurmd.pid"; do
    if pid_alive "${p#*:}"; then echo "${p%%:*}: running (pid $(tr -dc 0-9 < "${p#*:}"))"
    else echo "${p%%:*}: not running"; rc=1; fi
  done
  if [ $rc -eq 0 ]; then SLURM_CONF=$CONF sinfo -N -l || rc=1; fi
  echo "export SLURM_CONF=$CONF"
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
