#!/bin/sh
# Puts back any config file whose content, mode or owner differs from its snapshot.
# Args: $1 run dir, then the same config files as snapshot.sh.
# Out:  RESTORED <file> per file put back.
set -eu
src=$1/snapshot; shift
i=0
for f in "$@"; do
  i=$((i + 1))
  [ -e "$src/$i" ] || continue
  if [ -e "$f" ] && cmp -s -- "$src/$i" "$f" \
     && [ "$(stat -c %a:%u:%g -- "$src/$i")" = "$(stat -c %a:%u:%g -- "$f")" ]; then continue; fi
  cp -p -- "$src/$i" "$f.shakedown-restore"
  mv -f -- "$f.shakedown-restore" "$f"
  echo "RESTORED $f"
done
