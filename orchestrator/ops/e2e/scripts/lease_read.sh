#!/bin/sh
# Read-only: the lease, the host's clock, the unfinished journal's first entry.
# Args: $1 lease path, $2 journal path.
# Out:  the lease JSON line (empty when free), NOW epoch, JOURNAL <first entry> (ops/e2e/lease.py parse_status).
[ -e "$1" ] && tr -d '\n' < "$1"; echo
echo "NOW $(date +%s)"
if [ -n "${2:-}" ] && [ -e "$2" ]; then printf 'JOURNAL '; head -n 1 -- "$2"; fi
true
