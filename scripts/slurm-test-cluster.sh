#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the Slurm executor's tests and CI.
#
#   bash scripts/slurm-test-cluster.sh start    # munged + slurmctld + slurmd, waits for the node to be idle
#   bash scripts/slurm-test-cluster.sh stop     # cancels every job, stops the daemons it started
#   bash scripts/slurm-test-cluster.sh status   # exit 0 when the node answers idle/mixed/allocated
#
# Needs root and Debian's slurm-wlm and munge packages (apt-get install slurm-wlm munge).
# The configuration goes to /etc/slurm/slurm.conf and /etc/slurm/gres.conf, where sbatch, squeue,
# scontrol, sinfo and scancel look without any environment variable; a file there that this
# script did not write (no marker line) is never overwritten: start refuses instead.
# State, spool, logs and pid files live under $TRICKBENCH_SLURM_DIR (default /tmp/trickbench-slurm).
#
# The cluster: one node (this host's `hostname -s`, CPUs and memory as `slurmd -C` reports them;
# TRICKBENCH_SLURM_CPUS=N declares N CPUs instead, to run more tasks at once than there are cores),
# partitions `debug` (default, no time limit) and `short` (MaxTime 5 minutes, limits enforced at
# submission), one fake GRES `gpu:fake:1` (File=/dev/null), no accounting (sacct does not work),
# daemons and jobs as root, ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, all on
# 127.0.0.1 (the host name need not resolve). `start` on a running cluster changes nothing: to apply
# another configuration (e.g. TRICKBENCH_SLURM_CPUS), stop, then start.
set -euo pipefail

BASE=${TRICKBENCH_SLURM_DIR:-/tmp/trickbench-slurm}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
GRES_CONF=$CONF_DIR/gres.conf
MARKER='# Written by trickbench scripts/slurm-test-cluster.sh'
CTLD_PID=$BASE/run/slurmctld.pid
SLURMD_PID=$BASE/run/slurmd.pid
MUNGED_PID=$BASE/run/munged.pid      # only when this script started munged
MUNGE_SOCKET=/run/munge/munge.socket.2
START_TIMEOUT=${TRICKBENCH_SLURM_START_TIMEOUT:-60}

die() { echo "slurm-test-cluster: $*" >&2; exit 1; }
log() { echo "slurm-test-cluster: $*"; }

alive() { # pidfile -> 0 when the process it names is alive
  [ -s "$1" ] || return 1
  local pid; pid=$(cat "$1" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

tail_logs() {
  for f in "$BASE/log/slurmctld.log" "$BASE/log/slurmd.log" /var/log/munge/munged.log; do
    [ -f "$f" ] && { echo "---- last lines of $f" >&2; tail -n 25 "$f" >&2; }
  done
  return 0
}

node_name() { hostname -s; }

node_state() { # prints the node's state as sinfo reports it (empty if slurmctld does not answer)
  timeout 5 sinfo -h -N -n "$(node_name)" -o '%T' 2>/dev/null | head -n 1 || true
}

check_tools() {
  [ "$(id -u)" = 0 ] || die "must run as root (slurmctld, slurmd and the jobs run as root here)"
  local t
  for t in munged slurmctld slurmd sinfo sbatch scontrol; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found on PATH: apt-get install -y --no-install-recommends slurm-wlm munge"
  done
}

ours_or_absent() { # file -> 0 when absent or written by this script
  [ ! -e "$1" ] || grep -qxF "$MARKER" "$1"
}

start_munge() {
  if [ -S "$MUNGE_SOCKET" ] && munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0 # a munged is already answering (ours or the system's)
  fi
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    install -d -o munge -g munge -m 0700 /etc/munge
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  # munged refuses to run as root; it forks and writes its own pid file.
  runuser -u munge -- munged --pid-file=/run/munge/munged.pid \
    || { tail_logs; die "munged did not start"; }
  local i
  for i in $(seq 1 50); do
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
      cp /run/munge/munged.pid "$MUNGED_PID"
      return 0
    fi
    sleep 0.1
  done
  tail_logs
  die "munged started but does not answer on $MUNGE_SOCKET"
}

check_conf_is_ours() {
  ours_or_absent "$CONF" || die "$CONF exists and was not written by this script; not overwriting a real cluster's configuration (move it away first)"
  ours_or_absent "$GRES_CONF" || die "$GRES_CONF exists and was not written by this script; not overwriting it"
}

write_conf() {
  check_conf_is_ours
  local node hw cpus mem
  node=$(node_name)
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  hw=$(slurmd -C | head -n 1)
  [[ "$hw" == NodeName=* ]] || die "slurmd -C printed no NodeName line: $hw"
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
  [ -n "$mem" ] || die "no RealMemory in slurmd -C output: $hw"
  local node_line overrides=''
  if [ -n "${TRICKBENCH_SLURM_CPUS:-}" ]; then
    [[ "$TRICKBENCH_SLURM_CPUS" =~ ^[1-9][0-9]*$ ]] || die "TRICKBENCH_SLURM_CPUS must be a positive integer, got '$TRICKBENCH_SLURM_CPUS'"
    cpus=$TRICKBENCH_SLURM_CPUS
    node_line="NodeName=$node CPUs=$cpus RealMemory=$mem"
    overrides='SlurmdParameters=config_overrides'
  else
    node_line=$(sed "s/^NodeName=[^ ]*/NodeName=$node/" <<<"$hw")
  fi
  install -d -m 0755 "$CONF_DIR" "$BASE" "$BASE/state" "$BASE/spool/slurmd" "$BASE/log" "$BASE/run"
  local tmp; tmp=$(mktemp "$CONF_DIR/.slurm.conf.XXXXXX")
  cat >"$tmp" <<EOF
$MARKER
# A single-node test cluster; state, logs and pid files under $BASE.
ClusterName=trickbench
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool/slurmd
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# No slurmdbd: no accounting, so sacct has nothing to read.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# scontrol show job still knows a finished job for an hour.
MinJobAge=3600
# SIGTERM at the time limit (or scancel), SIGKILL KillWait seconds later.
KillWait=5
OverTimeLimit=0
# Batch jobs may be requeued (scontrol requeue, node failure).
JobRequeue=1
# Refuse at submission a job that exceeds its partition's limits.
EnforcePartLimits=ALL
SlurmctldTimeout=30
SlurmdTimeout=60
ReturnToService=2
InactiveLimit=0
Waittime=0
GresTypes=gpu
$overrides
$node_line NodeAddr=127.0.0.1 Gres=gpu:fake:1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=$node Default=NO MaxTime=00:05:00 State=UP
EOF
  chmod 0644 "$tmp"
  mv -f "$tmp" "$CONF"
  tmp=$(mktemp "$CONF_DIR/.gres.conf.XXXXXX")
  cat >"$tmp" <<EOF
$MARKER
# One fake GPU (File=/dev/null: a gpu GRES without a File counts 0 and the node goes INVAL), so that sinfo -o %G shows a GRES and --gres=gpu:1 schedules.
AutoDetect=off
NodeName=$node Name=gpu Type=fake File=/dev/null
EOF
  chmod 0644 "$tmp"
  mv -f "$tmp" "$GRES_CONF"
}

status() {
  local st
  alive "$CTLD_PID" || { echo "slurmctld: not running"; return 1; }
  alive "$SLURMD_PID" || { echo "slurmd: not running"; return 1; }
  st=$(node_state)
  case "$st" in
    idle|mixed|allocated|completing) echo "running: node $(node_name) $st (config $CONF)"; return 0 ;;
    *) echo "daemons running but node $(node_name) is '${st:-no answer}'"; return 1 ;;
  esac
}

start() {
  check_tools
  if status >/dev/null 2>&1; then
    log "already running ($(status))"
    return 0
  fi
  check_conf_is_ours
  install -d -m 0755 "$BASE" "$BASE/run" "$BASE/log"
  start_munge
  write_conf
  if ! alive "$CTLD_PID"; then
    rm -f "$CTLD_PID"
    # Keeps its saved state (job ids go on rising across restarts); forks into the background.
    slurmctld || { tail_logs; die "slurmctld did not start"; }
  fi
  if ! alive "$SLURMD_PID"; then
    rm -f "$SLURMD_PID"
    slurmd || { tail_logs; die "slurmd did not start"; }
  fi
  local deadline=$((SECONDS + START_TIMEOUT)) st=''
  while [ $SECONDS -lt $deadline ]; do
    st=$(node_state)
    case "$st" in
      idle|mixed|allocated) log "node $(node_name) is $st"; sinfo; return 0 ;;
      down*|drain*)
        # ReturnToService=2 brings a registered node back by itself; a node left down by an
        # earlier run's saved state is resumed explicitly.
        scontrol update NodeName="$(node_name)" State=RESUME >/dev/null 2>&1 || true ;;
      inval*) break ;; # registration refused (e.g. the node reports less than configured)
    esac
    sleep 1
  done
  echo "slurm-test-cluster: node $(node_name) not idle after ${START_TIMEOUT}s (state '${st:-no answer from slurmctld}')" >&2
  sinfo -R >&2 2>&1 || true
  tail_logs
  exit 1
}

stop_pid() { # name pidfile
  alive "$2" || { rm -f "$2"; return 0; }
  local pid i; pid=$(cat "$2")
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$2"; log "stopped $1 ($pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$2"
  log "killed $1 ($pid) after 10 s"
}

stop() {
  if alive "$CTLD_PID"; then
    # Cancel every job first, so no slurmstepd or job process outlives the daemons.
    local ids; ids=$(timeout 10 squeue -h -o '%A' 2>/dev/null | sort -u || true)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null || true
      local i
      for i in $(seq 1 30); do
        [ -z "$(timeout 5 squeue -h -t running,completing,configuring -o '%A' 2>/dev/null || true)" ] && break
        sleep 1
      done
    fi
  fi
  stop_pid slurmd "$SLURMD_PID"
  stop_pid slurmctld "$CTLD_PID"
  stop_pid munged "$MUNGED_PID"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
