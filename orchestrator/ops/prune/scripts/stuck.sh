#!/bin/sh
# Read-only: the lock's holders (any age; the caller applies the threshold), and docker prune processes
# running longer than the threshold. Needs functions.sh in front.
# Args: $1 lock file, $2 threshold seconds.
# Out:  HOLDER and PRUNE lines: <pid> <age s> <start ticks> <command> (ops/prune/stuck.py parse).
holders "$1"
ps -eo pid=,etimes=,args= 2>/dev/null \
  | awk -v th="$2" '$2 > th && $0 ~ /docker([ \t]+-[^ \t]+)*([ \t]+[a-z]+)?[ \t]+prune/ {print $1}' \
  | while read -r pid; do
      [ "$pid" = "$$" ] && continue
      start=$(started "$pid"); [ -n "$start" ] || continue
      age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
      echo "PRUNE $pid ${age:-0} $start $(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-300)"
    done
