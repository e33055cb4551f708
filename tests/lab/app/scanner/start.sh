#!/bin/sh
# scanner: a worker with no port; it proves it is alive by refreshing a heartbeat file every interval.
set -eu
interval="${SCANNER_INTERVAL:-5}"
echo "scanner $(cat /app/VERSION) beating every ${interval}s"
trap 'exit 0' TERM INT
while :; do
    date +%s > /tmp/heartbeat
    # sleep in the background so the trap runs as soon as SIGTERM arrives.
    sleep "$interval" &
    wait $!
done
