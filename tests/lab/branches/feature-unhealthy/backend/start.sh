#!/bin/sh
# backend (branch feature-unhealthy): forgets to publish /api/version; otherwise main's backend (settings from
# the environment, /api/state, /api/private behind basic auth).
set -eu
port="${BACKEND_PORT:-18080}"
mode="${BACKEND_MODE:-normal}"
pool="${BACKEND_POOL:-4}"
# A bad setting stops the backend at once, loudly: restart: unless-stopped then shows it as a crash loop.
case "$mode" in
    normal|readonly) ;;
    *) echo "backend: FATAL: BACKEND_MODE '$mode' is unknown (expected normal or readonly)" >&2; exit 1 ;;
esac
case "$pool" in
    ''|0*|*[!0-9]*) echo "backend: FATAL: BACKEND_POOL '$pool' is not a positive integer" >&2; exit 1 ;;
esac
# Persistent data (volume backend-data): stamped once, on the first start with a fresh volume, never again;
# a readonly backend writes nothing there.
if [ "$mode" = readonly ]; then
    echo "backend: readonly mode: /data is left untouched"
elif [ ! -e /data/created ]; then
    date -u +%Y-%m-%dT%H:%M:%SZ > /data/.created.tmp
    mv /data/.created.tmp /data/created
fi
version="$(cat /app/VERSION)"
mkdir -p /www/api
# Bug on this branch: the API's version file is never written, so /api/version is 404 and the healthcheck
# fails.
printf '{"service": "backend", "version": "%s", "mode": "%s", "pool": %s}\n' "$version" "$mode" "$pool" \
    > /www/api/state
printf '{"service": "backend", "private": "ok"}\n' > /www/api/private
# httpd's basic auth for /api/private, outside the document root. printf is a shell builtin: the token is on
# no command line, and it is never echoed. Without a token nobody gets in (a random password, thrown away).
token="${SAMPLE_API_TOKEN:-}"
if [ -z "$token" ]; then
    echo "backend: SAMPLE_API_TOKEN is not set: /api/private refuses every client" >&2
    token="$(head -c 32 /dev/urandom | md5sum | cut -d ' ' -f 1)"
fi
umask 077
printf '/api/private:scanner:%s\n' "$token" > /tmp/httpd.conf
umask 022
unset token
echo "backend $version listening on 127.0.0.1:$port (mode $mode, pool $pool)"
httpd -f -p "127.0.0.1:$port" -h /www -c /tmp/httpd.conf -r sample &
pid=$!
# sh is PID 1 here: without a trap it would ignore SIGTERM and every stop would wait for SIGKILL.
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
