#!/bin/sh
# One host probe for the `http_probes` module, made from the host itself (curl, else wget); the module sends
# one of these per probe, all in one round trip.
# Args: $1 url, $2 timeout seconds, $3 the probe's index, $4 at most this many bytes of the body.
# Out:  <index> <status code | ERR reason>, then the body (modules/web.py parse_answers).
b=$(mktemp) || exit 3
trap 'rm -f "$b"' EXIT
if command -v curl >/dev/null 2>&1; then
  code=$(curl -sS --max-time "$2" -o "$b" -w '%{http_code}' -- "$1" 2>&1) || code="ERR $code"
else
  wget -q -T "$2" -O "$b" -- "$1" 2>/dev/null && code=200 || code="ERR wget exit $? (non-2xx or unreachable)"
fi
printf '%s %s\n' "$3" "$code"
head -c "$4" "$b"
