#!/bin/sh
# End-to-end tests of the deployed sample stack. Run from a checkout of the app on the dev host:
#   sh ./e2e-tests.sh
# Needs curl on the host (never busybox `wget -T`: it segfaults here). Prints one line per check,
# "ok: ..." or "FAIL: ...", and exits 0 when every check passed, 1 otherwise.
set -u
want="$(cat ./VERSION 2>/dev/null)" || { echo "FAIL: cannot read ./VERSION in $(pwd)"; exit 1; }
failed=0

# check_version NAME URL: the JSON at URL reports {"version": "<./VERSION>"}.
check_version() {
    if ! body="$(curl -fsS --noproxy '*' --max-time 5 "$2" 2>&1)"; then
        echo "FAIL: $1 $2 did not answer: $body"
        failed=1
        return
    fi
    got="$(printf '%s\n' "$body" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
    if [ "$got" = "$want" ]; then
        echo "ok: $1 $2 reports version $want"
    else
        echo "FAIL: $1 $2 reports version ${got:-(none)}, expected $want"
        failed=1
    fi
}

check_version backend http://127.0.0.1:18080/api/version
check_version frontend http://127.0.0.1:18081/version.json
exit "$failed"
