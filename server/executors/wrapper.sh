# Trainyard run wrapper:
#   bash -c "$(cat wrapper.sh)" trainyard-run RUN_DIR WORKDIR COMMAND [SAVE_SIGNAL]
#
# Starts COMMAND under bash in its own session, sends its stdout and stderr to files in
# RUN_DIR, and writes its exit code to RUN_DIR/exit_code when it ends. Nothing depends on
# anyone staying attached: the server follows the files.
# - RUN_DIR/claim is made with mkdir (atomic): whoever makes it first owns the launch. A
#   server that restarts mid-launch claims it to be sure the command never starts late.
# - RUN_DIR/identity is this wrapper's boot id and start time: a pid alone can be reused.
# - TRAINYARD_RUN_ID (set by the server) is inherited by every process the command starts,
#   across setsid and double forks: signal_tree.sh finds them all by it.
# - RUN_DIR/clock gets "<epoch> <stdout bytes> <stderr bytes>" every 0.1 s (1 s without
#   python3) while output grows, so lines read after a server restart get the time they
#   were written and their order across the two streams.
# A project's save signal (e.g. USR1) starts out ignored in the command's processes, so
# only a process that installs a handler for it (the trainer) reacts.
# Names arrive as arguments, never pasted into this script.
run_dir=$1
workdir=$2
command=$3
save_signal=${4:-}
command_umask=$(umask)
umask 077  # the run's own files (logs, pids, exit code) are private to this user
mkdir -p -- "$run_dir" || exit 97
mkdir -- "$run_dir/claim" 2>/dev/null || exit 0
echo $$ >"$run_dir/wrapper.pid"
read -r boot_id </proc/sys/kernel/random/boot_id
read -r stat </proc/$$/stat
set -- ${stat##*) }
echo "$boot_id ${20}" >"$run_dir/identity.tmp" && mv -f -- "$run_dir/identity.tmp" "$run_dir/identity"
: >>"$run_dir/stdout.log"
: >>"$run_dir/stderr.log"
: >>"$run_dir/clock"
finish() {
    umask 077
    echo "$1" >"$run_dir/exit_code.tmp" && mv -f -- "$run_dir/exit_code.tmp" "$run_dir/exit_code"
    exit 0
}
if ! cd -- "$workdir" 2>>"$run_dir/stderr.log"; then
    echo "trainyard: cannot enter the working directory $workdir" >>"$run_dir/stderr.log"
    echo 0 >"$run_dir/pgid"  # no process group to signal
    finish 126
fi
if [ -n "$save_signal" ]; then
    trap '' "$save_signal" || echo "trainyard: cannot ignore signal $save_signal" >>"$run_dir/stderr.log"
fi
# What the command writes (checkpoints) gets the umask the team's container gave us.
umask "$command_umask"
if command -v setsid >/dev/null 2>&1; then
    setsid bash -c "$command" </dev/null >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log" &
else
    # No util-linux: job control also gives the background job its own process group.
    set -m
    bash -c "$command" </dev/null >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log" &
    set +m
fi
child=$!
umask 077
mark() {
    local sizes
    sizes=$(stat -c %s -- "$1/stdout.log" "$1/stderr.log" 2>/dev/null) || return 0
    sizes=${sizes//$'\n'/ }
    [ "$sizes" = "${last_sizes:-}" ] && return 0
    last_sizes=$sizes
    echo "${EPOCHREALTIME:-$(date +%s)} $sizes" >>"$1/clock"
}
# The clock runs without the run's marker: it is ours, not the command's. Python (in
# every training image) looks every 0.1 s for a few microseconds; bash, every second.
PY_CLOCK='# trainyard-clock: see above
import os, sys, time
folder, wrapper = sys.argv[2], int(sys.argv[3])
paths = [os.path.join(folder, name) for name in ("stdout.log", "stderr.log")]
last = None
with open(os.path.join(folder, "clock"), "a") as clock:
    while not os.path.exists(os.path.join(folder, "exit_code")):
        try:
            sizes = tuple(os.stat(path).st_size for path in paths)
        except OSError:
            sizes = last
        if sizes != last:
            clock.write("%.3f %d %d\n" % (time.time(), *sizes))
            clock.flush()
            last = sizes
        try:
            os.kill(wrapper, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
'
BASH_CLOCK="$(declare -f mark)"'
while [ ! -e "$1/exit_code" ] && kill -0 "$2" 2>/dev/null; do mark "$1"; sleep 1; done'
echo "$child" >"$run_dir/pgid.tmp" && mv -f -- "$run_dir/pgid.tmp" "$run_dir/pgid"
if command -v python3 >/dev/null 2>&1; then
    env -u TRAINYARD_RUN_ID python3 -c "$PY_CLOCK" trainyard-clock "$run_dir" "$$" \
        </dev/null >/dev/null 2>&1 &
else
    env -u TRAINYARD_RUN_ID bash -c "$BASH_CLOCK" trainyard-clock "$run_dir" "$$" \
        </dev/null >/dev/null 2>&1 &
fi
wait "$child"
code=$?
# A signal the caller traps (a Slurm job's batch script traps TERM, see slurm_job.sh) cuts
# `wait` short while the command still runs: wait on. Bash keeps the command's status.
while [ "$code" -gt 128 ] && kill -0 "$child" 2>/dev/null; do
    wait "$child"
    code=$?
done
if [ "$code" -gt 128 ]; then  # it may have ended just after the signal: ask once more
    wait "$child" 2>/dev/null
    again=$?
    [ "$again" = 127 ] || code=$again
fi
mark "$run_dir"
finish "$code"
