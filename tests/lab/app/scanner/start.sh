#!/bin/sh
# scanner: a worker with no port; it proves it is alive by refreshing a heartbeat file every interval.
set -eu
interval="${SCANNER_INTERVAL:-5}"
echo "scanner $(cat /app/VERSION) beating every ${interval}s"
# A careless debug log, as real services have: the API token from .env, plain, in JSON and in a URL.
# Every shakedown artifact and console line must show it redacted.
if [ -n "${SAMPLE_API_TOKEN:-}" ]; then
    echo "debug: using token ${SAMPLE_API_TOKEN}"
    echo "{\"event\": \"auth\", \"client_secret\": \"${SAMPLE_API_TOKEN}\"}"
    echo "debug: upstream https://scanner:${SAMPLE_API_TOKEN}@127.0.0.1:18080/api"
fi
trap 'exit 0' TERM INT
# Persistent data (DATA_DIR on the host): created is stamped once, never again; heartbeat on every beat.
if [ ! -e /data/created ]; then
    date -u +%Y-%m-%dT%H:%M:%SZ > /data/.created.tmp
    mv /data/.created.tmp /data/created
fi
while :; do
    date +%s > /tmp/heartbeat
    date +%s > /data/heartbeat
    # sleep in the background so the trap runs as soon as SIGTERM arrives.
    sleep "$interval" &
    wait $!
done
