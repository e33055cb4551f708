#!/bin/sh
# Keeps the baseline images referenced, so that neither the branch's build (which moves the tags) nor a
# prune can take them away before restore.
# Args: $1 project, $2 tag, then (image id, service) pairs.
# Out:  nothing.
set -eu
project=$1 tag=$2; shift 2
while [ "$#" -gt 1 ]; do docker tag "$1" "shakedown-baseline/$project-$2:$tag"; shift 2; done
