#!/bin/sh
# Read-only: a host's declared secret files, for the redactor (the values are never written anywhere).
# Unreadable files are skipped, not fatal.
# Args: the files.
# Out:  each readable file's KEY=value lines, then an empty line (ops/secretfiles.py parse).
for f in "$@"; do [ -r "$f" ] && cat -- "$f"; echo; done
