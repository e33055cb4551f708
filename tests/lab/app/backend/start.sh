#!/bin/sh
# backend: GET /api/version -> {"version": "<VERSION>", "service": "backend"}, from the VERSION baked into the image.
set -eu
port="${BACKEND_PORT:-18080}"
# Persistent data (volume backend-data): stamped once, on the first start with a fresh volume, never again.
if [ ! -e /data/created ]; then
    date -u +%Y-%m-%dT%H:%M:%SZ > /data/.created.tmp
    mv /data/.created.tmp /data/created
fi
version="$(cat /app/VERSION)"
mkdir -p /www/api
printf '{"version": "%s", "service": "backend"}\n' "$version" > /www/api/version
echo "backend $version listening on 127.0.0.1:$port"
httpd -f -p "127.0.0.1:$port" -h /www &
pid=$!
# sh is PID 1 here: without a trap it would ignore SIGTERM and every stop would wait for SIGKILL.
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
