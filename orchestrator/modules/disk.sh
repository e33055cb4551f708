#!/bin/sh
# Read-only, for the `disk` module: one df per path, so that one bad path does not hide the others; one round
# trip for all of them.
# Args: paths.
# Out:  per path, <path><TAB><the df -Pk data line, or df's error> (modules/system.py disk_checks,
#       ops/parsers/df.py).
for p in "$@"; do printf "%s\t" "$p"; df -Pk -- "$p" 2>&1 | tail -n 1; done
