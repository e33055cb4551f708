#!/bin/sh
# backend (branch feature-crash-loop): dies at start on a config key it cannot read; `restart: unless-stopped`
# brings it back, again and again: a crash loop whose RED is certain long before any readiness deadline.
echo "backend: FATAL: config key 'payments.url' missing" >&2
exit 1
