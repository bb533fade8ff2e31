# Helpers sourced by scripts/docker-engine.sh, slurm-cluster.sh and bench-deps.sh.
# Each defines say() before sourcing this.

# Alive and not a zombie (pid 1 in some sandboxes never reaps orphans).
alive() { [[ -r /proc/$1/stat ]] && [[ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]]; }

# The pid in pidfile $1, only if it is a live $2 (pids get reused).
daemon_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] \
    && echo "$pid"
}

# apt-get install "$@" (needs root), waiting for another apt-get's lock, not failing on it.
apt_install() {
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@" >&2
}
