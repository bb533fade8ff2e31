#!/usr/bin/env bash
# Manage the private Docker engine that Trainyard's tests and dev runs use.
#   scripts/docker-engine.sh up|down|restart|status
#   eval "$(scripts/docker-engine.sh up | tail -n1)"   # sets DOCKER_HOST
# Our own dockerd (own socket, data/exec roots, containerd namespace) so we
# never disturb, or depend on, a host engine; --live-restore so a dockerd
# restart keeps containers and exec'd training processes alive. No registry is
# reachable: the test image is built with `docker import`, never pulled.
# Progress goes to stderr; stdout carries only the final export line.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # dockerd lives in /usr/sbin on Debian

RUN_DIR=/run/trainyard-docker
DOCKER_HOST_URL="unix://$RUN_DIR/docker.sock"
DATA_ROOT=/var/lib/trainyard-docker
PIDFILE=$RUN_DIR/dockerd.pid
LOG=/var/log/trainyard-dockerd.log
IMAGE=trainyard-test:1
START_TIMEOUT_S=30 STOP_TIMEOUT_S=60

say() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
dk() { docker -H "$DOCKER_HOST_URL" "$@"; }
# `timeout`: a socket whose daemon is wedged must not hang us forever.
answers() { timeout 10 docker -H "$DOCKER_HOST_URL" version >/dev/null 2>&1; }
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
dockerd_pid() { daemon_pid "$PIDFILE" dockerd; }

ensure_installed() {
  local pkgs=()
  command -v dockerd >/dev/null || pkgs+=(docker.io)
  # With AppArmor on in the kernel, dockerd needs apparmor_parser for its
  # default profile; it is only a Recommends, skipped by --no-install-recommends.
  if [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" == Y* ]] \
      && ! command -v apparmor_parser >/dev/null; then pkgs+=(apparmor); fi
  ((${#pkgs[@]})) || return 0
  apt_install "${pkgs[@]}"
}

# Poll until the engine answers (0), dockerd $1 dies (1) or we time out (2).
wait_ready() {
  local pid=$1 deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    answers && return 0
    alive "$pid" || return 1
    sleep 0.25
  done
  return 2
}

start_engine() {
  mkdir -p "$RUN_DIR" "$DATA_ROOT"
  local pid rc offset driver=overlay2
  # A dockerd that is still starting up: wait for it rather than start twice.
  if pid=$(dockerd_pid); then
    say "dockerd $pid is running but not answering yet; waiting"
    wait_ready "$pid" && return 0
    tail -n 30 "$LOG" >&2; die "dockerd $pid did not become ready"
  fi
  rm -f "$PIDFILE"
  # Keep vfs if an earlier start fell back to it: switching hides its images.
  [[ -d $DATA_ROOT/vfs && ! -d $DATA_ROOT/overlay2 ]] && driver=vfs
  while :; do
    say "starting dockerd (storage driver $driver), log: $LOG"
    offset=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
    # setsid+nohup: own session, outlives the caller. stdio to the log so
    # `$(... up)` callers don't wait on it; fd 9 (our lock) closed for dockerd.
    setsid nohup dockerd \
      --host "$DOCKER_HOST_URL" --data-root "$DATA_ROOT" \
      --exec-root "$RUN_DIR/exec" --pidfile "$PIDFILE" \
      --iptables=false --ip6tables=false --bridge=none \
      --storage-driver="$driver" --live-restore \
      --containerd-namespace trainyard --containerd-plugins-namespace trainyard-plugins \
      </dev/null >>"$LOG" 2>&1 9>&- &
    pid=$!
    rc=0; wait_ready "$pid" || rc=$?
    ((rc == 0)) && { say "dockerd $pid is up"; return 0; }
    # overlay2 fails on some filesystems (e.g. overlayfs): fall back to vfs.
    if ((rc == 1)) && [[ $driver == overlay2 ]] \
        && tail -c +"$((offset + 1))" "$LOG" | grep -qiE 'graphdriver|overlay'; then
      say "overlay2 unusable here, retrying with vfs"; driver=vfs; continue
    fi
    tail -n 30 "$LOG" >&2
    ((rc == 1)) && die "dockerd exited during startup (log: $LOG)"
    die "dockerd did not answer on $DOCKER_HOST_URL within ${START_TIMEOUT_S}s"
  done
}

# Minimal rootfs: /usr is empty as containers bind-mount the host's /usr ro
# (bash, python3, setsid...); bin/lib/lib64 link into it (merged /usr). /sbin
# is a real dir: `--init` mounts /sbin/docker-init, impossible via a ro /usr.
ensure_image() {
  dk image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  say "building $IMAGE with docker import"
  local root; tmp=$(mktemp -d); root=$tmp/rootfs   # tmp global: EXIT trap
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$root"/{etc,sbin,tmp,usr,workspace,root}
  chmod 755 "$root" "$root"/{etc,sbin,usr,workspace}  # mktemp/umask may be 0700
  chmod 1777 "$root/tmp"; chmod 700 "$root/root"
  ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
  chmod 644 "$root"/etc/{passwd,group}
  tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . \
    | dk import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'WORKDIR /workspace' - "$IMAGE" >/dev/null
  rm -rf "$tmp"; trap - EXIT
}

cmd_up() {
  ensure_installed
  mkdir -p "$RUN_DIR"
  # Serialise concurrent `up`s (parallel test workers) so only one dockerd starts.
  exec 9>"$RUN_DIR/up.lock"; flock 9
  answers || start_engine
  ensure_image
  exec 9>&-
  echo "export DOCKER_HOST=$DOCKER_HOST_URL"
}

cmd_down() {
  local pid deadline=$((SECONDS + STOP_TIMEOUT_S))
  pid=$(dockerd_pid) || { say "dockerd is not running"; return 0; }
  say "stopping dockerd $pid (containers keep running: live-restore)"
  kill -TERM "$pid"
  while alive "$pid"; do
    ((SECONDS < deadline)) || die "dockerd $pid still running after ${STOP_TIMEOUT_S}s"
    sleep 0.25
  done
}

[[ $EUID -eq 0 ]] || die "must run as root"
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  restart) cmd_down; cmd_up ;;
  status) answers ;;
  *) echo "usage: $0 up|down|restart|status" >&2; exit 2 ;;
esac
