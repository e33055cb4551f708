#!/bin/sh
# Checks the branch out in the e2e checkout, seeds it with the stack's config, builds and starts it. The
# canonical checkout is only read.
# Args: $1 stack_dir (canonical), $2 e2e checkout, $3 repo, $4 branch, $5 project, then config files relative
#       to stack_dir that seed the checkout. Env: $COMPOSE, the compose CLI (e.g. "docker compose").
# Out:  COMMIT sha, VERSION text, compose's output, IMAGE id per running container (ops/e2e/deploy.py parse).
set -eu
stack=$1 checkout=$2 repo=$3 branch=$4 project=$5; shift 5
if [ ! -d "$checkout/.git" ]; then rm -rf -- "$checkout"; git clone -q --no-checkout -- "$repo" "$checkout"; fi
cd -- "$checkout"
git remote set-url origin "$repo"
git fetch -q --prune origin "+refs/heads/$branch:refs/remotes/origin/$branch"
git checkout -q -f --detach "refs/remotes/origin/$branch"
git clean -q -ffdx
for f in "$@"; do mkdir -p -- "$(dirname -- "$f")"; cp -p -- "$stack/$f" "$f"; done
echo "COMMIT $(git rev-parse HEAD)"
echo "VERSION $(head -n 1 VERSION 2>/dev/null || true)"
# --force-rm: a failed build step's container goes too (the classic builder keeps it otherwise). `up` has
# no such flag (compose v1), so build first, then start without building again.
$COMPOSE -p "$project" build --force-rm
$COMPOSE -p "$project" up -d --no-build --remove-orphans
ids=$(docker ps -q --filter "label=com.docker.compose.project=$project")
# shellcheck disable=SC2086 # $ids: container ids, one a line, split into arguments on purpose (hex, nothing to glob)
[ -z "$ids" ] || docker inspect --format 'IMAGE {{.Image}}' $ids
