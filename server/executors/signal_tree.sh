# Trainyard: bash -c "$(cat signal_tree.sh)" signal SIGNUM PGID
#
# Sends SIGNUM to every process of group PGID and to all their descendants, in whatever
# session they run: torchrun starts its workers in sessions of their own, so a signal to
# the group alone would leave them training. Reads /proc of the namespace it runs in
# (the container's, for the docker executor). Numbers arrive as arguments.
sig=$1
pgid=$2
declare -A parent chosen
for stat in /proc/[0-9]*/stat; do
    read -r line <"$stat" 2>/dev/null || continue
    pid=${stat#/proc/}
    pid=${pid%/stat}
    # Fields after the command name: state ppid pgrp ...
    read -r _ ppid pgrp _ <<<"${line##*) }"
    parent[$pid]=$ppid
    [ "$pgrp" = "$pgid" ] && chosen[$pid]=1
done
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
[ "${#chosen[@]}" -gt 0 ] && kill -n "$sig" "${!chosen[@]}" 2>/dev/null
exit 0
