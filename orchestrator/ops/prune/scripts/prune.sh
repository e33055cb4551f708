#!/bin/sh
# Prunes step by step, holding the host's prune lock (fd 9) for the whole prune; it is released when this
# script ends, however it ends. Each step is a fixed command of STEP_COMMANDS (never a volume), bounded by
# `timeout`. Needs functions.sh in front.
# Args: $1 lock file, $2 seconds to wait for it, $3 seconds per step, $4 age filter (e.g. 259200s), $5 keep
#       label ("" for none; validated by the caller: no spaces), then step names.
# Out:  LOCKED, DF/SDF before, STEP|name|rc|ms|freed|last line per step, TIMEOUT|name, DF/SDF after; or
#       LOCK_BUSY, HOLDER lines and exit 75; or LOCK_ERROR (ops/prune/pruning.py outcome).
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
  # shellcheck disable=SC2016 # the arms' commands expand $until and $keep in the sh -c that runs them
  case $step in
    # STEP_COMMANDS: one arm per step, filled in from ops/prune/scripts when loaded
    *) echo "STEP_UNKNOWN $step"; continue;;
  esac
  t0=$(date +%s%N)
  # shellcheck disable=SC2154 # cmd: set by the arms of STEP_COMMANDS, which the file itself does not hold
  out=$(timeout -k 5 "$limit" sh -c "$cmd" 2>&1); rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  freed=$(printf '%s\n' "$out" | sed -n 's/^Total reclaimed space: *//p; s/^Total: *//p' | tail -n 1)
  echo "STEP|$step|$rc|$ms|${freed:-0B}|$(printf '%s' "$out" | tail -n 1 | cut -c1-300)"
  case $rc in 124|137) echo "TIMEOUT|$step"; break;; esac
done
disk after "$probe"
