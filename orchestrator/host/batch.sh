#!/bin/sh
# Runs several read-only commands in one round trip (the engine batches consecutive read-only tasks), each
# under its own host-side timeout, so a slow or failing one cannot hide the others.
# Args: $1 a boundary token (random per batch), then pairs: timeout seconds, command (run with sh -c).
# Out:  per command i (from 0): "B i OUT", its stdout, "\nB i RC code", its stderr, "\nB i END".
b=$1; shift
err=$(mktemp "${TMPDIR:-/tmp}/.shakedown-batch.XXXXXX") || exit 1
child=
trap 'rm -f -- "$err"' EXIT
# Each command's `timeout` leads a process group of its own, which a cancel of this batch (SIGTERM to our
# group) does not reach: pass the signal on to it, or the command would run on to its own limit.
trap '[ -n "$child" ] && { kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null; }; exit 143' HUP INT TERM
i=0
while [ $# -ge 2 ]; do
  limit=$1 cmd=$2; shift 2
  printf '%s %s OUT\n' "$b" "$i"
  timeout -k 5 "$limit" sh -c "$cmd" </dev/null 2>"$err" &
  child=$!
  wait "$child"; rc=$?
  child=
  printf '\n%s %s RC %s\n' "$b" "$i" "$rc"
  cat -- "$err"
  printf '\n%s %s END\n' "$b" "$i"
  i=$((i + 1))
done
