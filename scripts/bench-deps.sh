#!/usr/bin/env bash
# Install what `make bench` needs beyond the Python packages: wrk (the HTTP load
# generator of the GET /projects row). Like scripts/docker-engine.sh for `make test`:
# apt-get when missing, which needs root; otherwise it says what to run.
set -euo pipefail

say() { printf 'bench-deps: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

pkgs=()
command -v wrk >/dev/null || pkgs+=(wrk)
((${#pkgs[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
  say "missing: ${pkgs[*]}; install with: sudo apt-get install ${pkgs[*]} (or run make bench as root)"
  exit 1
fi
apt_install "${pkgs[@]}"
command -v wrk >/dev/null || { say "wrk still missing after apt-get install"; exit 1; }
