#!/bin/sh
# Read-only, for the `containers` module: list and inspect a compose project's containers in one round trip.
# Args: $1 the label filter, com.docker.compose.project=<project>.
# Out:  docker inspect's JSON array ([] when the project has no container); exit 3 when docker cannot list
#       (modules/docker.py summaries, ops/parsers/docker_inspect.py).
ids=$(docker ps -aq --no-trunc --filter "label=$1") || exit 3
# `docker inspect` with no ids would fail, hence the guard.
# shellcheck disable=SC2086 # $ids: container ids, one a line, split into arguments on purpose (hex, nothing to glob)
if [ -z "$ids" ]; then echo "[]"; else docker inspect $ids; fi
