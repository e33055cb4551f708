#!/bin/sh
# End-to-end tests of the deployed sample stack, as TAP (one "ok"/"not ok" line per named test, a YAML
# diagnostic block under a failure). Run from a checkout of the app on the dev host:
#   sh ./e2e-tests.sh
# Needs curl on the host (never busybox `wget -T`: it segfaults here). Exits 0 when every test passed.
set -u
want="$(cat ./VERSION 2>/dev/null)" || { echo "not ok 1 - read VERSION"; exit 1; }
n=0 failed=0
echo "TAP version 13"

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); failed=1
    echo "not ok $n - $1"
    printf '  ---\n  message: %s\n  ...\n' "$2"
}

# check_version NAME URL: the JSON at URL reports {"version": "<./VERSION>"}.
check_version() {
    if ! body="$(curl -fsS --noproxy '*' --max-time 5 "$2" 2>&1)"; then
        fail "$1 reports VERSION" "$2 did not answer: $body"
        return
    fi
    got="$(printf '%s\n' "$body" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
    if [ "$got" = "$want" ]; then pass "$1 reports VERSION"
    else fail "$1 reports VERSION" "$2 reports version ${got:-(none)}, expected $want"; fi
}

# check_status NAME URL CODE: URL answers CODE (no credentials sent).
check_status() {
    code="$(curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "$2" 2>/dev/null)"
    if [ "$code" = "$3" ]; then pass "$1"; else fail "$1" "$2 answered ${code:-nothing}, expected $3"; fi
}

check_version backend http://127.0.0.1:18080/api/version
check_version frontend http://127.0.0.1:18081/version.json
check_status "backend state endpoint answers" http://127.0.0.1:18080/api/state 200
check_status "private API refuses a caller without the token" http://127.0.0.1:18080/api/private 401
echo "1..$n"
exit "$failed"
