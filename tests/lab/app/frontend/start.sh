#!/bin/sh
# frontend: GET / -> an HTML page naming the version and whether it is secure;
# GET /version.json -> {"version": ..., "service": "frontend", "secure": true|false}.
# FRONTEND_SECURE (true | false, default true) comes from the stack's .env through compose.
set -eu
port="${FRONTEND_PORT:-18081}"
secure="${FRONTEND_SECURE:-true}"
case "$secure" in
    true) banner="" ;;
    false) banner='<p id="insecure-warning">Warning: this frontend runs with FRONTEND_SECURE=false</p>' ;;
    *) echo "frontend: FATAL: FRONTEND_SECURE '$secure' is neither true nor false" >&2; exit 1 ;;
esac
version="$(cat /app/VERSION)"
mkdir -p /www
cat > /www/index.html <<HTML
<!doctype html>
<html>
<head><meta charset="utf-8"><title>Sample app $version</title></head>
<body><h1>Sample app</h1><p>Version <span id="version">$version</span></p>
<p>Secure <span id="secure">$secure</span></p>$banner</body>
</html>
HTML
printf '{"version": "%s", "service": "frontend", "secure": %s}\n' "$version" "$secure" > /www/version.json
echo "frontend $version listening on 127.0.0.1:$port (secure $secure)"
httpd -f -p "127.0.0.1:$port" -h /www -c /app/httpd.conf &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
