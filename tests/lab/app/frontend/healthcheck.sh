#!/bin/sh
# Tests make a container unhealthy on purpose with: docker exec <container> touch /tmp/force-unhealthy
if [ -e /tmp/force-unhealthy ]; then echo "forced unhealthy"; exit 1; fi
# No wget -T: busybox 1.35 wget segfaults with it here; the healthcheck timeout (2s) bounds the call.
wget -q -O /dev/null "http://127.0.0.1:${FRONTEND_PORT:-18081}/"
