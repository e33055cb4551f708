"""The host side of `invoke prune`: each phase one POSIX sh script, every user value a quoted argument.

There is no volume prune anywhere in here, by design: the steps are fixed in STEP_COMMANDS and a unit
test fails if any text of this module could prune a volume.
"""

from __future__ import annotations

# What each step runs; `$until` is the age filter. Dangling images go at any age (nothing can use them);
# other unused images, stopped containers and build cache only when older than --older-than.
# `$keep` is the inventory's prune_keep_label filter (`--filter label!=K`), or empty.
STEP_COMMANDS = {
    "stopped containers": 'docker container prune -f --filter "until=$until" $keep',
    "dangling images": "docker image prune -f $keep",
    "old unused images": 'docker image prune -a -f --filter "until=$until" $keep',
    "build cache": 'docker builder prune -f --filter "until=$until"',
}

# Shared shell functions: who holds the lock (from /proc/locks, which every user can read, falling back
# to open file descriptors), and the disk figures (each bounded: a hung engine must not hang us).
_FUNCTIONS = r"""
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
    echo "DF $1 $root $(df -Pk -- "$root" 2>/dev/null | awk 'NR == 2 {print $2, $3, $4}')"
    timeout -k 2 "$2" docker system df --format '{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}' 2>/dev/null \
      | sed "s/^/SDF $1 /"
  else
    echo "DF $1 unavailable"
  fi
}
"""

# $1 lock file, $2 seconds to wait for it, $3 seconds per step, $4 age filter (e.g. 259200s), $5 keep label
# ("" for none; validated by the caller: no spaces), then step names. Holds the lock (fd 9) for the whole
# prune; it is released when this script ends, however it ends.
PRUNE = _FUNCTIONS + r"""
lock=$1 wait=$2 limit=$3 until=$4 keep=${5:+--filter label!=$5}; shift 5
export until keep
[ -d "$(dirname -- "$lock")" ] || mkdir -p -- "$(dirname -- "$lock")"
[ -e "$lock" ] || : >> "$lock"
# Read-only is enough for flock, so a lock file created by another user (or root) works for everyone.
exec 9<"$lock" || { echo "LOCK_ERROR cannot open $lock"; exit 3; }
if ! flock -w "$wait" 9; then echo "LOCK_BUSY"; holders "$lock"; exit 75; fi
echo "LOCKED"
probe=$limit; [ "$probe" -gt 30 ] && probe=30
disk before "$probe"
for step in "$@"; do
  case $step in
""" + "".join(f'    "{name}") cmd=\'{command}\';;\n' for name, command in STEP_COMMANDS.items()) + r"""
    *) echo "STEP_UNKNOWN $step"; continue;;
  esac
  t0=$(date +%s%N)
  out=$(timeout -k 5 "$limit" sh -c "$cmd" 2>&1); rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  freed=$(printf '%s\n' "$out" | sed -n 's/^Total reclaimed space: *//p; s/^Total: *//p' | tail -n 1)
  echo "STEP|$step|$rc|$ms|${freed:-0B}|$(printf '%s' "$out" | tail -n 1 | cut -c1-300)"
  case $rc in 124|137) echo "TIMEOUT|$step"; break;; esac
done
disk after "$probe"
"""

# $1 lock file, $2 threshold seconds: the lock's holders (any age; the caller applies the threshold), and
# docker prune processes running longer than the threshold.
STUCK = _FUNCTIONS + r"""
holders "$1"
ps -eo pid=,etimes=,args= 2>/dev/null \
  | awk -v th="$2" '$2 > th && $0 ~ /docker([ \t]+-[^ \t]+)*([ \t]+[a-z]+)?[ \t]+prune/ {print $1}' \
  | while read -r pid; do
      [ "$pid" = "$$" ] && continue
      start=$(started "$pid"); [ -n "$start" ] || continue
      age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
      echo "PRUNE $pid ${age:-0} $start $(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-300)"
    done
"""

# (pid, start time) pairs: ends exactly those processes (TERM, then KILL after 10 s), each only if its pid
# still belongs to the same process (same start time), so a recycled pid is never hit.
KILL_PIDS = _FUNCTIONS + r"""
while [ "$#" -gt 1 ]; do
  pid=$1 start=$2; shift 2
  now=$(started "$pid"); [ -n "$now" ] && alive "$pid" || { echo "GONE $pid"; continue; }
  [ "$now" = "$start" ] || { echo "RECYCLED $pid"; continue; }
  kill -TERM "$pid" 2>/dev/null || { echo "DENIED $pid"; continue; }
  i=0; while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; echo "KILLED $pid"; else echo "ENDED $pid"; fi
done
"""

# Read-only: what a prune would remove. $1 seconds for each docker call, $2 keep label ("" for none).
DRY_RUN = r"""
t=$1 keep=$2
echo "NOW $(date +%s)"
if [ -n "$keep" ]; then
  timeout -k 2 "$t" docker ps -aq --no-trunc --filter "label=$keep" | sed 's/^/KEEP|/'
  timeout -k 2 "$t" docker images -q --no-trunc --filter "label=$keep" | sed 's/^/KEEP|/'
fi
timeout -k 2 "$t" docker ps -a --no-trunc --format 'CONT|{{.ID}}|{{.Names}}|{{.State}}|{{.CreatedAt}}|{{.Size}}'
ids=$(timeout -k 2 "$t" docker ps -aq --no-trunc)
[ -z "$ids" ] || timeout -k 2 "$t" docker inspect --format 'USES|{{.Id}}|{{.Image}}' $ids
timeout -k 2 "$t" docker images --no-trunc --format 'IMG|{{.ID}}|{{.Repository}}:{{.Tag}}|{{.CreatedAt}}|{{.Size}}'
timeout -k 2 "$t" docker images -q --no-trunc --filter dangling=true | sed 's/^/DANGLING|/'
timeout -k 2 "$t" docker system df --format 'SDF|{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}'
"""
