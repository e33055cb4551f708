#!/bin/sh
# Read-only: the test run's state, then the log's next bytes in base64 (exact offsets whatever the
# encoding). The exit code is read before the log, so a finished run's log is complete.
# Args: $1 run dir, $2 byte offset already seen.
# Out:  STATE <exit code or -> <alive 0|1>, then one base64 line (ops/e2e/testrun.py parse_poll).
dir=$1 off=$2
rc=$(cat -- "$dir/test.rc" 2>/dev/null) || rc=-
pid=$(cat -- "$dir/test.pid" 2>/dev/null) || pid=-
alive=0; [ "$pid" != - ] && kill -0 "$pid" 2>/dev/null && alive=1
echo "STATE ${rc:--} $alive"
tail -c +$((off + 1)) -- "$dir/test.log" 2>/dev/null | head -c 262144 | base64 | tr -d '\n'
echo
