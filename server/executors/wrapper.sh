# Trainyard run wrapper:
#   bash -c "$(cat wrapper.sh)" trainyard-run RUN_DIR WORKDIR COMMAND [SAVE_SIGNAL]
#
# Starts COMMAND under bash in its own session (so its whole process tree shares one
# process group that cancel can signal without hitting this wrapper), sends its stdout
# and stderr to files in RUN_DIR, and writes its exit code to RUN_DIR/exit_code when it
# ends. Nothing depends on anyone staying attached: the server follows the files.
# A project's save signal (e.g. USR1) starts out ignored in the command's processes, so
# only a process that installs a handler for it (the trainer) reacts: shells and
# launchers such as torchrun would otherwise die of it.
# Names arrive as arguments, never pasted into this script.
run_dir=$1
workdir=$2
command=$3
save_signal=${4:-}
umask 077  # the run's own files (logs, pids, exit code) are private to this user
mkdir -p -- "$run_dir" || exit 97
echo $$ >"$run_dir/wrapper.pid"
finish() {
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
if command -v setsid >/dev/null 2>&1; then
    setsid bash -c "$command" </dev/null >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log" &
else
    # No util-linux: job control also gives the background job its own process group.
    set -m
    bash -c "$command" </dev/null >>"$run_dir/stdout.log" 2>>"$run_dir/stderr.log" &
    set +m
fi
child=$!
echo "$child" >"$run_dir/pgid.tmp" && mv -f -- "$run_dir/pgid.tmp" "$run_dir/pgid"
wait "$child"
finish $?
