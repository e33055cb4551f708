#!/bin/sh
# Read-only: each file's hash, mode and owner (a peer's baseline).
# Args: files.
# Out:  FILE <sha256|absent> <mode|-> <owner|-> <path> per file (ops/e2e/baseline.py parse).
for f in "$@"; do
  if [ -e "$f" ]; then echo "FILE $(sha256sum < "$f" | cut -c1-64) $(stat -c '%a %U:%G' -- "$f") $f"
  else echo "FILE absent - - $f"; fi
done
