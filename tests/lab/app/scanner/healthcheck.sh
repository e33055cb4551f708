#!/bin/sh
# Healthy while the heartbeat is fresh (at most three intervals old, plus slack).
# Tests make a container unhealthy on purpose with: docker exec <container> touch /tmp/force-unhealthy
if [ -e /tmp/force-unhealthy ]; then echo "forced unhealthy"; exit 1; fi
beat="$(cat /tmp/heartbeat 2>/dev/null)" || { echo "no heartbeat yet"; exit 1; }
age=$(( $(date +%s) - beat ))
limit=$(( ${SCANNER_INTERVAL:-5} * 3 + 2 ))
if [ "$age" -gt "$limit" ]; then echo "heartbeat ${age}s old (limit ${limit}s)"; exit 1; fi
