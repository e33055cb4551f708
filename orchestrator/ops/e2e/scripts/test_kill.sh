#!/bin/sh
# Ends the test run (its `timeout` passes SIGTERM to the whole test process group).
# Args: $1 run dir.
# Out:  nothing.
dir=$1
[ -e "$dir/test.rc" ] && exit 0
pid=$(cat -- "$dir/test.pid" 2>/dev/null) || exit 0
kill -TERM "$pid" 2>/dev/null || exit 0
i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; true
