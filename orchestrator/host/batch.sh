#!/bin/sh
# Runs several read-only commands in one round trip (the engine batches consecutive read-only tasks), all at
# once, each under its own host-side timeout, so a slow or failing one cannot hide or hold up the others;
# then prints their answers in order. Reads only: commands that change nothing can run side by side.
# Args: $1 a boundary token (random per batch), then pairs: timeout seconds, command (run with sh -c).
# Out:  per command i (from 0): "B i OUT", its stdout, "\nB i RC code", its stderr, "\nB i END".
b=$1; shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/.shakedown-batch.XXXXXX") || exit 1
pids=
# Each command's `timeout` leads a process group of its own, which a cancel of this batch (SIGTERM to our
# group) does not reach: pass the signal on to every one of them.
stop() {
  for pid in $pids; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  exit 143
}
trap 'rm -rf -- "$dir"' EXIT
trap stop HUP INT TERM
i=0
while [ $# -ge 2 ]; do
  timeout -k 5 "$1" sh -c "$2" </dev/null >"$dir/$i.out" 2>"$dir/$i.err" &
  pids="$pids $!"
  shift 2
  i=$((i + 1))
done
i=0
for pid in $pids; do
  wait "$pid"; rc=$?
  printf '%s %s OUT\n' "$b" "$i"
  cat -- "$dir/$i.out"
  printf '\n%s %s RC %s\n' "$b" "$i" "$rc"
  cat -- "$dir/$i.err"
  printf '\n%s %s END\n' "$b" "$i"
  i=$((i + 1))
done
