#!/bin/sh
# Ends a command of this run that may still be running (its orchestrator may be gone).
# Args: $1 pid file.
# Out:  nothing.
[ -s "$1" ] || exit 0
pid=$(cat -- "$1")
kill -TERM "$pid" 2>/dev/null || exit 0
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "$pid" 2>/dev/null; true
