#!/bin/sh
# Read-only: the listings a prune's outcome is worked out from (what it would remove).
# Args: $1 seconds for each docker call, $2 keep label ("" for none).
# Out:  NOW epoch, then KEEP|id, CONT|id|name|state|created|size, USES|container|image,
#       IMG|id|repo:tag|created|size, DANGLING|id, SDF|type|count|size|reclaimable (ops/prune/dryrun.py from_listing).
t=$1 keep=$2
echo "NOW $(date +%s)"
if [ -n "$keep" ]; then
  timeout -k 2 "$t" docker ps -aq --no-trunc --filter "label=$keep" | sed 's/^/KEEP|/'
  timeout -k 2 "$t" docker images -q --no-trunc --filter "label=$keep" | sed 's/^/KEEP|/'
fi
timeout -k 2 "$t" docker ps -a --no-trunc --format 'CONT|{{.ID}}|{{.Names}}|{{.State}}|{{.CreatedAt}}|{{.Size}}'
ids=$(timeout -k 2 "$t" docker ps -aq --no-trunc)
# shellcheck disable=SC2086 # $ids: container ids, one a line, split into arguments on purpose (hex, nothing to glob)
[ -z "$ids" ] || timeout -k 2 "$t" docker inspect --format 'USES|{{.Id}}|{{.Image}}' $ids
timeout -k 2 "$t" docker images --no-trunc --format 'IMG|{{.ID}}|{{.Repository}}:{{.Tag}}|{{.CreatedAt}}|{{.Size}}'
timeout -k 2 "$t" docker images -q --no-trunc --filter dangling=true | sed 's/^/DANGLING|/'
timeout -k 2 "$t" docker system df --format 'SDF|{{.Type}}|{{.TotalCount}}|{{.Size}}|{{.Reclaimable}}'
