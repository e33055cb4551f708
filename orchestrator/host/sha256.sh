#!/bin/sh
# Host.sha256(): the file's hash, computed on the host (its content never crosses the wire). Hashes stdin:
# with a file argument sha256sum escapes names holding '\' or newlines in its output.
# Args: $1 file.
# Out:  <sha256>  - | ABSENT.
if [ -e "$1" ]; then sha256sum < "$1"; else echo ABSENT; fi
