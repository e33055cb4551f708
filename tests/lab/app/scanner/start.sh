#!/bin/sh
# scanner: a worker with no port; it proves it is alive by refreshing a heartbeat file every interval.
set -eu
interval="${SCANNER_INTERVAL:-5}"
echo "scanner $(cat /app/VERSION) beating every ${interval}s"
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
