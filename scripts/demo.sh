#!/usr/bin/env bash
# Trainyard demo: a real training run you can launch, watch, cancel and resume.
#
#   scripts/demo.sh               set up ./var/demo/workspace and the `trainyard-demo`
#                                 container, print the commands to try, then serve the API
#                                 in the foreground (Ctrl-C stops it; the container stays)
#   scripts/demo.sh walkthrough   in a second terminal: launch -> watch -> cancel (keeping a
#                                 checkpoint) -> resume, with curl, in well under a minute
#   scripts/demo.sh down          remove the demo container (the workspace is kept)
#
# `make demo` runs the first form after starting the private Docker engine
# (scripts/docker-engine.sh up) and pointing DOCKER_HOST at it.
#
# The token: TRAINYARD_TOKEN when set, else one generated on the first run and kept in
# var/demo/token (mode 600) so the server and the walkthrough agree across restarts.
# TRAINYARD_HOST / TRAINYARD_PORT move the server (default 127.0.0.1:8000); the
# walkthrough reads the same variables, or TRAINYARD_URL.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd -P)
DEMO_DIR=$REPO/var/demo
WORKSPACE=$DEMO_DIR/workspace
TOKEN_FILE=$DEMO_DIR/token
CONTAINER=trainyard-demo
IMAGE=trainyard-test:1
# The private engine `make demo` starts; the demo image only exists there.
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/trainyard-docker/docker.sock}
URL=${TRAINYARD_URL:-http://${TRAINYARD_HOST:-127.0.0.1}:${TRAINYARD_PORT:-8000}}
START_COMMAND="python3 tiny_trainer.py --config configs/tiny-sft.yaml"

say() { printf '%s\n' "$*"; }
die() { printf 'demo: ERROR: %s\n' "$*" >&2; exit 1; }

demo_token() {
  if [[ -n ${TRAINYARD_TOKEN:-} ]]; then
    printf '%s' "$TRAINYARD_TOKEN"
  elif [[ -s $TOKEN_FILE ]]; then
    cat "$TOKEN_FILE"
  else
    return 1
  fi
}

# -- setting up ---------------------------------------------------------------------------

setup_workspace() {
  mkdir -p "$WORKSPACE"/{data,configs,saves}
  cp -f demo/data/* "$WORKSPACE/data/"
  cp -f demo/tiny_trainer.py "$WORKSPACE/"
  cat >"$WORKSPACE/configs/tiny-sft.yaml" <<'YAML'
# Trainyard demo run (written by scripts/demo.sh). Paths are relative to the container's
# working directory, /workspace, which is ./var/demo/workspace on the host.
output_dir: saves/tiny-sft
dataset: data/tiny_corpus.txt

max_steps: 200
per_device_train_batch_size: 8
learning_rate: 0.1
seed: 42

logging_steps: 5
eval_steps: 20
save_steps: 10

step_delay: 0.2          # seconds slept per step: the run lasts ~40 s
YAML
}

container_mount() {  # the host folder mounted at /workspace in the demo container
  docker inspect -f '{{range .Mounts}}{{if eq .Destination "/workspace"}}{{.Source}}{{end}}{{end}}' \
    "$CONTAINER" 2>/dev/null
}

setup_container() {
  docker version >/dev/null 2>&1 \
    || die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it with: scripts/docker-engine.sh up"
  docker image inspect "$IMAGE" >/dev/null 2>&1 \
    || die "image $IMAGE is missing; scripts/docker-engine.sh up builds it"
  if docker inspect "$CONTAINER" >/dev/null 2>&1; then
    if [[ "$(container_mount)" != "$WORKSPACE" ]]; then
      say "demo: container $CONTAINER mounts another workspace; recreating it"
      docker rm -f "$CONTAINER" >/dev/null
    elif [[ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER")" != true ]]; then
      say "demo: starting the existing container $CONTAINER"
      docker start "$CONTAINER" >/dev/null
      return
    else
      say "demo: reusing the running container $CONTAINER"
      return
    fi
  fi
  say "demo: starting container $CONTAINER from $IMAGE"
  docker run -d --name "$CONTAINER" --init --network none \
    -v /usr:/usr:ro -v "$WORKSPACE":/workspace -w /workspace \
    "$IMAGE" sleep infinity >/dev/null
}

print_guide() {
  local token=$1 source=$2
  cat <<EOF

==============================================================================
 Trainyard demo
   workspace  $WORKSPACE  (= /workspace in container $CONTAINER)
   server     $URL   (executor docker, data in ./var/demo/data)

 API token ($source):

     $token

 In a second terminal, the whole launch -> watch -> cancel -> resume cycle:

     scripts/demo.sh walkthrough

 Or by hand:

     export TOKEN='$token'
     curl -s -X POST $URL/projects -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' -d '{"name": "demo", "objective": "watch a run",
       "task_type": "SFT", "owner": "me", "dataset_name": "tiny_corpus",
       "training_yaml_name": "tiny-sft.yaml", "save_signal": "SIGUSR1"}'
     curl -s -X POST $URL/projects/demo/runs -H "Authorization: Bearer \$TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{"start_command": "$START_COMMAND"}'
     curl -s "$URL/projects/demo/runs/RUN_ID/logs?format=text" -H "Authorization: Bearer \$TOKEN"
     curl -s -X POST "$URL/projects/demo/runs/RUN_ID/cancel?grace_seconds=10" \\
       -H "Authorization: Bearer \$TOKEN"
     curl -s -X POST $URL/projects/demo/runs/RUN_ID/resume -H "Authorization: Bearer \$TOKEN"

 API docs: $URL/schema/swagger     Stop: Ctrl-C here; scripts/demo.sh down
==============================================================================

EOF
}

serve() {
  [[ -x .venv/bin/trainyard ]] || die ".venv/bin/trainyard is missing; run: make install (or make demo)"
  command -v docker >/dev/null || die "the docker CLI is missing; run: scripts/docker-engine.sh up"
  setup_workspace
  setup_container
  local token source
  if [[ -n ${TRAINYARD_TOKEN:-} ]]; then
    token=$TRAINYARD_TOKEN source="from TRAINYARD_TOKEN"
  elif [[ -s $TOKEN_FILE ]]; then
    token=$(cat "$TOKEN_FILE") source="generated by an earlier demo, kept in var/demo/token"
  else
    token=ty_demo_$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    (umask 077 && printf '%s\n' "$token" >"$TOKEN_FILE")
    source="generated for this demo, kept in var/demo/token"
  fi
  print_guide "$token" "$source"
  export TRAINYARD_WORKSPACE_ROOT=$WORKSPACE TRAINYARD_CONTAINER=$CONTAINER \
    TRAINYARD_WORKDIR=. TRAINYARD_DATA_DIR=./var/demo/data TRAINYARD_EXECUTOR=docker \
    TRAINYARD_TOKEN=$token
  exec .venv/bin/trainyard serve
}

down() {
  if docker inspect "$CONTAINER" >/dev/null 2>&1; then
    docker rm -f "$CONTAINER" >/dev/null
    say "demo: removed container $CONTAINER (workspace kept in $WORKSPACE)"
  else
    say "demo: no container $CONTAINER"
  fi
}

# -- the walkthrough (a curl client; needs only curl and python3) -------------------------

# call METHOD PATH [JSON]: prints the curl command, sets CODE and BODY.
call() {
  local method=$1 path=$2 data=${3:-} out
  local args=(-sS -X "$method" "$URL$path" -H "Authorization: Bearer $TOKEN")
  local shown="curl -X $method '$URL$path' -H \"Authorization: Bearer \$TOKEN\""
  if [[ -n $data ]]; then
    args+=(-H 'Content-Type: application/json' -d "$data")
    shown+=" -H 'Content-Type: application/json' -d '$data'"
  fi
  printf '\n\033[1m$ %s\033[0m\n' "$shown"
  out=$(curl "${args[@]}" -w $'\n%{http_code}') || die "cannot reach $URL"
  CODE=${out##*$'\n'}
  BODY=${out%$'\n'*}
}

# json EXPR: evaluate a Python expression over the JSON body `d` (stdin) and print it.
json() {
  python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
r = eval(sys.argv[1])
if r is not None:
    print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))' "$1" <<<"$BODY"
}

expect() {  # expect CODE...: fail with the error body unless CODE is one of them
  local want
  for want in "$@"; do [[ $CODE == "$want" ]] && return 0; done
  printf 'HTTP %s\n%s\n' "$CODE" "$BODY" >&2
  die "unexpected HTTP status $CODE"
}

run_line() {  # one line about a run: status, progress, ETA, latest loss; why it ended
  json '(lambda p, v: "  -> HTTP %s  run %s  status=%s  progress=%d%% (step %s/%s, ETA %s s)  loss=%s%s" % (
    '"$CODE"', d["id"], d["status"], round(100 * d["progress"]), v(p.get("current_step")),
    v(p.get("total_steps")), v(p.get("eta_seconds")), v(d["metrics"].get("loss")),
    "\n     " + d["status_message"]
    if d.get("status_message") and d["status"] not in ("pending", "running") else ""))(
    d.get("progress_info") or {}, lambda x: "-" if x is None else x)'
}

NEXT=0
logs_after() {  # logs_after RUN: print lines after $NEXT (keeping the last $2), advance NEXT
  local run=$1 keep=${2:-8} page
  page=$(curl -sS "$URL/projects/demo/runs/$run/logs?after=$NEXT&limit=1000" \
    -H "Authorization: Bearer $TOKEN") || die "cannot reach $URL"
  BODY=$page
  json '"\n".join("     | " + m for m in [e["message"] for e in d["entries"] if e["message"].strip()][-'"$keep"':]) or None'
  NEXT=$(json 'd["next_after"]')
}

walkthrough() {
  command -v curl >/dev/null || die "curl is needed"
  TOKEN=$(demo_token) || die "no token: set TRAINYARD_TOKEN, or start the demo server first (make demo)"
  local i
  for i in $(seq 1 30); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
    ((i == 1)) && say "waiting for the server at $URL (start it with: make demo)"
    ((i == 30)) && die "no Trainyard server answers at $URL; start it with: make demo"
    sleep 1
  done
  local started=$SECONDS

  say "== 1. a project: dataset tiny_corpus, YAML tiny-sft.yaml, save signal SIGUSR1"
  call POST /projects '{"name": "demo", "description": "Trainyard demo", "objective": "watch a run end to end", "task_type": "SFT", "owner": "demo", "dataset_name": "tiny_corpus", "training_yaml_name": "tiny-sft.yaml", "tags": ["demo"], "save_signal": "SIGUSR1"}'
  if [[ $CODE == 409 ]]; then
    say "  -> HTTP 409 $(json 'd["code"]'): it exists; making sure it is active and set up"
    call PATCH /projects/demo '{"status": "active", "dataset_name": "tiny_corpus", "training_yaml_name": "tiny-sft.yaml", "save_signal": "SIGUSR1"}'
  fi
  expect 200 201
  json '"  -> HTTP '"$CODE"'  %s (%s), status %s, save_signal %s" % (d["id"], d["name"], d["status"], d["save_signal"])'

  # Runs of an earlier walkthrough write into the same saves/tiny-sft: stop them first,
  # or their checkpoints would be taken for the new run's.
  local old
  call GET "/projects/demo/runs?status=running"
  expect 200
  for old in $(json '" ".join(r["id"] for r in d)'); do
    say "  -> stopping $old, still running from an earlier walkthrough"
    call POST "/projects/demo/runs/$old/cancel?grace_seconds=5"
    expect 200 409
  done

  say ""
  say "== 2. launch the trainer in container $CONTAINER"
  call POST /projects/demo/runs "{\"start_command\": \"$START_COMMAND\"}"
  expect 201
  run_line
  local run
  run=$(json 'd["id"]')
  NEXT=0

  say ""
  say "== 3. watch it for ~8 s (run detail + new log lines)"
  local until=$((SECONDS + 8))
  while ((SECONDS < until)); do
    sleep 2
    call GET "/projects/demo/runs/$run"
    expect 200
    run_line
    logs_after "$run" 4
  done

  say ""
  say "== 4. cancel it, grace 10 s: SIGUSR1 (the project's save signal) makes the trainer save,"
  say "      then SIGTERM to its process group; the newest complete checkpoint is kept"
  call POST "/projects/demo/runs/$run/cancel?grace_seconds=10"
  expect 200
  run_line
  json '"  -> kept_artifact_id: %s" % d["kept_artifact_id"]'
  json '"\n".join("     %-11s %-12s %-18s %s  tags=%s" % (a["type"], a["id"], a["name"], a["path"], a["tags"]) for a in d["artifacts"] if a["type"] != "tensorboard")'
  local kept
  kept=$(json 'd["kept_artifact_id"] or ""')
  [[ -n $kept ]] || die "the cancel kept no checkpoint"
  logs_after "$run" 4

  say ""
  say "== 5. resume from the kept checkpoint: a new run, same command, TRAINYARD_RESUME_FROM set"
  call POST "/projects/demo/runs/$run/resume?source_artifact_id=$kept"
  expect 201
  run_line
  json '"  -> parent_run_id=%s  resume_source_artifact_id=%s\n  -> env TRAINYARD_RESUME_FROM=%s" % (d["parent_run_id"], d["resume_source_artifact_id"], d["env"].get("TRAINYARD_RESUME_FROM"))'
  local resumed
  resumed=$(json 'd["id"]')
  sleep 3
  say ""
  say "== 6. the resumed run's first log lines"
  call GET "/projects/demo/runs/$resumed/logs?limit=16&format=text"
  expect 200
  printf '%s\n' "$BODY" | grep -v '^[[:space:]]*$' | sed 's/^/     | /'

  cat <<EOF

Done in $((SECONDS - started)) s. The resumed run $resumed goes on to step 200 (~30 s more).
  logs:    curl -s "$URL/projects/demo/runs/$resumed/logs?format=text" -H "Authorization: Bearer \$TOKEN" | less
  live:    curl -N "$URL/projects/demo/runs/$resumed/events" -H "Authorization: Bearer \$TOKEN"
  pause:   curl -s -X POST "$URL/projects/demo/runs/$resumed/pause?grace_seconds=10" -H "Authorization: Bearer \$TOKEN"
  (export TOKEN=\$(cat var/demo/token) first, unless TRAINYARD_TOKEN is your token)
EOF
}

case "${1:-serve}" in
  serve) serve ;;
  walkthrough) walkthrough ;;
  down) down ;;
  *) echo "usage: $0 [serve|walkthrough|down]" >&2; exit 2 ;;
esac
