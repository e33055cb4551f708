#!/bin/sh
# Wraps every command Host.run sends: runs it in the background only to learn its pid, so that Host.cancel()
# can end it on the host (closing an SSH channel does not stop the remote process: design.md's first trap).
# Args: $1 pid file (removed when the command ends), then the command and its arguments.
# Out:  the command's own output and exit code (143 when ended by a signal).
f=$1; shift
trap 'rm -f -- "$f"' EXIT
trap "exit 143" HUP INT TERM
"$@" </dev/null & pid=$!
echo "$pid" > "$f"
wait "$pid"
