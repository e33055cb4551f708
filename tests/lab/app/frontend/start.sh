#!/bin/sh
# frontend: GET / -> an HTML page naming the version; GET /version.json -> {"version": ..., "service": "frontend"}.
set -eu
port="${FRONTEND_PORT:-18081}"
version="$(cat /app/VERSION)"
mkdir -p /www
cat > /www/index.html <<HTML
<!doctype html>
<html>
<head><meta charset="utf-8"><title>Sample app $version</title></head>
<body><h1>Sample app</h1><p>Version <span id="version">$version</span></p></body>
</html>
HTML
printf '{"version": "%s", "service": "frontend"}\n' "$version" > /www/version.json
echo "frontend $version listening on 127.0.0.1:$port"
httpd -f -p "127.0.0.1:$port" -h /www -c /app/httpd.conf &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
wait "$pid"
