#!/bin/sh
# Tests make a container unhealthy on purpose with: docker exec <container> touch /tmp/force-unhealthy
if [ -e /tmp/force-unhealthy ]; then echo "forced unhealthy"; exit 1; fi
# ./config.json is bind-mounted from the checkout; a missing one arrives as an empty directory made by the engine.
if [ ! -f /app/config.json ]; then echo "no /app/config.json (config.json missing from the checkout)"; exit 1; fi
# No wget -T: busybox 1.35 wget segfaults with it here; the healthcheck timeout (2s) bounds the call.
wget -q -O - "http://127.0.0.1:${BACKEND_PORT:-18080}/api/version" | grep -q '"service": "backend"'
