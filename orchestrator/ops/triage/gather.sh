#!/bin/sh
# Read-only: what triage reads from a host, in one round trip. Every docker call is bounded: a wedged engine
# must not hang an incident bundle. What it prints may hold secrets: the caller redacts it before it is
# written or shown.
# Args: $1 project ("" = none), $2 log lines, $3 stack_dir ("" = none), then disk paths, `--files`, config
#       files, `--urls`, probe URLs.
# Out:  sections, each opened by a line =====SHAKEDOWN:<name>: inspect (docker inspect JSON), log <container>,
#       df (df -Pk lines), docker-df, top <path> (du -k), version, file <path>, http <url>
#       (ops/triage/gather.py split, facts).
project=$1 lines=$2 stack=$3; shift 3
sec() { echo "=====SHAKEDOWN:$1"; }
paths=""; files=""; urls=""; mode=paths
for a in "$@"; do
  case "$a" in --files) mode=files; continue;; --urls) mode=urls; continue;; esac
  case $mode in paths) paths="$paths
$a";; files) files="$files
$a";; urls) urls="$urls
$a";; esac
done
if [ -n "$project" ]; then
  ids=$(timeout 20 docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project" 2>&1)
  sec inspect
  # shellcheck disable=SC2086 # $ids: container ids, one a line, split into arguments on purpose (hex, nothing to glob)
  [ -n "$ids" ] && timeout 20 docker inspect $ids 2>&1
  for id in $ids; do
    name=$(timeout 10 docker inspect --format '{{.Name}}' "$id" 2>/dev/null | tr -d /)
    sec "log $name"
    timeout 20 docker logs --timestamps --tail "$lines" "$id" 2>&1
  done
fi
sec df
printf '%s\n' "$paths" | while IFS= read -r p; do [ -n "$p" ] && df -Pk -- "$p" | tail -n 1; done
sec docker-df
timeout 20 docker system df 2>&1
printf '%s\n' "$paths" | while IFS= read -r p; do
  [ -n "$p" ] || continue
  sec "top $p"
  timeout 15 du -x -d 1 -k -- "$p" 2>/dev/null | sort -rn | sed -n '2,6p'
done
if [ -n "$stack" ]; then sec version; cat -- "$stack/VERSION" 2>&1; fi
printf '%s\n' "$files" | while IFS= read -r f; do [ -n "$f" ] && { sec "file $f"; cat -- "$f" 2>&1; }; done
printf '%s\n' "$urls" | while IFS= read -r u; do
  [ -n "$u" ] || continue
  sec "http $u"
  curl -sS --noproxy '*' --max-time 5 -w '\nHTTP %{http_code}\n' -- "$u" 2>&1 | head -c 20000
done
