#!/bin/sh
# Edits a peer's file on its host: the file (which may hold secrets) never crosses the wire. Always edits
# from the backup, so a repeated borrow is idempotent.
# Args: $1 file, $2 backup, then (text, replacement) pairs.
# Out:  nothing; exit 3 naming a text that was not found.
set -eu
f=$1 b=$2; shift 2
[ -e "$b" ] || cp -p -- "$f" "$b"
tmp="$f.shakedown-tmp"
trap 'rm -f -- "$tmp"' EXIT
cp -p -- "$b" "$tmp"
awk 'BEGIN { for (i = 1; i < ARGC; i += 2) { o[++n] = ARGV[i]; r[n] = ARGV[i + 1] }; ARGC = 1 }
{ line = $0
  for (k = 1; k <= n; k++) {
    s = line; line = ""
    while ((p = index(s, o[k])) > 0) {
      line = line substr(s, 1, p - 1) r[k]; s = substr(s, p + length(o[k])); hit[k]++
    }
    line = line s
  }
  print line }
END { for (k = 1; k <= n; k++) if (!hit[k]) { print "text to replace not found: " o[k] > "/dev/stderr"; exit 3 } }' \
  "$@" < "$b" > "$tmp"
mv -f -- "$tmp" "$f"
