#!/bin/sh
# Applies one matrix scenario to a stack: sets KEY=value lines in its config files (content replaced in place,
# mode and owner kept; a key not yet there is appended), then lets compose recreate what changed (no build).
# Values reach awk through the environment, never as awk syntax or escapes. The files may hold secrets: they
# are edited here, on the host, and never printed.
# Args: $1 stack dir, $2 compose project, then triples: file (relative to the stack dir, or absolute) key value
#       (key -KEY: remove KEY's line).
#       Env: $COMPOSE, the compose CLI.
# Out:  BEFORE <service> <container id> per container, SET|UNCHANGED <file> <key> per key, compose's output,
#       AFTER <service> <container id> per container (ops/matrix/applied.py).
set -eu
stack=$1 project=$2; shift 2
ids() {
  for id in $(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project"); do
    printf '%s %s %s\n' "$1" "$(docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}}' "$id")" "$id"
  done
}
ids BEFORE
while [ "$#" -ge 3 ]; do
  f=$1 key=$2 value=$3; shift 3
  case $f in /*) ;; *) f=$stack/$f;; esac
  tmp=$f.shakedown-apply
  cp -p -- "$f" "$tmp"
  # A key written -KEY means: drop its line (the baseline had none).
  K=$key V=$value awk 'BEGIN { k = ENVIRON["K"]; v = ENVIRON["V"]; drop = substr(k, 1, 1) == "-"; done = 0
                               if (drop) k = substr(k, 2) }
    index($0, k "=") == 1 { if (!done && !drop) print k "=" v; done = 1; next }
    { print }
    END { if (!done && !drop) print k "=" v }' "$f" > "$tmp"
  if cmp -s -- "$f" "$tmp"; then rm -f -- "$tmp"; echo "UNCHANGED $f $key"; else mv -f -- "$tmp" "$f"; echo "SET $f $key"; fi
done
cd -- "$stack"
$COMPOSE -p "$project" up -d --no-build --remove-orphans 2>&1
ids AFTER
