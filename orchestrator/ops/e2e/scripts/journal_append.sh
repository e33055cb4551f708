#!/bin/sh
# Appends one journal entry, written (and synced) before the mutation it describes is made.
# Args: $1 journal path, $2 one JSON line.
# Out:  nothing.
set -eu
printf '%s\n' "$2" >> "$1"
sync -- "$1" 2>/dev/null || true
