#!/bin/sh
# Read-only: where the canaries' branches are now, from the stack's repository as e2e's preflight sees it.
# Args: $1 stack_dir, $2 repo ("" = the stack checkout's origin), $3... branch names.
# Out:  REPO url, then REF commit<TAB>refs/heads/branch per existing branch | REPO_ERROR text (ops/canaries/refs.py).
stack=$1 repo=$2
shift 2
if [ -z "$repo" ]; then repo=$(git -C "$stack" config --get remote.origin.url 2>/dev/null) || repo=""; fi
echo "REPO $repo"
[ -n "$repo" ] || exit 0
refs=""
for b in "$@"; do refs="$refs refs/heads/$b"; done
# shellcheck disable=SC2086 # $refs is a list of ref names, each validated as a git ref name by the caller
if out=$(git ls-remote --heads -- "$repo" $refs 2>&1); then
  printf '%s\n' "$out" | sed -n 's/^\([0-9a-f]\{40\}\)/REF \1/p'
else
  echo "REPO_ERROR $(printf '%s' "$out" | tail -n 1)"
fi
