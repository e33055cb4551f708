#!/bin/sh
# backend (branch feature-unhealthy): forgets to publish /api/version.
set -eu
port="${BACKEND_PORT:-18080}"
# Persistent data (volume backend-data): stamped once, on the first start with a fresh volume, never again.
if [ ! -e /data/created ]; then
    date -u +%Y-%m-%dT%H:%M:%SZ > /data/.created.tmp
    mv /data/.created.tmp /data/created
fi
version="$(cat /app/VERSION)"
mkdir -p /www
# Bug on this branch: the API file is never written, so /api/version is 404 and the healthcheck fails.
echo "backend $version listening on 127.0.0.1:$port"
httpd -f -p "127.0.0.1:$port" -h /www &
pid=$!
# sh is PID 1 here: without a trap it would ignore SIGTERM and every stop would wait for SIGKILL.
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
