#!/bin/sh
# Removes the images the branch built, once nothing uses or names them (after a verified restore), so e2e
# runs do not fill the shared host's disk. Tagged or used images are never touched.
# Args: image ids.
# Out:  nothing.
for id in "$@"; do
  tags=$(docker image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null) || continue
  [ "$tags" = 0 ] || continue
  [ -z "$(docker ps -aq --filter "ancestor=$id")" ] || continue
  docker image rm "$id" >/dev/null 2>&1 || true
done
true
