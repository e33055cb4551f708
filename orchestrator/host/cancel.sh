#!/bin/sh
# Host.cancel(): SIGTERM to each command in flight (to its `timeout`, which passes it to the whole command
# group). Best effort: the host-side timeout bounds the command anyway.
# Args: the pid files of the commands (track.sh writes them).
# Out:  nothing.
for f in "$@"; do [ -s "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done; true
