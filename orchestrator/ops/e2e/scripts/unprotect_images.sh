#!/bin/sh
# Drops protect_images.sh's tags, only where the image still has another name.
# Args: as protect_images.sh.
# Out:  nothing.
project=$1 tag=$2; shift 2
while [ "$#" -gt 1 ]; do
  ref="shakedown-baseline/$project-$2:$tag"
  n=$(docker image inspect --format '{{len .RepoTags}}' "$ref" 2>/dev/null || echo 0)
  [ "$n" -gt 1 ] && docker image rm "$ref" >/dev/null
  shift 2
done
true
