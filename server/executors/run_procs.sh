# Trainyard: bash -c "$(cat run_procs.sh)" run-procs RUN_ID SIGNUM WRAPPER_PID IDENTITY
#
# Finds every process of run RUN_ID: those whose environment carries TRAINYARD_RUN_ID=RUN_ID
# (inherited across setsid and double forks, which a process group or a parent link does
# not survive) and all their descendants. Sends SIGNUM to each of them but the wrapper
# (SIGNUM 0 sends nothing), then prints one line: "<wrapper> <others>", where <wrapper> is
# alive, gone or replaced (its pid now names another process: IDENTITY, "<boot id> <start
# time>", does not match) and <others> counts the run's processes besides the wrapper.
# Reads /proc of the namespace it runs in (the container's, for the docker executor).
# Values arrive as arguments, never pasted into this script.
run_id=$1
sig=$2
wrapper=$3
identity=$4
state=gone
if [ -r "/proc/$wrapper/stat" ]; then
    read -r line <"/proc/$wrapper/stat" 2>/dev/null
    set -- ${line##*) }
    read -r boot_id </proc/sys/kernel/random/boot_id
    if [ "$1" = Z ]; then
        state=gone
    elif [ -z "$identity" ] || [ "$identity" = "$boot_id ${20}" ]; then
        state=alive
    else
        state=replaced
    fi
fi
declare -A parent chosen
for stat in /proc/[0-9]*/stat; do
    read -r line <"$stat" 2>/dev/null || continue
    pid=${stat#/proc/}
    pid=${pid%/stat}
    set -- ${line##*) }
    [ "$1" = Z ] && continue  # exited, waiting for its parent: nothing left to stop
    parent[$pid]=$2
done
while IFS= read -r path; do
    pid=${path#/proc/}
    pid=${pid%/environ}
    [ -n "${parent[$pid]+x}" ] && chosen[$pid]=1
done < <(grep -lzxF -- "TRAINYARD_RUN_ID=$run_id" /proc/[0-9]*/environ 2>/dev/null)
changed=1
while [ "$changed" = 1 ]; do
    changed=0
    for pid in "${!parent[@]}"; do
        if [ -z "${chosen[$pid]}" ] && [ -n "${chosen[${parent[$pid]}]}" ]; then
            chosen[$pid]=1
            changed=1
        fi
    done
done
[ "$state" = alive ] && unset "chosen[$wrapper]"
unset "chosen[$$]" "chosen[$BASHPID]"
if [ "$sig" != 0 ] && [ "${#chosen[@]}" -gt 0 ]; then
    kill -n "$sig" "${!chosen[@]}" 2>/dev/null
fi
echo "$state ${#chosen[@]}"
