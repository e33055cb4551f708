#!/bin/sh
# End-to-end tests (branch feature-leaky-tests): a careless test suite that prints the stack's secret
# from .env in every shape (plain, JSON, URL, header), then fails. shakedown must redact all of them.
set -u
token=$(sed -n 's/^SAMPLE_API_TOKEN=//p' ./.env)
echo "debug: SAMPLE_API_TOKEN=$token"
echo "debug: token is $token"
printf '{"event": "login", "api_token": "%s"}\n' "$token"
echo "calling http://svc:$token@127.0.0.1:18080/api/version"
echo "Authorization: Bearer $token"
echo "FAIL: login rejected"
exit 1
