#!/bin/sh
# Host.write_file's atomic replace, done on the host so mode and owner are kept and readers never see half a
# file: the uploaded staging file is copied beside the destination, then renamed over it.
# Args: $1 staging file (removed), $2 destination, $3 mode for a new file (octal; "" = private, 0600).
# Out:  nothing.
set -eu
src=$1 dst=$2 mode=$3
tmp="$(dirname -- "$dst")/.$(basename -- "$dst").shakedown.$$"
trap 'rm -f -- "$tmp" "$src"' EXIT
(umask 077 && cat -- "$src" > "$tmp")
if [ -e "$dst" ]; then
  chmod "$(stat -c %a -- "$dst")" "$tmp"
  owner=$(stat -c %u:%g -- "$dst")
  if [ "$owner" != "$(stat -c %u:%g -- "$tmp")" ]; then chown "$owner" "$tmp"; fi
elif [ -n "$mode" ]; then
  chmod "$mode" "$tmp"
fi
mv -f -- "$tmp" "$dst"
