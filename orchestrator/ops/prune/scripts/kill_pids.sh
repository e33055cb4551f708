#!/bin/sh
# Ends exactly these processes (TERM, then KILL after 10 s), each only if its pid still belongs to the same
# process (same start time), so a recycled pid is never hit. Needs functions.sh in front.
# Args: (pid, start ticks) pairs.
# Out:  ENDED|KILLED|GONE|RECYCLED|DENIED <pid> per pair (ops/prune/stuck.py parse_ended).
while [ "$#" -gt 1 ]; do
  pid=$1 start=$2; shift 2
  now=$(started "$pid")
  if [ -z "$now" ] || ! alive "$pid"; then echo "GONE $pid"; continue; fi
  [ "$now" = "$start" ] || { echo "RECYCLED $pid"; continue; }
  kill -TERM "$pid" 2>/dev/null || { echo "DENIED $pid"; continue; }
  i=0; while alive "$pid" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; echo "KILLED $pid"; else echo "ENDED $pid"; fi
done
