#!/bin/sh
# Starts the test command detached in its own session (it survives the SSH connection), bounded on the host
# by `timeout`; its pid and exit code go to files, its output to test.log.
# Args: $1 run dir, $2 checkout, $3 seconds, $4 the test command.
# Out:  PID n.
set -eu
dir=$1 checkout=$2 limit=$3 cmd=$4
mkdir -p -- "$dir"
rm -f -- "$dir/test.rc" "$dir/test.pid"
: > "$dir/test.log"
cd -- "$checkout"
# shellcheck disable=SC2016 # expanded by the detached sh below: its $1 limit, $2 command, $3 run dir
runner='timeout -k 5 "$1" sh -c "$2" & echo $! > "$3/test.pid"; wait $!
echo $? > "$3/test.rc.tmp"; mv "$3/test.rc.tmp" "$3/test.rc"'
setsid sh -c "$runner" launch "$limit" "$cmd" "$dir" >> "$dir/test.log" 2>&1 < /dev/null &
i=0; while [ ! -s "$dir/test.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
echo "PID $(cat -- "$dir/test.pid")"
