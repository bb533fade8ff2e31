#!/usr/bin/env bash
# A private one-node Slurm cluster for Trainyard's tests and demos (recipe:
# shared/recipes/slurm-single-node.md).
#   scripts/slurm-cluster.sh up|down|status|controller-down|controller-up
#   eval "$(scripts/slurm-cluster.sh up | tail -n1)"   # sets SLURM_CONF
# Its own state folder, ports (16817/16818) and config, so it never meets a cluster the
# host already runs. Four GPUs are character devices made with mknod: Slurm only counts
# them and sets CUDA_VISIBLE_DEVICES per job; nothing opens them. The node claims 16
# CPUs (config_overrides) so that GPUs, not this machine's 2 cores, decide what waits.
# controller-down/-up stop and start slurmctld alone (tests of a controller outage).
# Progress goes to stderr; stdout carries only the final export line.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

S=/var/lib/trainyard-slurm
CONF=$S/slurm.conf
export SLURM_CONF=$CONF
START_TIMEOUT_S=30

say() { printf 'slurm-cluster: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
ctld_pid() { daemon_pid "$S/run/slurmctld.pid" slurmctld; }
slurmd_pid() { daemon_pid "$S/run/slurmd.pid" slurmd; }
answers() { timeout 10 sinfo -h -o %t >/dev/null 2>&1; }
idle() { [[ "$(timeout 10 sinfo -h -o %t 2>/dev/null)" =~ ^(idle|mix|alloc) ]]; }

ensure_installed() {
  local pkgs=()
  command -v slurmctld >/dev/null || pkgs+=(slurmctld)
  command -v slurmd >/dev/null || pkgs+=(slurmd)
  command -v sbatch >/dev/null || pkgs+=(slurm-client)
  command -v munged >/dev/null || pkgs+=(munge)
  ((${#pkgs[@]})) || return 0
  apt_install "${pkgs[@]}"
}

ensure_munge() {
  [[ -S /run/munge/munge.socket.2 ]] && pgrep -x munged >/dev/null && return 0
  [[ -f /etc/munge/munge.key ]] || mungekey -c
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge; chown munge:munge /run/munge
  # 9>&-: daemons must not inherit up's lock, or the next `up` waits on it forever.
  su -s /bin/sh munge -c /usr/sbin/munged 9>&-
  say "munged started"
}

write_config() {
  local host mem
  host=$(hostname -s)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  mkdir -p "$S"/{state,spool,log,run,dev}
  for i in 0 1 2 3; do [[ -c $S/dev/nvidia$i ]] || mknod "$S/dev/nvidia$i" c 195 "$i"; done
  cat >"$CONF.tmp" <<EOF
ClusterName=trainyard
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
GresTypes=gpu
ReturnToService=2
MpiDefault=none
KillWait=5
MessageTimeout=5
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$host CPUs=16 RealMemory=$mem Gres=gpu:4 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  echo "NodeName=$host Name=gpu File=$S/dev/nvidia[0-3]" >"$S/gres.conf"
  mv -f "$CONF.tmp" "$CONF"
}

start_ctld() {
  ctld_pid >/dev/null && return 0
  /usr/sbin/slurmctld -f "$CONF" </dev/null >>"$S/log/slurmctld.out" 2>&1 9>&-
}

start_slurmd() {
  slurmd_pid >/dev/null && return 0
  /usr/sbin/slurmd -f "$CONF" </dev/null >>"$S/log/slurmd.out" 2>&1 9>&-
}

wait_idle() {
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until idle; do
    ((SECONDS < deadline)) || { tail -n 20 "$S/log/slurmctld.log" >&2; die "the node did not become idle"; }
    # A node left DOWN by an earlier unclean stop comes back with this.
    timeout 10 scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
}

cmd_up() {
  ensure_installed
  mkdir -p "$S"
  exec 9>"$S/up.lock"; flock 9
  ensure_munge
  [[ -f $CONF ]] || write_config
  start_ctld
  start_slurmd
  wait_idle
  exec 9>&-
  say "up: $(sinfo -h -o '%P %a %D %t %G' | head -n1)"
  echo "export SLURM_CONF=$CONF"
}

stop_pid() {
  local pid=$1 deadline=$((SECONDS + 30))
  kill -TERM "$pid" 2>/dev/null || return 0
  while alive "$pid"; do
    ((SECONDS < deadline)) || die "process $pid still running after 30 s"
    sleep 0.1
  done
}

cmd_down() {
  local pid
  if pid=$(slurmd_pid); then say "stopping slurmd $pid"; stop_pid "$pid"; fi
  if pid=$(ctld_pid); then say "stopping slurmctld $pid"; stop_pid "$pid"; fi
}

[[ $EUID -eq 0 ]] || die "must run as root"
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) answers ;;
  controller-down) if pid=$(ctld_pid); then stop_pid "$pid"; fi ;;
  controller-up) start_ctld; until answers; do sleep 0.2; done ;;
  *) echo "usage: $0 up|down|status|controller-down|controller-up" >&2; exit 2 ;;
esac
