#!/bin/sh
# A finished journal goes to history; snapshot copies (they hold secrets) are deleted only now, after the
# host was verified restored.
# Args: $1 journal, $2 history file, $3 run dir.
# Out:  nothing.
set -eu
mkdir -p -- "$(dirname -- "$2")"
[ -e "$1" ] && mv -f -- "$1" "$2"
rm -rf -- "$3/snapshot"
