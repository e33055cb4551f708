#!/bin/sh
# Read-only: everything preflight checks before an e2e changes anything, in one round trip.
# Args: $1 state_dir, $2 stack_dir, $3 repo ("" = the stack checkout's origin, "-" = none needed), $4 branch.
# Out:  NOW epoch, STACK_DIR ok, REPO url, LEASE json, JOURNAL first entry, WRITABLE dir, DF <df -Pk's line>,
#       COMPOSE cli, REF commit<TAB>ref | REPO_ERROR text; each only when it applies (ops/e2e/preflight.py parse).
state=$1 stack=$2 repo=$3 branch=$4
echo "NOW $(date +%s)"
[ -d "$stack" ] && echo "STACK_DIR ok"
if [ -z "$repo" ]; then repo=$(git -C "$stack" config --get remote.origin.url 2>/dev/null) || repo=""; fi
echo "REPO $repo"
if [ -e "$state/lease.json" ]; then printf 'LEASE '; tr -d '\n' < "$state/lease.json"; echo; fi
if [ -e "$state/journal.jsonl" ]; then printf 'JOURNAL '; head -n 1 "$state/journal.jsonl" | tr -d '\n'; echo; fi
d=$state; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done
[ -w "$d" ] && echo "WRITABLE $d"
echo "DF $(df -Pk -- "$d" | tail -n 1)"
if docker compose version >/dev/null 2>&1; then echo "COMPOSE docker compose"
elif command -v docker-compose >/dev/null 2>&1; then echo "COMPOSE docker-compose"; fi
if [ -n "$repo" ] && [ "$repo" != "-" ]; then
  if out=$(git ls-remote --heads -- "$repo" "refs/heads/$branch" 2>&1); then
    printf '%s\n' "$out" | sed 's/^/REF /'
  else
    echo "REPO_ERROR $(printf '%s' "$out" | tail -n 1)"
  fi
fi
