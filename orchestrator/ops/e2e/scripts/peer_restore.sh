#!/bin/sh
# The peer's file back as it was (content, mode, owner), when it differs.
# Args: $1 file, $2 backup.
# Out:  RESTORED <file> | NO_BACKUP | nothing (already as it was).
set -eu
f=$1 b=$2
[ -e "$b" ] || { echo "NO_BACKUP"; exit 0; }
if [ -e "$f" ] && cmp -s -- "$b" "$f" \
   && [ "$(stat -c %a:%u:%g -- "$b")" = "$(stat -c %a:%u:%g -- "$f")" ]; then exit 0; fi
cp -p -- "$b" "$f.shakedown-tmp"
mv -f -- "$f.shakedown-tmp" "$f"
echo "RESTORED $f"
