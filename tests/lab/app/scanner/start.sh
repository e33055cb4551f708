#!/bin/sh
# scanner: a worker with no port; it proves it is alive by refreshing a heartbeat file every interval, and on
# every beat fetches backend's /api/private with the stack's token (basic auth, user scanner), writing the
# outcome to /data/private-check: "<HTTP status or unreachable> <epoch seconds>". Its health never depends on
# the backend: the heartbeat comes first and the fetch is bounded (nc -w 2).
set -eu
interval="${SCANNER_INTERVAL:-5}"
backend_port="${BACKEND_PORT:-18080}"
echo "scanner $(cat /app/VERSION) beating every ${interval}s"
trap 'exit 0' TERM INT
# The Authorization header, made once; printf is a shell builtin, so the token is on no command line.
auth=""
if [ -n "${SAMPLE_API_TOKEN:-}" ]; then
    auth="$(printf 'scanner:%s' "$SAMPLE_API_TOKEN" | base64 | tr -d '\n')"
else
    echo "scanner: SAMPLE_API_TOKEN is not set: /api/private will refuse us" >&2
fi
# Persistent data (DATA_DIR on the host): created is stamped once, never again; heartbeat on every beat.
if [ ! -e /data/created ]; then
    date -u +%Y-%m-%dT%H:%M:%SZ > /data/.created.tmp
    mv /data/.created.tmp /data/created
fi

check_private() {
    status="$(printf 'GET /api/private HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nAuthorization: Basic %s\r\n\r\n' \
        "$backend_port" "$auth" | nc -w 2 127.0.0.1 "$backend_port" 2>/dev/null | head -n 1 | cut -d ' ' -f 2)"
    echo "${status:-unreachable} $(date +%s)" > /data/.private-check.tmp
    mv /data/.private-check.tmp /data/private-check
}

while :; do
    date +%s > /tmp/heartbeat
    date +%s > /data/heartbeat
    check_private || true
    # sleep in the background so the trap runs as soon as SIGTERM arrives.
    sleep "$interval" &
    wait $!
done
