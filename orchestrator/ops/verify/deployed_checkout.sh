#!/bin/sh
# Read-only, for verify's `deployed_stack` module: the stack checkout's git state, its untracked files, and the
# log lines of each compose container's current run, in one round trip. Every docker call is bounded: a wedged
# engine must not hang a verification. The output may hold secrets: the caller searches it in memory and
# keeps only where a known value was found.
# Args: $1 stack_dir, $2 compose project ("" = none), $3 log lines per container, $4 bytes read per untracked
#       file, $5 at most this many untracked files read.
# Out:  sections, each opened by a line =====SHAKEDOWN:<name>: commit, branch, status (git status --porcelain),
#       untracked <path> (its first bytes), log <container> (ops/verify/live.py).
stack=$1 project=$2 lines=$3 bytes=$4 most=$5
sec() { echo "=====SHAKEDOWN:$1"; }
sec commit; git -C "$stack" rev-parse HEAD 2>&1
sec branch; git -C "$stack" rev-parse --abbrev-ref HEAD 2>&1
sec status; git -C "$stack" status --porcelain=v1 --untracked-files=all 2>&1
# Untracked and not ignored: one `git add .` away from a commit. Quoted names (odd characters) are skipped.
git -C "$stack" ls-files --others --exclude-standard 2>/dev/null | head -n "$most" | while IFS= read -r f; do
  case "$f" in \"*) continue;; esac
  sec "untracked $f"
  head -c "$bytes" -- "$stack/$f" 2>&1
  echo
done
if [ -n "$project" ]; then
  ids=$(timeout 20 docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$project" 2>/dev/null)
  for id in $ids; do
    info=$(timeout 10 docker inspect --format '{{.Name}} {{.State.StartedAt}}' "$id" 2>/dev/null) || continue
    name=${info%% *} started=${info#* }
    sec "log ${name#/}"
    # This run of the container only (since it last started): what an earlier run printed is the past deploy's.
    timeout 20 docker logs --since "$started" --tail "$lines" "$id" 2>&1
  done
fi
