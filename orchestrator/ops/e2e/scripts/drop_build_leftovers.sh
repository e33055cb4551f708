#!/bin/sh
# Removes what an image build of this run left behind where --force-rm did not apply (compose v2 accepts and
# ignores it, and its classic builder keeps a failed step's container): a container that was not there before,
# is stopped, belongs to no compose project and was created from an image id, as the builder creates each
# step's. `docker rm` only: never -v (volumes are data), never -f (a running build is somebody's). One the
# daemon removed meanwhile is fine.
# Args: the id of every container the engine had at baseline.
# Out:  REMOVED <id> <image> per container removed; exit 1 if one that should go is still there.
known=" $* " failed=0
ids=$(docker ps -aq --no-trunc --filter status=exited --filter status=created --filter status=dead) || exit 1
for id in $ids; do
  case "$known" in *" $id "*) continue;; esac
  facts=$(docker inspect --format '{{.Config.Image}} {{index .Config.Labels "com.docker.compose.project"}}' \
    "$id" 2>/dev/null) || continue
  image=${facts%% *} owner=${facts#* }
  case "$image" in sha256:*) ;; *) continue;; esac
  [ -z "$owner" ] || continue
  if docker rm -- "$id" >/dev/null; then echo "REMOVED $id $image"
  elif docker inspect --format '{{.Id}}' "$id" >/dev/null 2>&1; then failed=1; fi
done
exit $failed
