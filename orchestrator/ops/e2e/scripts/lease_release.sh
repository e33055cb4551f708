#!/bin/sh
# Removes the lease only if that run holds it.
# Args: $1 lease path, $2 run id.
# Out:  RELEASED | OTHER (someone else's: left alone) | ABSENT.
[ -e "$1" ] || { echo ABSENT; exit 0; }
if grep -qF -- "\"run_id\": \"$2\"" "$1"; then rm -f -- "$1"; echo RELEASED; else echo OTHER; fi
