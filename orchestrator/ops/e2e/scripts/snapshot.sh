#!/bin/sh
# Copies config files (mode kept) into the run's snapshot dir, numbered in order.
# Args: $1 run dir, then config files.
# Out:  SNAPSHOT <count>.
set -eu
dst=$1/snapshot; shift
# The snapshot holds copies of secrets: private; its parents are not ours.
# shellcheck disable=SC2174 # -m for the deepest dir only, as meant
mkdir -p -m 700 -- "$dst"
i=0
for f in "$@"; do i=$((i + 1)); if [ -e "$f" ]; then cp -p -- "$f" "$dst/$i"; fi; done
echo "SNAPSHOT $i"
