#!/bin/sh
# Puts the baseline stack back from the canonical checkout (containers only; volumes never: no -v).
# Args: $1 stack_dir, $2 project, then (image id, image name) pairs, `--stopped`, services stopped at
#       baseline; or `--down` when nothing ran at baseline. Env: $COMPOSE, the compose CLI.
# Out:  compose's output.
set -eu
stack=$1 project=$2; shift 2
if [ "${1:-}" = "--down" ]; then cd -- "$stack"; $COMPOSE -p "$project" down --remove-orphans; exit 0; fi
while [ "$#" -gt 1 ] && [ "$1" != "--stopped" ]; do docker tag "$1" "$2"; shift 2; done
[ "${1:-}" = "--stopped" ] && shift
cd -- "$stack"
$COMPOSE -p "$project" up -d --remove-orphans
if [ "$#" -gt 0 ]; then $COMPOSE -p "$project" stop "$@"; fi
