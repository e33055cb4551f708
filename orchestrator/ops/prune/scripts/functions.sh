#!/bin/sh
# Not a script on its own: the shell functions prune.sh, stuck.sh and kill_pids.sh share, put in front of each
# when it is loaded (ops/prune/scripts), so every script stays self-contained on the host.
# stat_field/started/alive: a process from /proc, named by pid and start time (a recycled pid differs).
# holders LOCK: who holds the lock (from /proc/locks, which every user can read, falling back to open file
#   descriptors); prints HOLDER <pid> <age s> <start ticks> <command>.
# disk WHEN SECONDS: the disk figures, each bounded (a hung engine must not hang us); prints DF <when> <root>
#   <df -Pk's line> and SDF <when> <docker system df row> lines.
stat_field() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f"$2"; }  # after "(comm) "
started() { stat_field "$1" 20; }  # start time in ticks since boot: with the pid, names one process
alive() { st=$(stat_field "$1" 1) && [ -n "$st" ] && [ "$st" != Z ]; }  # a zombie has ended
holders() {
  ino=$(stat -c %i -- "$1" 2>/dev/null) || return 0
  path=$(readlink -f -- "$1")
  {
    # Whoever locked it, as the kernel lists it (readable by every user)...
    awk -v ino=":$ino" '$2 != "->" && substr($6, length($6) - length(ino) + 1) == ino {print $5}' \
        /proc/locks 2>/dev/null
    # ...but that pid may have exited while a child holds the lock (`flock 9; exec cmd`), so also every
    # process with the file open whose descriptor carries the lock (a waiter's does not).
    find /proc/[0-9]*/fd -lname "$path" 2>/dev/null | while read -r fd; do
      pid=${fd#/proc/}; pid=${pid%%/*}
      grep -q '^lock:' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null && echo "$pid"
    done
  } | sort -un | while read -r pid; do
    [ -r "/proc/$pid/cmdline" ] || continue
    age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
    start=$(started "$pid")
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-300)
    echo "HOLDER $pid ${age:-0} ${start:-0} $cmd"
  done
}
disk() {
  root=$(timeout -k 2 "$2" docker info --format '{{.DockerRootDir}}' 2>/dev/null) || root=
  if [ -n "$root" ]; then
    echo "DF $1 $root $(df -Pk -- "$root" 2>/dev/null | tail -n 1)"
    timeout -k 2 "$2" docker system df --format '{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}' 2>/dev/null \
      | sed "s/^/SDF $1 /"
  else
    echo "DF $1 unavailable"
  fi
}
