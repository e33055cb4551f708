#!/bin/sh
# Takes the host's e2e lease. `ln` is atomic: of two runs, exactly one creates the file.
# Args: $1 state_dir, $2 the lease as one JSON line.
# Out:  TAKEN | HELD <the holder's lease JSON> (ops/e2e/lease.py parse_take).
set -eu
state=$1
# state_dir holds snapshots of secrets: private; its parents are not ours.
# shellcheck disable=SC2174 # -m for the deepest dir only, as meant
[ -d "$state" ] || mkdir -p -m 700 -- "$state"
mkdir -p -- "$state/runs" "$state/history"
tmp="$state/.lease.$$"
printf '%s\n' "$2" > "$tmp"
if ln -- "$tmp" "$state/lease.json" 2>/dev/null; then rm -f -- "$tmp"; echo TAKEN
else rm -f -- "$tmp"; printf 'HELD '; tr -d '\n' < "$state/lease.json"; echo; fi
